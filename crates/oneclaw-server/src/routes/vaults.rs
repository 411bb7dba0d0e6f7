//! `/v1/vaults`.

use super::params;
use crate::error::ApiResult;
use crate::extract::{Auth, JsonBody};
use crate::state::AppState;
use crate::views;
use axum::extract::{RawPathParams, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use oneclaw_core::ids::VaultId;
use oneclaw_types::vaults::{CreateVaultRequest, VaultListResponse, VaultResponse};

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/vaults", post(create).get(list)).route("/v1/vaults/{vault_id}", get(show).delete(remove))
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

async fn list(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<VaultListResponse>> {
    let vaults = state.core.vaults().list(&caller).await?;
    Ok(Json(VaultListResponse { vaults: vaults.iter().map(views::vault).collect() }))
}

async fn show(
    State(state): State<AppState>,
    Auth(caller): Auth,
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
