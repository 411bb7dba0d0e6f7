//! Shares of secrets.

use crate::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `POST /v1/secrets/{secret_id}/share`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateShareRequest {
    pub recipient_type: String,
    #[serde(default)]
    pub recipient_id: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub permissions: Option<Vec<String>>,
    #[serde(default)]
    pub max_access_count: Option<i64>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<time::OffsetDateTime>,
    #[serde(default)]
    pub passphrase: Option<SecretString>,
    #[serde(default)]
    pub ip_allowlist: Option<Vec<String>>,
}

/// The answer to creating a share.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShareResponse {
    pub id: Uuid,
    pub share_url: String,
    pub recipient_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_email: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: time::OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_access_count: Option<i64>,
}

/// `GET /v1/share/{id}` body (optional; the passphrase may also come in a header).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessShareRequest {
    #[serde(default)]
    pub passphrase: Option<SecretString>,
}

/// What an opened share reveals.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SharedSecretResponse {
    pub id: Uuid,
    pub path: String,
    #[serde(rename = "type")]
    pub secret_type: String,
    pub value: SecretString,
    pub access_count: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_access_count: Option<i64>,
}

/// One share in the outbound and inbound lists.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShareListItem {
    pub id: Uuid,
    pub secret_path: String,
    pub recipient_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_email: Option<String>,
    pub access_count: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_access_count: Option<i64>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    pub is_expired: bool,
    pub is_accepted: bool,
}

/// `GET /v1/shares/outbound` and `/inbound`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShareListResponse {
    pub shares: Vec<ShareListItem>,
}
