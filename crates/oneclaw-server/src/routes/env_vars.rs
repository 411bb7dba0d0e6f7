//! `/v1/vaults/{vault_id}/env-vars…`, `/v1/vaults/{vault_id}/environments…` and the org-shared
//! `/v1/org/env-vars…`.

use super::params;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, JsonBody, SecretAuth};
use crate::state::AppState;
use crate::views;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, RawPathParams, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use oneclaw_core::ids::{EnvVarId, VaultId};
use oneclaw_core::services::{EnvSelector, EnvVarChange, NewEnvVar};
use oneclaw_types::env_vars::{
    CreateEnvVarRequest, CreateEnvironmentRequest, EnvVarListResponse, EnvVarResponse, EnvironmentListResponse,
    LinkEnvVarRequest, OrgEnvVarListResponse, OrgEnvVarResponse, ResolveEnvVarsResponse, UpdateEnvVarRequest,
    VaultEnvironmentResponse,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/vaults/{vault_id}/env-vars", get(list).post(create))
        .route("/v1/vaults/{vault_id}/env-vars/resolve", get(resolve))
        .route("/v1/vaults/{vault_id}/env-vars/{key}", get(read).patch(update).delete(remove))
        .route("/v1/vaults/{vault_id}/environments", get(environments).post(create_environment))
        .route("/v1/vaults/{vault_id}/environments/{slug}", delete(delete_environment))
        .route("/v1/org/env-vars", get(list_shared).post(create_shared))
        // One segment names a key (PATCH, as 1claw has it) or an id (DELETE).
        .route("/v1/org/env-vars/{key_or_id}", axum::routing::patch(update_shared).delete(delete_shared))
        .route("/v1/org/env-vars/{id}/link", post(link))
        .route("/v1/org/env-vars/{id}/links/{vault_id}", delete(unlink))
}

/// `?environment=&git_branch=`.
#[derive(serde::Deserialize, Default)]
struct EnvQuery {
    environment: Option<String>,
    git_branch: Option<String>,
}

impl EnvQuery {
    fn selector(&self) -> EnvSelector<'_> {
        EnvSelector {
            environment: self.environment.as_deref().filter(|e| !e.is_empty()),
            git_branch: self.git_branch.as_deref().filter(|b| !b.is_empty()),
        }
    }
}

fn env_query(query: Result<Query<EnvQuery>, QueryRejection>) -> ApiResult<EnvQuery> {
    query.map(|Query(q)| q).map_err(|_| ApiError::bad_request("The query string is malformed"))
}

fn vault_id(path: &RawPathParams) -> ApiResult<VaultId> {
    Ok(VaultId(params::uuid(path, "vault_id")?))
}

fn new_var(request: CreateEnvVarRequest) -> NewEnvVar {
    NewEnvVar {
        key: request.key,
        value: request.value,
        environments: request.environments,
        git_branch: request.git_branch,
        sensitive: request.sensitive.unwrap_or(false),
        comment: request.comment,
    }
}

fn change(request: UpdateEnvVarRequest) -> EnvVarChange {
    EnvVarChange {
        value: request.value,
        environments: request.environments,
        sensitive: request.sensitive,
        comment: request.comment,
    }
}

async fn list(
    State(state): State<AppState>,
    SecretAuth(caller): SecretAuth,
    path: RawPathParams,
    query: Result<Query<EnvQuery>, QueryRejection>,
) -> ApiResult<Json<EnvVarListResponse>> {
    let query = env_query(query)?;
    let vars = state.core.env_vars().list(&caller, vault_id(&path)?, query.selector().environment).await?;
    Ok(Json(EnvVarListResponse { env_vars: vars.iter().map(|v| views::env_var(v, None)).collect() }))
}

async fn create(
    State(state): State<AppState>,
    SecretAuth(caller): SecretAuth,
    path: RawPathParams,
    body: JsonBody<CreateEnvVarRequest>,
) -> ApiResult<(StatusCode, Json<EnvVarResponse>)> {
    let var = state.core.env_vars().create(&caller, vault_id(&path)?, new_var(body.required()?)).await?;
    Ok((StatusCode::CREATED, Json(views::env_var(&var, None))))
}

async fn read(
    State(state): State<AppState>,
    SecretAuth(caller): SecretAuth,
    path: RawPathParams,
    query: Result<Query<EnvQuery>, QueryRejection>,
) -> ApiResult<Json<EnvVarResponse>> {
    let query = env_query(query)?;
    let key = params::raw(&path, "key")?;
    let (var, value) = state.core.env_vars().get(&caller, vault_id(&path)?, key, query.selector()).await?;
    Ok(Json(views::env_var(&var, Some(value))))
}

