//! Vaults.

use crate::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `POST /v1/vaults`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateVaultRequest {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// A vault as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VaultResponse {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub created_by: String,
    pub created_by_type: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    pub cmek_enabled: bool,
}

/// `GET /v1/vaults`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VaultListResponse {
    pub vaults: Vec<VaultResponse>,
}
