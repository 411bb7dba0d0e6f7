//! Environment variables, vault environments and org-shared variables.

use crate::SecretString;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// `POST /v1/vaults/{id}/env-vars` and `POST /v1/org/env-vars`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateEnvVarRequest {
    pub key: String,
    pub value: SecretString,
    #[serde(default)]
    pub environments: Option<Vec<String>>,
    #[serde(default)]
    pub git_branch: Option<String>,
    #[serde(default)]
    pub sensitive: Option<bool>,
    #[serde(default)]
    pub comment: Option<String>,
}

/// `PATCH /v1/vaults/{id}/env-vars/{key}` and `PATCH /v1/org/env-vars/{key}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateEnvVarRequest {
    #[serde(default)]
    pub value: Option<SecretString>,
    #[serde(default)]
    pub environments: Option<Vec<String>>,
    #[serde(default)]
    pub sensitive: Option<bool>,
    #[serde(default)]
    pub comment: Option<String>,
}

/// A vault variable. `value` is present only where the value was asked for (`GET …/{key}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvVarResponse {
    pub id: Uuid,
    pub key: String,
    pub environments: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_branch: Option<String>,
    pub sensitive: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<SecretString>,
    pub version: i64,
    /// The principal that created it, as `user:<uuid>` or `agent:<uuid>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: time::OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvVarListResponse {
    pub env_vars: Vec<EnvVarResponse>,
}

/// `GET /v1/vaults/{id}/env-vars/resolve`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResolveEnvVarsResponse {
    pub vars: BTreeMap<String, SecretString>,
    /// Which layer each variable came from: `shared`, `vault` or `branch_override`.
    pub sources: BTreeMap<String, String>,
    pub environment: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_branch: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub resolved_at: time::OffsetDateTime,
}

/// `POST /v1/vaults/{id}/environments`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateEnvironmentRequest {
    pub slug: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub copy_from: Option<String>,
}

/// A vault environment: a built-in one or a custom one.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VaultEnvironmentResponse {
    pub id: Uuid,
    pub slug: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub is_builtin: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copied_from: Option<String>,
    /// Always false: a copied environment shares its source's variables until they are edited.
    pub is_detached: bool,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub created_at: Option<time::OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvironmentListResponse {
    pub environments: Vec<VaultEnvironmentResponse>,
}

/// An org-shared variable (never its value).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgEnvVarResponse {
    pub id: Uuid,
    pub key: String,
    pub environments: Vec<String>,
    pub sensitive: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub version: i64,
    pub linked_vaults: Vec<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: time::OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgEnvVarListResponse {
    pub env_vars: Vec<OrgEnvVarResponse>,
}

/// `POST /v1/org/env-vars/{id}/link`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkEnvVarRequest {
    pub vault_id: Uuid,
}
