//! `/v1/vaults/{vault_id}/secrets…`, versions and rotation.

use super::params::{self, SecretRoute};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, SecretAuth};
use crate::state::AppState;
use crate::views;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, RawPathParams, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use oneclaw_core::ids::VaultId;
use oneclaw_core::path::PathPrefix;
use oneclaw_core::services::{NewSecret, Rotation};
use oneclaw_types::secrets::{
    PutSecretRequest, RotateSecretRequest, SecretListResponse, SecretMetadataResponse, SecretResponse,
    SecretVersionListResponse,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/vaults/{vault_id}/secrets", get(list))
        .route("/v1/vaults/{vault_id}/secrets/{*path}", get(read).put(put).delete(remove))
        .route("/v1/vaults/{vault_id}/secret-versions/{*path}", get(versions))
        .route("/v1/vaults/{vault_id}/secret-version/{*path}", get(read_version))
        .route("/v1/vaults/{vault_id}/secret-version-disable/{*path}", post(disable_version))
        .route("/v1/vaults/{vault_id}/secret-rotate/{*path}", post(rotate))
}

fn vault_id(path: &RawPathParams) -> Result<VaultId, ApiError> {
    Ok(VaultId(params::uuid(path, "vault_id")?))
}

#[derive(serde::Deserialize)]
struct ListQuery {
    prefix: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    SecretAuth(caller): SecretAuth,
    path: RawPathParams,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<SecretListResponse>> {
    let Query(query) = query.map_err(|_| ApiError::bad_request("The query string is malformed"))?;
    let prefix = PathPrefix::parse(query.prefix.as_deref().unwrap_or_default())?;
    let secrets = state.core.secrets().list(&caller, vault_id(&path)?, &prefix).await?;
    Ok(Json(SecretListResponse { secrets: secrets.iter().map(|v| views::secret_metadata(v, false)).collect() }))
}

async fn put(
    State(state): State<AppState>,
    SecretAuth(caller): SecretAuth,
    route: SecretRoute,
    body: JsonBody<PutSecretRequest>,
) -> ApiResult<(StatusCode, Json<SecretMetadataResponse>)> {
    let (vault, secret_path) = (route.vault, route.path()?);
    let stored = state.core.secrets().put(&caller, vault, &secret_path, new_secret(body.required()?)).await?;
    Ok((StatusCode::CREATED, Json(views::secret_metadata(&stored, false))))
}

/// The domain's new version.
pub(crate) fn new_secret(request: PutSecretRequest) -> NewSecret {
    NewSecret {
        secret_type: request.secret_type,
        value: request.value,
        metadata: request.metadata,
        expires_at: request.expires_at,
        rotation_policy: request.rotation_policy,
        max_access_count: request.max_access_count,
    }
}

/// The domain's server-side rotation.
pub(crate) fn rotation(request: RotateSecretRequest) -> Rotation {
    Rotation { length: request.length, charset: request.charset, secret_type: request.secret_type }
}

async fn read(
    State(state): State<AppState>,
    SecretAuth(caller): SecretAuth,
    route: SecretRoute,
) -> ApiResult<Json<SecretResponse>> {
    let (vault, secret_path) = (route.vault, route.path()?);
    let revealed = state.core.secrets().read(&caller, vault, &secret_path, None).await?;
    Ok(Json(views::secret(revealed)))
}

async fn read_version(
    State(state): State<AppState>,
    SecretAuth(caller): SecretAuth,
    route: SecretRoute,
) -> ApiResult<Json<SecretResponse>> {
    let vault = route.vault;
    let (secret_path, version) = route.path_and_version()?;
    let revealed = state.core.secrets().read(&caller, vault, &secret_path, Some(version)).await?;
    Ok(Json(views::secret(revealed)))
}

async fn remove(
    State(state): State<AppState>,
    SecretAuth(caller): SecretAuth,
    route: SecretRoute,
) -> ApiResult<StatusCode> {
    let (vault, secret_path) = (route.vault, route.path()?);
    state.core.secrets().delete(&caller, vault, &secret_path).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn versions(
    State(state): State<AppState>,
    SecretAuth(caller): SecretAuth,
    route: SecretRoute,
) -> ApiResult<Json<SecretVersionListResponse>> {
    let (vault, secret_path) = (route.vault, route.path()?);
    let versions = state.core.secrets().versions(&caller, vault, &secret_path).await?;
    Ok(Json(SecretVersionListResponse { versions: versions.iter().map(|v| views::secret_metadata(v, true)).collect() }))
}

async fn disable_version(
    State(state): State<AppState>,
    SecretAuth(caller): SecretAuth,
    route: SecretRoute,
) -> ApiResult<StatusCode> {
    let vault = route.vault;
    let (secret_path, version) = route.path_and_version()?;
    state.core.secrets().disable_version(&caller, vault, &secret_path, version).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn rotate(
    State(state): State<AppState>,
    SecretAuth(caller): SecretAuth,
    route: SecretRoute,
    body: JsonBody<RotateSecretRequest>,
) -> ApiResult<(StatusCode, Json<SecretMetadataResponse>)> {
    let (vault, secret_path) = (route.vault, route.path()?);
    let stored =
        state.core.secrets().rotate(&caller, vault, &secret_path, rotation(body.0.unwrap_or_default())).await?;
    Ok((StatusCode::CREATED, Json(views::secret_metadata(&stored, false))))
}
