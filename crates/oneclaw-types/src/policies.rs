//! Vault access policies.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `POST /v1/vaults/{id}/policies` and `PUT …/{policy_id}` (where principal and pattern are
/// ignored). Out-of-scope fields (`attribute_conditions`, `tx_conditions`, …) are ignored.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyRequest {
    #[serde(default)]
    pub secret_path_pattern: Option<String>,
    #[serde(default)]
    pub principal_type: Option<String>,
    #[serde(default)]
    pub principal_id: Option<String>,
    #[serde(default)]
    pub permissions: Option<Vec<String>>,
    #[serde(default)]
    pub conditions: Option<serde_json::Value>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<time::OffsetDateTime>,
    #[serde(default)]
    pub effect: Option<String>,
    #[serde(default)]
    pub priority: Option<i64>,
    #[serde(default)]
    pub policy_schema_version: Option<i64>,
}

/// A policy as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyResponse {
    pub id: Uuid,
    pub vault_id: Uuid,
    pub secret_path_pattern: String,
    pub principal_type: String,
    pub principal_id: Uuid,
    pub permissions: Vec<String>,
    pub conditions: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub expires_at: Option<time::OffsetDateTime>,
    pub created_by: String,
    pub created_by_type: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    /// `deny` only: the Go SDK's strict model has no `effect`, so the default (`allow`) is
    /// left out (reference §2.9), and so are a zero priority and the default schema version.
    #[serde(default = "allow", skip_serializing_if = "is_allow")]
    pub effect: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub priority: i64,
    #[serde(default = "default_schema_version", skip_serializing_if = "is_default_schema_version")]
    pub policy_schema_version: i64,
}

/// The schema version a policy gets when its request names none.
pub const DEFAULT_POLICY_SCHEMA_VERSION: i64 = 2;

fn allow() -> String {
    "allow".to_owned()
}

fn is_allow(effect: &str) -> bool {
    effect == "allow"
}

fn is_zero(priority: &i64) -> bool {
    *priority == 0
}

fn default_schema_version() -> i64 {
    DEFAULT_POLICY_SCHEMA_VERSION
}

fn is_default_schema_version(version: &i64) -> bool {
    *version == DEFAULT_POLICY_SCHEMA_VERSION
}

/// `GET /v1/vaults/{id}/policies`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyListResponse {
    pub policies: Vec<PolicyResponse>,
}
