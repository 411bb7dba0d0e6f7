//! `/v1/auth/device/*`: the device flow `oneclaw login` signs in with (see
//! `oneclaw_core::services::device_login`).

use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, JsonBody, Meta};
use crate::state::AppState;
use axum::extract::{RawPathParams, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use oneclaw_core::model::DeviceCode;
use oneclaw_core::services::DevicePoll;
use oneclaw_types::auth::{
    DeviceApproveRequest, DeviceCodeRequest, DeviceCodeResponse, DeviceCodeStatusResponse, DeviceSessionResponse,
    DeviceTokenRequest, DeviceTokenResponse,
};

/// RFC 8628's grant type; the short form is accepted too.
const GRANT_TYPES: [&str; 2] = ["urn:ietf:params:oauth:grant-type:device_code", "device_code"];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/device/code", post(start))
        .route("/v1/auth/device/token", post(poll))
        .route("/v1/auth/device/session", post(poll_for_session))
        .route("/v1/auth/device/code/{user_code}", get(status))
        .route("/v1/auth/device/approve", post(approve))
        .route("/v1/auth/device/deny", post(deny))
}

pub(crate) fn status_response(code: DeviceCode) -> DeviceCodeStatusResponse {
    DeviceCodeStatusResponse {
        user_code: code.user_code,
        client_id: code.client_id,
        status: code.status.as_str().to_owned(),
        expires_at: code.expires_at,
    }
}

async fn start(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: JsonBody<DeviceCodeRequest>,
) -> ApiResult<Json<DeviceCodeResponse>> {
    let request = body.required()?;
    let started = state.core.auth().device_start(&meta, &request.client_id, &request.email).await?;
    let page = format!("{}/device", state.link_base(&headers));
    Ok(Json(DeviceCodeResponse {
        device_code: started.device_code,
        user_code: started.user_code,
        verification_uri: page,
        expires_in: started.expires_in,
        interval: started.interval,
    }))
}

/// 1claw's poll: the session's access token, without the refresh token its schema lacks.
async fn poll(
    state: State<AppState>,
    meta: Meta,
    body: JsonBody<DeviceTokenRequest>,
) -> ApiResult<Json<DeviceTokenResponse>> {
    let Json(answer) = poll_for_session(state, meta, body).await?;
    Ok(Json(answer.token))
}

/// Our poll (`oneclaw login`): the same, with the refresh token that keeps the session.
async fn poll_for_session(
    State(state): State<AppState>,
    Meta(meta): Meta,
    body: JsonBody<DeviceTokenRequest>,
) -> ApiResult<Json<DeviceSessionResponse>> {
    let request = body.required()?;
    if !GRANT_TYPES.contains(&request.grant_type.as_str()) {
        return Err(ApiError::bad_request("grant_type must be urn:ietf:params:oauth:grant-type:device_code"));
    }
    let error = |code: &str| {
        let token = DeviceTokenResponse { error: Some(code.to_owned()), ..DeviceTokenResponse::default() };
        Json(DeviceSessionResponse { token, refresh_token: None })
    };
    Ok(match state.core.auth().device_poll(&meta, &request.device_code).await? {
        DevicePoll::Pending => error("authorization_pending"),
        DevicePoll::SlowDown => error("slow_down"),
        DevicePoll::Denied => error("access_denied"),
        DevicePoll::Expired => error("expired_token"),
        DevicePoll::Issued { token, user } => Json(DeviceSessionResponse {
            token: DeviceTokenResponse {
                access_token: Some(token.access_token),
                token_type: Some("Bearer".to_owned()),
                expires_in: Some(token.expires_in),
                error: None,
                email: Some(user.email.clone()),
                user_id: Some(user.id.0),
                org_id: Some(user.org_id.0),
            },
            refresh_token: token.refresh_token,
        }),
    })
}

async fn status(
    State(state): State<AppState>,
    Meta(meta): Meta,
    path: RawPathParams,
) -> ApiResult<Json<DeviceCodeStatusResponse>> {
    let user_code = super::params::raw(&path, "user_code")?;
    Ok(Json(status_response(state.core.auth().device_code(&meta, user_code).await?)))
}

async fn approve(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<DeviceApproveRequest>,
) -> ApiResult<Json<DeviceCodeStatusResponse>> {
    let request = body.required()?;
    Ok(Json(status_response(state.core.auth().device_decide(&caller, &request.user_code, true).await?)))
}

async fn deny(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<DeviceApproveRequest>,
) -> ApiResult<Json<DeviceCodeStatusResponse>> {
    let request = body.required()?;
    Ok(Json(status_response(state.core.auth().device_decide(&caller, &request.user_code, false).await?)))
}
