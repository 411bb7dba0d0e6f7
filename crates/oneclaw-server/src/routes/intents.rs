//! `/v1/agents/{agent_id}/bindings`, `/execute` and `/executions`: execution intents as 1claw's
//! spec has them (see `oneclaw_core::services::{bindings, execute}`). A binding's credential is
//! taken from the request and never answered.

use super::params;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, JsonBody};
use crate::state::AppState;
use crate::views;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, RawPathParams, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use oneclaw_core::ids::{AgentId, VaultId};
use oneclaw_core::services::{BindingDraft, CredentialInput};
use oneclaw_types::SecretString;
use oneclaw_types::intents::{
    BindingListResponse, BindingRequest, BindingResponse, ExecuteRequest, ExecuteResponse, ExecutionListResponse,
    RotateCredentialRequest, TestBindingRequest, TestBindingResponse,
};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/agents/{agent_id}/bindings", get(list).post(create))
        .route("/v1/agents/{agent_id}/bindings/{binding_id}", get(show).patch(update).delete(remove))
        .route("/v1/agents/{agent_id}/bindings/{binding_id}/test", post(test))
        .route("/v1/agents/{agent_id}/bindings/{binding_id}/rotate-credential", post(rotate_credential))
        .route("/v1/agents/{agent_id}/execute", post(execute))
        .route("/v1/agents/{agent_id}/executions", get(executions))
}

/// The credential text a request carries: a string, or an object holding it under `value`,
/// `token`, `api_key`, `key`, `password` or `secret` (or as its only string). Errors never
/// quote it.
fn credential_text(value: &Value, field: &str) -> ApiResult<SecretString> {
    const NAMES: &[&str] = &["value", "token", "api_key", "key", "password", "secret"];
    let text = match value {
        Value::String(text) => Some(text.clone()),
        Value::Object(map) => {
            NAMES.iter().find_map(|name| map.get(*name).and_then(Value::as_str)).map(str::to_owned).or_else(|| {
                let strings: Vec<&str> = map.values().filter_map(Value::as_str).collect();
                (strings.len() == 1).then(|| strings[0].to_owned())
            })
        }
        _ => None,
    };
    text.map(SecretString::new).ok_or_else(|| {
        ApiError::bad_request(format!(
            "{field}: give the credential as a string, or an object with `value` (or token, api_key, password)"
        ))
    })
}

fn vault_id(text: Option<&str>, field: &str) -> ApiResult<Option<VaultId>> {
    text.filter(|t| !t.is_empty())
        .map(|t| Uuid::parse_str(t).map(VaultId).map_err(|_| ApiError::bad_request(format!("{field} must be a UUID"))))
        .transpose()
}

fn draft(request: BindingRequest) -> ApiResult<BindingDraft> {
    let mut vault = vault_id(request.vault_id.as_deref(), "vault_id")?;
    let credential = match (request.credential, request.credential_source) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request("Give either credential or credential_source, not both"));
        }
        (Some(legacy), None) => Some(CredentialInput::Inline(credential_text(&legacy, "credential")?)),
        (None, Some(source)) => {
            let source_vault = vault_id(source.vault_id.as_deref(), "credential_source.vault_id")?;
            match source.kind.as_str() {
                "inline" => {
                    vault = source_vault.or(vault);
                    let value =
                        source.value.ok_or_else(|| ApiError::bad_request("credential_source.value is required"))?;
                    Some(CredentialInput::Inline(credential_text(&value, "credential_source.value")?))
                }
                "vault_ref" => {
                    let vault_id =
                        source_vault.ok_or_else(|| ApiError::bad_request("credential_source.vault_id is required"))?;
                    let path = source.path.filter(|p| !p.is_empty());
                    let path = path.ok_or_else(|| ApiError::bad_request("credential_source.path is required"))?;
                    Some(CredentialInput::VaultRef { vault_id, path })
                }
                _ => return Err(ApiError::bad_request("credential_source.type must be inline or vault_ref")),
            }
        }
        (None, None) => None,
    };
    Ok(BindingDraft {
        name: request.name,
        binding_type: request.binding_type,
        config: request.config,
        guardrails: request.guardrails,
        is_active: request.is_active,
        vault_id: vault,
        credential,
    })
}

