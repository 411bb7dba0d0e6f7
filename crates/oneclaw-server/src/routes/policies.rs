//! `/v1/vaults/{vault_id}/policies`.

use super::params;
use crate::error::ApiResult;
use crate::extract::{Auth, JsonBody};
use crate::state::AppState;
use crate::views;
use axum::extract::{RawPathParams, State};
use axum::http::StatusCode;
use axum::routing::{post, put};
use axum::{Json, Router};
use oneclaw_core::ids::{PolicyId, VaultId};
use oneclaw_core::services::PolicyDraft;
use oneclaw_types::policies::{PolicyListResponse, PolicyRequest, PolicyResponse};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/vaults/{vault_id}/policies", post(create).get(list))
        .route("/v1/vaults/{vault_id}/policies/{policy_id}", put(update).delete(remove))
}

pub(crate) fn draft(request: PolicyRequest) -> PolicyDraft {
    PolicyDraft {
        secret_path_pattern: request.secret_path_pattern,
        principal_type: request.principal_type,
        principal_id: request.principal_id,
        permissions: request.permissions,
        conditions: request.conditions,
        expires_at: request.expires_at,
        effect: request.effect,
        priority: request.priority,
        policy_schema_version: request.policy_schema_version,
    }
}

fn ids(path: &RawPathParams) -> ApiResult<(VaultId, Option<PolicyId>)> {
    let vault = VaultId(params::uuid(path, "vault_id")?);
    let policy =
        params::raw(path, "policy_id").ok().map(|_| params::uuid(path, "policy_id")).transpose()?.map(PolicyId);
    Ok((vault, policy))
}

async fn create(
    State(state): State<AppState>,
    Auth(caller): Auth,
    path: RawPathParams,
    body: JsonBody<PolicyRequest>,
) -> ApiResult<(StatusCode, Json<PolicyResponse>)> {
    let (vault, _) = ids(&path)?;
    let policy = state.core.policies().create(&caller, vault, draft(body.required()?)).await?;
    Ok((StatusCode::CREATED, Json(views::policy(&policy))))
}

async fn list(
    State(state): State<AppState>,
    Auth(caller): Auth,
    path: RawPathParams,
) -> ApiResult<Json<PolicyListResponse>> {
    let (vault, _) = ids(&path)?;
    let policies = state.core.policies().list(&caller, vault).await?;
    Ok(Json(PolicyListResponse { policies: policies.iter().map(views::policy).collect() }))
}

async fn update(
    State(state): State<AppState>,
    Auth(caller): Auth,
    path: RawPathParams,
    body: JsonBody<PolicyRequest>,
) -> ApiResult<Json<PolicyResponse>> {
    let (vault, policy) = ids(&path)?;
    let policy = policy.ok_or_else(|| crate::error::ApiError::bad_request("missing policy_id"))?;
    let updated = state.core.policies().update(&caller, vault, policy, draft(body.required()?)).await?;
    Ok(Json(views::policy(&updated)))
}

async fn remove(State(state): State<AppState>, Auth(caller): Auth, path: RawPathParams) -> ApiResult<StatusCode> {
    let (vault, policy) = ids(&path)?;
    let policy = policy.ok_or_else(|| crate::error::ApiError::bad_request("missing policy_id"))?;
    state.core.policies().delete(&caller, vault, policy).await?;
    Ok(StatusCode::NO_CONTENT)
}
