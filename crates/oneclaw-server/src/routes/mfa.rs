//! `/v1/auth/mfa`: TOTP enrolment, status, turning it off, and completing a sign-in that
//! waits for its second factor; `/v1/auth/google`: sign-in with an OpenID Connect ID token.

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
use oneclaw_types::account::{LoginResponse, MfaSetupResponse, MfaStatusResponse, MfaVerifySetupResponse};
use oneclaw_types::auth::TokenResponse;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/mfa/status", get(status))
        .route("/v1/auth/mfa/setup", post(setup))
        .route("/v1/auth/mfa/verify-setup", post(verify_setup))
        .route("/v1/auth/mfa/verify", post(verify))
        .route("/v1/auth/mfa", delete(disable))
        .route("/v1/auth/google", post(google))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct GoogleRequest {
    #[serde(default)]
    id_token: Option<String>,
}

/// Signs in with an ID token from the configured issuer (Google by default), checked against
/// the issuer's published keys and our client id.
async fn google(
    State(state): State<AppState>,
    Meta(meta): Meta,
    body: JsonBody<GoogleRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let oidc = state
        .oidc
        .as_ref()
        .ok_or_else(|| Error::NotFound("Sign-in with an identity provider is not set up on this server".to_owned()))?;
    let request = body.required()?;
    let id_token = request.id_token.ok_or_else(|| Error::invalid_field("id_token", "is required"))?;
    let identity = oidc.verify(&id_token, None).await?;
    Ok(Json(match state.core.auth().sign_in_federated(&meta, &identity.email, "google").await? {
        oneclaw_core::services::LoginOutcome::Signed(issued) => LoginResponse::signed_in(views::token(issued)),
        oneclaw_core::services::LoginOutcome::MfaRequired(challenge) => LoginResponse::mfa_challenge(challenge),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = MfaCodeRequest)]
pub(crate) struct CodeRequest {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    mfa_token: Option<SecretString>,
}

fn code(request: &CodeRequest) -> Result<&str, Error> {
    request.code.as_deref().filter(|c| !c.trim().is_empty()).ok_or_else(|| Error::invalid_field("code", "is required"))
}

async fn status(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<MfaStatusResponse>> {
    Ok(Json(MfaStatusResponse { enabled: state.core.mfa().enabled(&caller).await? }))
}

async fn setup(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<CodeRequest>,
) -> ApiResult<Json<MfaSetupResponse>> {
    // A code is needed only to replace a second factor that is on.
    let code = body.0.and_then(|request| request.code.clone());
    let enrolment = state.core.mfa().setup(&caller, code.as_deref()).await?;
    Ok(Json(MfaSetupResponse {
        otpauth_uri: SecretString::from(enrolment.otpauth_uri.as_str().to_owned()),
        secret: SecretString::from(enrolment.secret_base32.as_str().to_owned()),
    }))
}

async fn verify_setup(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<CodeRequest>,
) -> ApiResult<Json<MfaVerifySetupResponse>> {
    let request = body.required()?;
    let codes = state.core.mfa().verify_setup(&caller, code(&request)?).await?;
    let recovery_codes = codes.iter().map(|c| SecretString::from(c.as_str().to_owned())).collect();
    Ok(Json(MfaVerifySetupResponse { recovery_codes }))
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
