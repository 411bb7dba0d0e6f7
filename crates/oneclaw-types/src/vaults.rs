//! Vaults.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `POST /v1/vaults`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateVaultRequest {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// A vault as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VaultResponse {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub created_by: String,
    pub created_by_type: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    pub cmek_enabled: bool,
}

/// `GET /v1/vaults`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VaultListResponse {
    pub vaults: Vec<VaultResponse>,
}

/// `POST /v1/vaults/{vault_id}/rotate-key`: the KEK version now in force and what moved to it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyRotationResponse {
    pub vault_id: Uuid,
    pub kek_version: i64,
    pub key_provider: String,
    /// Data keys re-wrapped under the new KEK by this call.
    pub rewrapped: u64,
    /// Old KEK versions destroyed by this call.
    pub destroyed_versions: Vec<i64>,
}

/// One KEK version of a vault (never its key material or handle).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VaultKeyResponse {
    pub version: i64,
    pub key_provider: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    /// Set once no data key is wrapped by it any more.
    #[serde(with = "time::serde::rfc3339::option")]
    pub retired_at: Option<time::OffsetDateTime>,
    /// Set once it is gone from its key provider.
    #[serde(with = "time::serde::rfc3339::option")]
    pub destroyed_at: Option<time::OffsetDateTime>,
}

/// `GET /v1/vaults/{vault_id}/keys`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VaultKeyListResponse {
    pub current_version: i64,
    pub keys: Vec<VaultKeyResponse>,
}