fn agent(path: &RawPathParams) -> ApiResult<AgentId> {
    params::uuid(path, "agent_id").map(AgentId)
}

fn binding_id(path: &RawPathParams) -> ApiResult<Uuid> {
    params::uuid(path, "binding_id")
}

async fn create(
    State(state): State<AppState>,
    Auth(caller): Auth,
    path: RawPathParams,
    body: JsonBody<BindingRequest>,
) -> ApiResult<(StatusCode, Json<BindingResponse>)> {
    let made = state.core.bindings().create(&caller, agent(&path)?, draft(body.required()?)?).await?;
    Ok((StatusCode::CREATED, Json(views::binding(&made))))
}

async fn list(
    State(state): State<AppState>,
    Auth(caller): Auth,
    path: RawPathParams,
) -> ApiResult<Json<BindingListResponse>> {
    let found = state.core.bindings().list(&caller, agent(&path)?).await?;
    Ok(Json(BindingListResponse { bindings: found.iter().map(views::binding).collect() }))
}

async fn show(
    State(state): State<AppState>,
    Auth(caller): Auth,
    path: RawPathParams,
) -> ApiResult<Json<BindingResponse>> {
    Ok(Json(views::binding(&state.core.bindings().get(&caller, agent(&path)?, binding_id(&path)?).await?)))
}

async fn update(
    State(state): State<AppState>,
    Auth(caller): Auth,
    path: RawPathParams,
    body: JsonBody<BindingRequest>,
) -> ApiResult<Json<BindingResponse>> {
    let request = body.required()?;
    if request.name.is_some() || request.binding_type.is_some() {
        return Err(ApiError::bad_request("A binding's name and type do not change: make a new binding"));
    }
    let changed = state.core.bindings().update(&caller, agent(&path)?, binding_id(&path)?, draft(request)?).await?;
    Ok(Json(views::binding(&changed)))
}

async fn remove(State(state): State<AppState>, Auth(caller): Auth, path: RawPathParams) -> ApiResult<StatusCode> {
    state.core.bindings().delete(&caller, agent(&path)?, binding_id(&path)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn rotate_credential(
    State(state): State<AppState>,
    Auth(caller): Auth,
    path: RawPathParams,
    body: JsonBody<RotateCredentialRequest>,
) -> ApiResult<Json<BindingResponse>> {
    let credential = credential_text(&body.required()?.credential, "credential")?;
    let rotated =
        state.core.bindings().rotate_credential(&caller, agent(&path)?, binding_id(&path)?, credential).await?;
    Ok(Json(views::binding(&rotated)))
}

async fn test(
    State(state): State<AppState>,
    Auth(caller): Auth,
    path: RawPathParams,
    body: JsonBody<TestBindingRequest>,
) -> ApiResult<Json<TestBindingResponse>> {
    let timeout = body.0.unwrap_or_default().timeout_ms;
    let tested = state.core.executions().test(&caller, agent(&path)?, binding_id(&path)?, timeout).await?;
    Ok(Json(TestBindingResponse { success: tested.success, latency_ms: tested.latency_ms, error: tested.error }))
}

async fn execute(
    State(state): State<AppState>,
    Auth(caller): Auth,
    path: RawPathParams,
    body: JsonBody<ExecuteRequest>,
) -> ApiResult<Json<ExecuteResponse>> {
    let request = body.required()?;
    let done = state.core.executions().execute(&caller, agent(&path)?, views::execute_request(request)).await?;
    Ok(Json(views::executed(done)))
}

#[derive(Deserialize)]
struct Page {
    limit: Option<String>,
    offset: Option<String>,
}

async fn executions(
    State(state): State<AppState>,
    Auth(caller): Auth,
    path: RawPathParams,
    query: Result<Query<Page>, QueryRejection>,
) -> ApiResult<Json<ExecutionListResponse>> {
    let Query(page) = query.map_err(|_| ApiError::bad_request("The query string is malformed"))?;
    let limit = params::int("limit", page.limit.as_deref(), 50)?;
    let offset = params::int("offset", page.offset.as_deref(), 0)?;
    let found = state.core.executions().list(&caller, agent(&path)?, limit, offset).await?;
    Ok(Json(ExecutionListResponse { events: found.iter().map(views::execution).collect() }))
}
