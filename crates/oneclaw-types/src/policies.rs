//! Vault access policies.

use crate::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `POST /v1/vaults/{id}/policies` and `PUT …/{policy_id}` (where principal and pattern are
/// ignored). Out-of-scope fields (`attribute_conditions`, `tx_conditions`, …) are ignored.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
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
    pub expires_at: Option<Timestamp>,
    #[serde(default)]
    pub effect: Option<String>,
    #[serde(default)]
    pub priority: Option<i64>,
    #[serde(default)]
    pub policy_schema_version: Option<i64>,
}

/// A policy as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyResponse {
    pub id: Uuid,
    pub vault_id: Uuid,
    pub secret_path_pattern: String,
    pub principal_type: String,
    pub principal_id: Uuid,
    pub permissions: Vec<String>,
    pub conditions: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub expires_at: Option<Timestamp>,
    pub created_by: String,
    pub created_by_type: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    pub effect: String,
    pub priority: i64,
    pub policy_schema_version: i64,
}

/// `GET /v1/vaults/{id}/policies`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyListResponse {
    pub policies: Vec<PolicyResponse>,
}
