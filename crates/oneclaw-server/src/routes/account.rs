//! `/v1/auth/*` for an account's email: verification, forgotten passwords, a federated
//! account's first password, and moving to a new address.

use crate::error::ApiResult;
use crate::extract::{Auth, JsonBody, Meta};
use crate::identity::Identity;
use crate::state::AppState;
use crate::views;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use oneclaw_core::Error;
use oneclaw_core::services::LoginOutcome;
use oneclaw_types::SecretString;
use oneclaw_types::account::{
    EmailChangeStartedResponse, EmailChangedResponse, ForgotPasswordResponse, LoginResponse, MessageResponse,
    VerifyEmailResponse,
};
use serde::Deserialize;

fn signed(sign_in: LoginResponse) -> VerifyEmailResponse {
    VerifyEmailResponse { sign_in, ..VerifyEmailResponse::default() }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/verify-email", post(verify_email))
        .route("/v1/auth/resend-verification", post(resend_verification))
        .route("/v1/auth/forgot-password", post(forgot_password))
        .route("/v1/auth/reset-password", post(reset_password))
        .route("/v1/auth/set-password", post(set_password))
        .route("/v1/auth/change-email", post(change_email))
        .route("/v1/auth/verify-email-change", post(verify_email_change))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct TokenRequest {
    token: Option<SecretString>,
    /// Without a session: the account's password, which with the mailed token confirms the
    /// address and signs in.
    #[serde(default)]
    password: Option<SecretString>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct EmailRequest {
    email: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct ResetRequest {
    token: Option<SecretString>,
    new_password: Option<SecretString>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct SetPasswordRequest {
    password: Option<SecretString>,
    password_confirm: Option<SecretString>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct ChangeEmailRequest {
    new_email: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct CodeRequest {
    code: Option<String>,
}

fn required<T>(value: Option<T>, field: &str) -> ApiResult<T> {
    value.ok_or_else(|| Error::invalid_field(field, "is required").into())
}

/// Needs the account's own session, or its password, besides the mailed token: the mailbox
/// alone must not confirm an account someone else made. With the session it answers a message;
/// with the password (a new account, which cannot sign in before its address is confirmed) it
/// signs in, answering a TokenResponse as 1claw does (or the TOTP challenge).
async fn verify_email(
    State(state): State<AppState>,
    Meta(meta): Meta,
    axum::Extension(identity): axum::Extension<Identity>,
    body: JsonBody<TokenRequest>,
) -> ApiResult<Json<VerifyEmailResponse>> {
    let request = body.required()?;
    let token = required(request.token, "token")?;
    match (identity, request.password) {
        (Identity::Caller(caller), _) if !caller.principal.is_scoped_user() => {
            state.core.accounts().verify_email(&caller, &token).await?;
            let confirmed = VerifyEmailResponse {
                message: Some("Email verified".to_owned()),
                email_verified: Some(true),
                ..VerifyEmailResponse::default()
            };
            Ok(Json(confirmed))
        }
        (Identity::Refused(refused), None) => Err(refused),
        (_, Some(password)) => match state.core.auth().verify_and_sign_in(&meta, &token, &password).await? {
            LoginOutcome::Signed(issued) => Ok(Json(signed(LoginResponse::signed_in(views::token(issued))))),
            LoginOutcome::MfaRequired(challenge) => Ok(Json(signed(LoginResponse::mfa_challenge(challenge)))),
        },
        (_, None) => Err(Error::Unauthenticated(
            "Send the account's password with the token (or sign in first): the mailed link alone confirms nothing"
                .to_owned(),
        )
        .into()),
    }
}

async fn resend_verification(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<StatusCode> {
    state.core.accounts().resend_verification(&caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The same answer whatever the address (1claw's `status` is always `email_sent` here: saying
/// `no_account` would tell who has an account).
async fn forgot_password(
    State(state): State<AppState>,
    Meta(meta): Meta,
    body: JsonBody<EmailRequest>,
) -> ApiResult<Json<ForgotPasswordResponse>> {
    let email = required(body.required()?.email, "email")?;
    state.core.accounts().forgot_password(&meta, &email).await?;
    Ok(Json(ForgotPasswordResponse {
        message: "If an account with a password uses this address, a reset link is on its way; it works for one hour."
            .to_owned(),
        status: "email_sent".to_owned(),
    }))
}

async fn reset_password(
    State(state): State<AppState>,
    Meta(meta): Meta,
    body: JsonBody<ResetRequest>,
) -> ApiResult<Json<MessageResponse>> {
    let request = body.required()?;
    let token = required(request.token, "token")?;
    let password = required(request.new_password, "new_password")?;
    state.core.accounts().reset_password(&meta, &token, &password).await?;
    let message = "Password updated; every session was signed out. Sign in with the new password.";
    Ok(Json(MessageResponse { message: message.to_owned() }))
}

async fn set_password(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<SetPasswordRequest>,
) -> ApiResult<Json<MessageResponse>> {
    let request = body.required()?;
    let password = required(request.password, "password")?;
    let confirm = required(request.password_confirm, "password_confirm")?;
    state.core.accounts().set_password(&caller, &password, &confirm).await?;
    Ok(Json(MessageResponse { message: "Password set".to_owned() }))
}

async fn change_email(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<ChangeEmailRequest>,
) -> ApiResult<Json<EmailChangeStartedResponse>> {
    let new_email = required(body.required()?.new_email, "new_email")?;
    let (new_email, expires_in_seconds) = state.core.accounts().change_email(&caller, &new_email).await?;
    Ok(Json(EmailChangeStartedResponse {
        message: "A code was sent to the new address; confirm it with /v1/auth/verify-email-change".to_owned(),
        new_email,
        expires_in_seconds,
    }))
}

async fn verify_email_change(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<CodeRequest>,
) -> ApiResult<Json<EmailChangedResponse>> {
    let code = required(body.required()?.code, "code")?;
    let email = state.core.accounts().verify_email_change(&caller, &code).await?;
    Ok(Json(EmailChangedResponse { message: "Email updated".to_owned(), email }))
}
