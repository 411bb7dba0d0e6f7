//! Execution intents (`/v1/agents/{agent_id}/bindings`, `/execute`, `/executions`), as 1claw's
//! spec has them. A binding's credential is accepted here and never answered.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// 1claw's `CredentialSource`: an inline value, or a pointer to a secret in a vault. Here the
/// `vault_id` of an inline source names the vault the binding lives in (whose policies decide
/// who may execute it).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialSourceRequest {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub value: Option<Value>,
    #[serde(default)]
    pub vault_id: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
}

/// `POST …/bindings` (1claw's `CreateBindingRequest`) and `PATCH …/bindings/{id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BindingRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub binding_type: Option<String>,
    #[serde(default)]
    pub config: Option<Value>,
    #[serde(default)]
    pub guardrails: Option<Value>,
    #[serde(default)]
    pub is_active: Option<bool>,
    /// Legacy inline credential.
    #[serde(default)]
    pub credential: Option<Value>,
    #[serde(default)]
    pub credential_source: Option<CredentialSourceRequest>,
    /// The vault the binding lives in, when the credential source does not name it.
    #[serde(default)]
    pub vault_id: Option<String>,
}

/// 1claw's `BindingResponse`: `credential_set` says whether a credential is stored; the value
/// never leaves the server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BindingResponse {
    pub id: String,
    pub agent_id: String,
    pub binding_type: String,
    pub name: String,
    pub config: Value,
    pub guardrails: Value,
    pub is_active: bool,
    pub credential_set: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_source_type: Option<String>,
    /// The vault the binding lives in (for `vault_ref`, the secret's vault).
    pub credential_vault_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_path: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: time::OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BindingListResponse {
    pub bindings: Vec<BindingResponse>,
}

/// `POST …/rotate-credential`: the new credential (a string, or an object holding it).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RotateCredentialRequest {
    pub credential: Value,
}

/// `POST …/test`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TestBindingRequest {
    #[serde(default)]
    pub timeout_ms: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TestBindingResponse {
    pub success: bool,
    pub latency_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `POST /v1/agents/{agent_id}/execute`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExecuteRequest {
    #[serde(default)]
    pub binding: String,
    #[serde(default)]
    pub intent_type: String,
    #[serde(default)]
    pub execution_mode: Option<String>,
    #[serde(default)]
    pub params: Option<Value>,
}

/// 1claw's `ExecuteResponse`: the redacted result, or the redacted error.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExecuteResponse {
    pub execution_id: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: i64,
    pub redactions_applied: i64,
    /// Where it ran: always `vault` here (no TEE).
    pub execution_surface: String,
}

/// 1claw's `ExecutionEventResponse`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExecutionEventResponse {
    pub id: String,
    pub agent_id: String,
    pub binding_id: String,
    pub intent_type: String,
    pub execution_mode: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_summary: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_summary: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    pub duration_ms: i64,
    pub redactions_applied: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExecutionListResponse {
    pub events: Vec<ExecutionEventResponse>,
}
