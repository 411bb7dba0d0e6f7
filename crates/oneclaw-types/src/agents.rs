//! Agents and their token exchange.

use crate::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `POST /v1/agents` and `PATCH /v1/agents/{id}`. Unknown (out-of-scope) fields are ignored.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub auth_method: Option<String>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub is_active: Option<bool>,
    #[serde(default)]
    pub token_ttl_seconds: Option<i64>,
    #[serde(default)]
    pub vault_ids: Option<Vec<Uuid>>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<time::OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub api_key_expires_at: Option<time::OffsetDateTime>,
    #[serde(default)]
    pub intents_api_enabled: Option<bool>,
    /// The environment the agent works in (`production`, `preview`, `development` or a custom
    /// slug); `""` clears it. Env-var `resolve` uses it when no environment is named.
    #[serde(default)]
    pub environment: Option<String>,
}

/// An agent as the API shows it (never its key).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentResponse {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub auth_method: String,
    pub scopes: Vec<String>,
    pub is_active: bool,
    pub intents_api_enabled: bool,
    pub shroud_enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_ttl_seconds: Option<i64>,
    pub vault_ids: Vec<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub expires_at: Option<time::OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub api_key_expires_at: Option<time::OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub last_active_at: Option<time::OffsetDateTime>,
}

/// `GET /v1/agents/me`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentSelfResponse {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub org_id: Uuid,
    pub scopes: Vec<String>,
    pub is_active: bool,
    pub intents_api_enabled: bool,
    pub shroud_enabled: bool,
    /// The human who registered the agent.
    pub created_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub expires_at: Option<time::OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub last_active_at: Option<time::OffsetDateTime>,
}

/// `POST /v1/agents/{agent_id}/rotate-key` answer: the new key, shown once (1claw's schema;
/// the agent itself is `GET /v1/agents/{agent_id}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentKeyRotatedResponse {
    pub api_key: SecretString,
}

/// `POST /v1/agents` answer: the agent and its key, shown once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentCreatedResponse {
    pub agent: AgentResponse,
    pub api_key: SecretString,
}

/// `GET /v1/agents`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentListResponse {
    pub agents: Vec<AgentResponse>,
}

/// `POST /v1/auth/agent-token`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentTokenRequest {
    pub api_key: SecretString,
    #[serde(default)]
    pub agent_id: Option<Uuid>,
}

/// The agent token answer. `agent_id` and `vault_ids` are echoed only when the request had no
/// `agent_id` (key-only clients need them; strict clients that sent it reject extra fields).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentTokenResponse {
    pub access_token: SecretString,
    pub token_type: String,
    pub expires_in: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_ids: Option<Vec<Uuid>>,
}