async fn update(
    State(state): State<AppState>,
    SecretAuth(caller): SecretAuth,
    path: RawPathParams,
    query: Result<Query<EnvQuery>, QueryRejection>,
    body: JsonBody<UpdateEnvVarRequest>,
) -> ApiResult<Json<EnvVarResponse>> {
    let query = env_query(query)?;
    let key = params::raw(&path, "key")?;
    let change = change(body.0.unwrap_or_default());
    let var = state.core.env_vars().update(&caller, vault_id(&path)?, key, query.selector(), change).await?;
    Ok(Json(views::env_var(&var, None)))
}

async fn remove(
    State(state): State<AppState>,
    SecretAuth(caller): SecretAuth,
    path: RawPathParams,
    query: Result<Query<EnvQuery>, QueryRejection>,
) -> ApiResult<StatusCode> {
    let query = env_query(query)?;
    let key = params::raw(&path, "key")?;
    state.core.env_vars().delete(&caller, vault_id(&path)?, key, query.selector()).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn resolve(
    State(state): State<AppState>,
    SecretAuth(caller): SecretAuth,
    path: RawPathParams,
    query: Result<Query<EnvQuery>, QueryRejection>,
) -> ApiResult<Json<ResolveEnvVarsResponse>> {
    let query = env_query(query)?;
    let select = query.selector();
    let resolved =
        state.core.env_vars().resolve(&caller, vault_id(&path)?, select.environment, select.git_branch).await?;
    Ok(Json(views::resolved_env(resolved)))
}

async fn environments(
    State(state): State<AppState>,
    SecretAuth(caller): SecretAuth,
    path: RawPathParams,
) -> ApiResult<Json<EnvironmentListResponse>> {
    let all = state.core.shared_env().environments(&caller, vault_id(&path)?).await?;
    Ok(Json(EnvironmentListResponse { environments: all.into_iter().map(views::environment).collect() }))
}

async fn create_environment(
    State(state): State<AppState>,
    Auth(caller): Auth,
    path: RawPathParams,
    body: JsonBody<CreateEnvironmentRequest>,
) -> ApiResult<(StatusCode, Json<VaultEnvironmentResponse>)> {
    let request = body.required()?;
    let created = state
        .core
        .shared_env()
        .create_environment(
            &caller,
            vault_id(&path)?,
            &request.slug,
            request.description,
            request.copy_from.as_deref().filter(|s| !s.is_empty()),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(VaultEnvironmentResponse {
            id: created.id.0,
            slug: created.slug,
            description: created.description,
            is_builtin: false,
            copied_from: created.copied_from,
            is_detached: false,
            created_at: Some(created.created_at),
        }),
    ))
}

async fn delete_environment(
    State(state): State<AppState>,
    Auth(caller): Auth,
    path: RawPathParams,
) -> ApiResult<StatusCode> {
    let slug = params::raw(&path, "slug")?;
    state.core.shared_env().delete_environment(&caller, vault_id(&path)?, slug).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_shared(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<OrgEnvVarListResponse>> {
    let vars = state.core.shared_env().list(&caller).await?;
    Ok(Json(OrgEnvVarListResponse { env_vars: vars.iter().map(views::org_env_var).collect() }))
}

async fn create_shared(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<CreateEnvVarRequest>,
) -> ApiResult<(StatusCode, Json<OrgEnvVarResponse>)> {
    let var = state.core.shared_env().create(&caller, new_var(body.required()?)).await?;
    Ok((StatusCode::CREATED, Json(views::org_env_var(&var))))
}

async fn update_shared(
    State(state): State<AppState>,
    Auth(caller): Auth,
    path: RawPathParams,
    query: Result<Query<EnvQuery>, QueryRejection>,
    body: JsonBody<UpdateEnvVarRequest>,
) -> ApiResult<Json<OrgEnvVarResponse>> {
    let query = env_query(query)?;
    let key = params::raw(&path, "key_or_id")?;
    let change = change(body.0.unwrap_or_default());
    let var = state.core.shared_env().update(&caller, key, query.selector().environment, change).await?;
    Ok(Json(views::org_env_var(&var)))
}

async fn delete_shared(
    State(state): State<AppState>,
    Auth(caller): Auth,
    path: RawPathParams,
) -> ApiResult<StatusCode> {
    let id = EnvVarId(params::uuid(&path, "key_or_id")?);
    state.core.shared_env().delete(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn link(
    State(state): State<AppState>,
    Auth(caller): Auth,
    path: RawPathParams,
    body: JsonBody<LinkEnvVarRequest>,
) -> ApiResult<StatusCode> {
    let id = EnvVarId(params::uuid(&path, "id")?);
    let vault = VaultId(body.required()?.vault_id);
    state.core.shared_env().link(&caller, id, vault).await?;
    Ok(StatusCode::CREATED)
}

async fn unlink(State(state): State<AppState>, Auth(caller): Auth, path: RawPathParams) -> ApiResult<StatusCode> {
    let id = EnvVarId(params::uuid(&path, "id")?);
    state.core.shared_env().unlink(&caller, id, vault_id(&path)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
