//! `/v1/auth/api-keys`: personal API keys.

use super::params;
use crate::error::ApiResult;
use crate::extract::{Auth, JsonBody};
use crate::state::AppState;
use crate::views;
use axum::extract::{RawPathParams, State};
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::{Json, Router};
use oneclaw_core::ids::ApiKeyId;
use oneclaw_types::auth::{ApiKeyCreatedResponse, ApiKeyListResponse, CreateApiKeyRequest};

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/auth/api-keys", post(create).get(list)).route("/v1/auth/api-keys/{key_id}", delete(revoke))
}

async fn create(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<CreateApiKeyRequest>,
) -> ApiResult<(StatusCode, Json<ApiKeyCreatedResponse>)> {
    let request = body.required()?;
    let created = state
        .core
        .api_keys()
        .create(&caller, &request.name, request.scopes.unwrap_or_default(), request.expires_at)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ApiKeyCreatedResponse { key: views::api_key(&created.key), api_key: created.secret }),
    ))
}

async fn list(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<ApiKeyListResponse>> {
    let keys = state.core.api_keys().list(&caller).await?;
    Ok(Json(ApiKeyListResponse { keys: keys.iter().map(views::api_key).collect() }))
}

async fn revoke(State(state): State<AppState>, Auth(caller): Auth, path: RawPathParams) -> ApiResult<StatusCode> {
    let id = ApiKeyId(params::uuid(&path, "key_id")?);
    state.core.api_keys().revoke(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
