//! `/v1/agents` and `/v1/auth/agent-token`.

use super::params;
use crate::error::ApiResult;
use crate::extract::{Auth, JsonBody, Meta};
use crate::state::AppState;
use crate::views;
use axum::extract::{RawPathParams, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use oneclaw_core::ids::AgentId;
use oneclaw_core::services::AgentSettings;
use oneclaw_types::agents::{
    AgentCreatedResponse, AgentKeyRotatedResponse, AgentListResponse, AgentRequest, AgentResponse, AgentSelfResponse,
    AgentTokenRequest, AgentTokenResponse,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/agents", post(create).get(list))
        .route("/v1/agents/me", get(me))
        .route("/v1/agents/{agent_id}", get(show).patch(update).delete(remove))
        .route("/v1/agents/{agent_id}/rotate-key", post(rotate_key))
        .route("/v1/auth/agent-token", post(agent_token))
}

fn settings(request: AgentRequest) -> AgentSettings {
    AgentSettings {
        name: request.name,
        description: request.description,
        scopes: request.scopes,
        is_active: request.is_active,
        token_ttl_seconds: request.token_ttl_seconds,
        vault_ids: request.vault_ids,
        expires_at: request.expires_at,
        api_key_expires_at: request.api_key_expires_at,
        intents_api_enabled: request.intents_api_enabled,
        auth_method: request.auth_method,
        environment: request.environment,
    }
}

fn agent_id(path: &RawPathParams) -> ApiResult<AgentId> {
    Ok(AgentId(params::uuid(path, "agent_id")?))
}

async fn create(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<AgentRequest>,
) -> ApiResult<(StatusCode, Json<AgentCreatedResponse>)> {
    let (agent, key) = state.core.agents().create(&caller, settings(body.required()?)).await?;
    Ok((StatusCode::CREATED, Json(AgentCreatedResponse { agent: views::agent(&agent), api_key: key })))
}

async fn list(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<AgentListResponse>> {
    let agents = state.core.agents().list(&caller).await?;
    Ok(Json(AgentListResponse { agents: agents.iter().map(views::agent).collect() }))
}

async fn me(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<AgentSelfResponse>> {
    Ok(Json(views::agent_self(&state.core.agents().me(&caller).await?)))
}

async fn show(
    State(state): State<AppState>,
    Auth(caller): Auth,
    path: RawPathParams,
) -> ApiResult<Json<AgentResponse>> {
    Ok(Json(views::agent(&state.core.agents().get(&caller, agent_id(&path)?).await?)))
}

async fn update(
    State(state): State<AppState>,
    Auth(caller): Auth,
    path: RawPathParams,
    body: JsonBody<AgentRequest>,
) -> ApiResult<Json<AgentResponse>> {
    let agent = state.core.agents().update(&caller, agent_id(&path)?, settings(body.0.unwrap_or_default())).await?;
    Ok(Json(views::agent(&agent)))
}

async fn remove(State(state): State<AppState>, Auth(caller): Auth, path: RawPathParams) -> ApiResult<StatusCode> {
    state.core.agents().delete(&caller, agent_id(&path)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn rotate_key(
    State(state): State<AppState>,
    Auth(caller): Auth,
    path: RawPathParams,
) -> ApiResult<Json<AgentKeyRotatedResponse>> {
    let (_agent, key) = state.core.agents().rotate_key(&caller, agent_id(&path)?).await?;
    Ok(Json(AgentKeyRotatedResponse { api_key: key }))
}

async fn agent_token(
    State(state): State<AppState>,
    Meta(meta): Meta,
    body: JsonBody<AgentTokenRequest>,
) -> ApiResult<Json<AgentTokenResponse>> {
    let request = body.required()?;
    let key_only = request.agent_id.is_none();
    let issued = state.core.agents().exchange(&meta, &request.api_key, request.agent_id).await?;
    Ok(Json(AgentTokenResponse {
        access_token: issued.token.access_token,
        token_type: "Bearer".to_owned(),
        expires_in: issued.token.expires_in,
        agent_id: key_only.then_some(issued.agent_id.0),
        vault_ids: key_only.then_some(issued.vault_ids),
    }))
}
