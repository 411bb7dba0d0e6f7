//! Secrets and their versions.

use crate::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `PUT /v1/vaults/{id}/secrets/{path}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PutSecretRequest {
    #[serde(default, rename = "type")]
    pub secret_type: Option<String>,
    pub value: SecretString,
    #[serde(default)]
    pub metadata: Option<serde_json::Value>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<time::OffsetDateTime>,
    #[serde(default)]
    pub rotation_policy: Option<serde_json::Value>,
    #[serde(default)]
    pub max_access_count: Option<i64>,
}

/// `POST /v1/vaults/{id}/secret-rotate/{path}`: a server-generated value.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RotateSecretRequest {
    #[serde(default)]
    pub length: Option<i64>,
    #[serde(default)]
    pub charset: Option<String>,
    #[serde(default, rename = "type")]
    pub secret_type: Option<String>,
}

/// A secret version without its value (lists, PUT answers).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecretMetadataResponse {
    pub id: Uuid,
    pub path: String,
    #[serde(rename = "type")]
    pub secret_type: String,
    pub version: i64,
    pub metadata: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub expires_at: Option<time::OffsetDateTime>,
    /// Only in the versions list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_disabled: Option<bool>,
}

/// A secret version with its decrypted value.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecretResponse {
    pub id: Uuid,
    pub path: String,
    #[serde(rename = "type")]
    pub secret_type: String,
    pub value: SecretString,
    pub version: i64,
    pub metadata: serde_json::Value,
    /// The principal that wrote this version, as `user:<uuid>` or `agent:<uuid>`.
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub expires_at: Option<time::OffsetDateTime>,
}

/// `GET /v1/vaults/{id}/secrets`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecretListResponse {
    pub secrets: Vec<SecretMetadataResponse>,
}

/// `GET /v1/vaults/{id}/secret-versions/{path}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecretVersionListResponse {
    pub versions: Vec<SecretMetadataResponse>,
}
