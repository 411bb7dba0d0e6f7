//! `/v1/vaults`.

use super::params;
use crate::error::ApiResult;
use crate::extract::{Auth, JsonBody, SecretAuth};
use crate::state::AppState;
use crate::views;
use axum::extract::{RawPathParams, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use oneclaw_core::ids::VaultId;
use oneclaw_types::vaults::{
    CreateVaultRequest, KeyRotationResponse, VaultKeyListResponse, VaultKeyResponse, VaultListResponse, VaultResponse,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/vaults", post(create).get(list))
        .route("/v1/vaults/{vault_id}", get(show).delete(remove))
        .route("/v1/vaults/{vault_id}/rotate-key", post(rotate_key))
        .route("/v1/vaults/{vault_id}/keys", get(keys))
}

/// Rotates the vault's KEK and answers once every data key has moved and the old KEK is gone.
/// The work runs in a task of its own, so a client that hangs up (or the request time limit)
/// does not cut it short; if the process dies, the rotation is resumed at the next start.
async fn rotate_key(
    State(state): State<AppState>,
    Auth(caller): Auth,
    path: RawPathParams,
) -> ApiResult<Json<KeyRotationResponse>> {
    let id = VaultId(params::uuid(&path, "vault_id")?);
    let core = state.core.clone();
    let rotation = tokio::spawn(async move { core.keys().rotate(&caller, id).await })
        .await
        .map_err(|err| oneclaw_core::Error::Internal(format!("key rotation task failed: {err}")))??;
    Ok(Json(KeyRotationResponse {
        vault_id: rotation.vault_id.0,
        kek_version: rotation.kek_version,
        key_provider: rotation.provider,
        rewrapped: rotation.rewrapped,
        destroyed_versions: rotation.destroyed_versions,
    }))
}

async fn keys(
    State(state): State<AppState>,
    Auth(caller): Auth,
    path: RawPathParams,
) -> ApiResult<Json<VaultKeyListResponse>> {
    let id = VaultId(params::uuid(&path, "vault_id")?);
    let (current_version, keys) = state.core.keys().history(&caller, id).await?;
    Ok(Json(VaultKeyListResponse {
        current_version,
        keys: keys
            .into_iter()
            .map(|record| VaultKeyResponse {
                version: record.kek.version,
                key_provider: record.kek.provider,
                created_at: record.created_at,
                retired_at: record.retired_at,
                destroyed_at: record.destroyed_at,
            })
            .collect(),
    }))
}

async fn create(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<CreateVaultRequest>,
) -> ApiResult<(StatusCode, Json<VaultResponse>)> {
    let request = body.required()?;
    let vault = state.core.vaults().create(&caller, &request.name, request.description.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(views::vault(&vault))))
}

async fn list(State(state): State<AppState>, SecretAuth(caller): SecretAuth) -> ApiResult<Json<VaultListResponse>> {
    let vaults = state.core.vaults().list(&caller).await?;
    Ok(Json(VaultListResponse { vaults: vaults.iter().map(views::vault).collect() }))
}

async fn show(
    State(state): State<AppState>,
    SecretAuth(caller): SecretAuth,
    path: RawPathParams,
) -> ApiResult<Json<VaultResponse>> {
    let id = VaultId(params::uuid(&path, "vault_id")?);
    let vault = state.core.vaults().get(&caller, id).await?;
    Ok(Json(views::vault(&vault)))
}

async fn remove(State(state): State<AppState>, Auth(caller): Auth, path: RawPathParams) -> ApiResult<StatusCode> {
    let id = VaultId(params::uuid(&path, "vault_id")?);
    state.core.vaults().delete(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
