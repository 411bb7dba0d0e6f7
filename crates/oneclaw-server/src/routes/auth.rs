//! `/v1/auth/*`: sign-up, sign-in, refresh, sign-out, profile, password, API-key exchange.

use crate::error::ApiResult;
use crate::extract::{Auth, JsonBody, Meta, SecretAuth};
use crate::identity::Identity;
use crate::state::AppState;
use crate::views;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use oneclaw_core::services::LoginOutcome;
use oneclaw_core::services::{NewAccount, SignupOutcome};
use oneclaw_types::account::LoginResponse;
use oneclaw_types::auth::{
    ApiKeyTokenRequest, ChangePasswordRequest, LoginRequest, RefreshRequest, SignupRequest, SignupResponse,
    TokenResponse, UpdateMeRequest, UserProfileResponse,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/signup", post(signup))
        .route("/v1/auth/token", post(login).delete(sign_out))
        .route("/v1/auth/refresh", post(refresh))
        .route("/v1/auth/me", get(me).patch(update_me))
        .route("/v1/auth/change-password", post(change_password))
        .route("/v1/auth/api-key-token", post(api_key_token))
}

/// What sign-up answers when mail went out, for a new address and a taken one alike.
pub const CHECK_MAIL: &str = "Check your mail: we sent a message to this address. A new account confirms its address \
     with the link in it (and its password), which signs it in.";

async fn signup(
    State(state): State<AppState>,
    Meta(meta): Meta,
    body: JsonBody<SignupRequest>,
) -> ApiResult<Json<SignupResponse>> {
    let request = body.required()?;
    let account = NewAccount {
        email: request.email,
        password: request.password,
        display_name: request.display_name,
        invite_token: request.invite_token,
    };
    // 1claw's two answers: signed in at once, or pending verification (mail went out).
    Ok(Json(match state.core.auth().signup(&meta, account).await? {
        SignupOutcome::SignedIn(user, token) => SignupResponse {
            message: "Account created".to_owned(),
            email: user.email,
            access_token: Some(token.access_token),
            token_type: Some("Bearer".to_owned()),
        },
        SignupOutcome::CheckMail { email } => {
            SignupResponse { message: CHECK_MAIL.to_owned(), email, access_token: None, token_type: None }
        }
    }))
}

async fn login(
    State(state): State<AppState>,
    Meta(meta): Meta,
    body: JsonBody<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let request = body.required()?;
    Ok(Json(match state.core.auth().login(&meta, &request.email, &request.password).await? {
        LoginOutcome::Signed(issued) => LoginResponse::signed_in(views::token(issued)),
        // With TOTP on: no token yet, a challenge for POST /v1/auth/mfa/verify.
        LoginOutcome::MfaRequired(challenge) => LoginResponse::mfa_challenge(challenge),
    }))
}

async fn refresh(
    State(state): State<AppState>,
    Meta(meta): Meta,
    axum::Extension(identity): axum::Extension<Identity>,
    body: JsonBody<RefreshRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let refresh_token = body.0.and_then(|request| request.refresh_token);
    // With a refresh token in the body the bearer is not needed, and an expired one (the usual
    // reason to refresh) must not stand in the way.
    let bearer = match (&refresh_token, identity) {
        (None, Identity::Caller(caller)) => Some(caller.principal),
        (None, Identity::Refused(refused)) => return Err(refused),
        _ => None,
    };
    let issued = state.core.auth().refresh(&meta, refresh_token.as_ref(), bearer.as_ref()).await?;
    Ok(Json(views::token(issued)))
}

async fn sign_out(State(state): State<AppState>, SecretAuth(caller): SecretAuth) -> ApiResult<StatusCode> {
    state.core.auth().sign_out(&caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<UserProfileResponse>> {
    let user = state.core.auth().me(&caller).await?;
    Ok(Json(views::user_profile(&user)))
}

async fn update_me(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<UpdateMeRequest>,
) -> ApiResult<Json<UserProfileResponse>> {
    let request = body.0.unwrap_or_default();
    let user = state.core.auth().update_me(&caller, request.display_name.as_deref(), request.marketing_emails).await?;
    Ok(Json(views::user_profile(&user)))
}

async fn change_password(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    let request = body.required()?;
    state.core.auth().change_password(&caller, &request.current_password, &request.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn api_key_token(
    State(state): State<AppState>,
    Meta(meta): Meta,
    body: JsonBody<ApiKeyTokenRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let request = body.required()?;
    // Clients without an agent id send agent keys here too; they get an agent token.
    let issued = if request.api_key.expose().starts_with(oneclaw_core::tokens::AGENT_API_KEY_PREFIX) {
        state.core.agents().exchange(&meta, &request.api_key, None).await?.token
    } else {
        state.core.auth().api_key_token(&meta, &request.api_key).await?
    };
    Ok(Json(views::token(issued)))
}
