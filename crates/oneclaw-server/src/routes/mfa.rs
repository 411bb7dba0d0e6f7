//! `/v1/auth/mfa`: TOTP enrolment, status, turning it off, and completing a sign-in that
//! waits for its second factor.

use crate::error::ApiResult;
use crate::extract::{Auth, JsonBody, Meta};
use crate::state::AppState;
use crate::views;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use oneclaw_core::Error;
use oneclaw_types::SecretString;
use oneclaw_types::auth::TokenResponse;
use serde::Deserialize;
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/mfa/status", get(status))
        .route("/v1/auth/mfa/setup", post(setup))
        .route("/v1/auth/mfa/verify-setup", post(verify_setup))
        .route("/v1/auth/mfa/verify", post(verify))
        .route("/v1/auth/mfa", delete(disable))
}

#[derive(Deserialize)]
struct CodeRequest {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    mfa_token: Option<SecretString>,
}

fn code(request: &CodeRequest) -> Result<&str, Error> {
    request.code.as_deref().filter(|c| !c.trim().is_empty()).ok_or_else(|| Error::invalid_field("code", "is required"))
}

async fn status(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "enabled": state.core.mfa().enabled(&caller).await? })))
}

async fn setup(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<Value>> {
    let enrolment = state.core.mfa().setup(&caller).await?;
    Ok(Json(json!({ "otpauth_uri": enrolment.otpauth_uri.as_str(), "secret": enrolment.secret_base32.as_str() })))
}

async fn verify_setup(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<CodeRequest>,
) -> ApiResult<Json<Value>> {
    let request = body.required()?;
    let codes = state.core.mfa().verify_setup(&caller, code(&request)?).await?;
    let codes: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
    Ok(Json(json!({ "recovery_codes": codes })))
}

async fn verify(
    State(state): State<AppState>,
    Meta(meta): Meta,
    body: JsonBody<CodeRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let request = body.required()?;
    let token = request.mfa_token.as_ref().ok_or_else(|| Error::invalid_field("mfa_token", "is required"))?;
    let issued = state.core.auth().verify_mfa(&meta, token, code(&request)?).await?;
    Ok(Json(views::token(issued)))
}

async fn disable(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<CodeRequest>,
) -> ApiResult<StatusCode> {
    let request = body.required()?;
    state.core.mfa().disable(&caller, code(&request)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
