//! `/v1/secrets/{secret_id}/share`, `/v1/share/{id}` and `/v1/shares/*`.

use super::params;
use crate::error::ApiResult;
use crate::extract::{Auth, JsonBody, MaybeAuth, Meta};
use crate::state::AppState;
use crate::views;
use axum::extract::{RawPathParams, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use oneclaw_core::ids::{SecretId, ShareId};
use oneclaw_core::services::{CreatedShare, NewShare, ShareKey};
use oneclaw_core::tokens::SHARE_LINK_PREFIX;
use oneclaw_types::SecretString;
use oneclaw_types::sharing::{
    AccessShareRequest, CreateShareRequest, ShareListResponse, ShareResponse, SharedSecretResponse,
};

/// Header that may carry a share passphrase instead of the body.
const PASSPHRASE_HEADER: &str = "x-share-passphrase";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/secrets/{secret_id}/share", post(create))
        .route("/v1/share/{share_id}", get(access).delete(revoke))
        .route("/v1/shares/outbound", get(outbound))
        .route("/v1/shares/inbound", get(inbound))
        .route("/v1/shares/{share_id}/accept", post(accept))
        .route("/v1/shares/{share_id}/decline", post(decline))
}

fn share_id(path: &RawPathParams) -> ApiResult<ShareId> {
    Ok(ShareId(params::uuid(path, "share_id")?))
}

/// `/v1/share/{x}` opens a link share by its token (`ocs_…`), any other share by its id.
fn share_key(path: &RawPathParams) -> ApiResult<ShareKey> {
    let text = path.iter().find(|(name, _)| *name == "share_id").map_or("", |(_, text)| text);
    share_key_of(text)
}

fn share_key_of(text: &str) -> ApiResult<ShareKey> {
    if text.starts_with(SHARE_LINK_PREFIX) {
        return Ok(ShareKey::Link(SecretString::from(text)));
    }
    uuid::Uuid::parse_str(text)
        .map(|id| ShareKey::Id(ShareId(id)))
        .map_err(|_| crate::error::ApiError::bad_request("share_id must be a share id or a link token"))
}

async fn create(
    State(state): State<AppState>,
    Auth(caller): Auth,
    headers: HeaderMap,
    path: RawPathParams,
    body: JsonBody<CreateShareRequest>,
) -> ApiResult<(StatusCode, Json<ShareResponse>)> {
    let secret = SecretId(params::uuid(&path, "secret_id")?);
    let share = state.core.shares().create(&caller, secret, new_share(body.required()?)).await?;
    Ok((StatusCode::CREATED, Json(share_response(share, &state.link_base(&headers)))))
}

/// The domain's share request.
pub(crate) fn new_share(request: CreateShareRequest) -> NewShare {
    NewShare {
        recipient_type: request.recipient_type,
        recipient_id: request.recipient_id,
        email: request.email,
        permissions: request.permissions,
        max_access_count: request.max_access_count,
        expires_at: request.expires_at,
        passphrase: request.passphrase,
        ip_allowlist: request.ip_allowlist,
    }
}

/// A created share as the API shows it, its link under `base` (`https://host`). A link
/// share's URL carries its token, the only thing that opens it; this answer is the one place
/// it ever appears.
pub(crate) fn share_response(created: CreatedShare, base: &str) -> ShareResponse {
    let share = created.share;
    let opener = created.link_token.map_or_else(|| share.id.to_string(), |token| token.expose().to_owned());
    ShareResponse {
        id: share.id.0,
        share_url: format!("{base}/v1/share/{opener}"),
        recipient_type: share.recipient_type.as_str().to_owned(),
        recipient_email: share.recipient_email,
        expires_at: share.expires_at,
        max_access_count: share.max_access_count,
    }
}

async fn access(
    State(state): State<AppState>,
    Meta(meta): Meta,
    MaybeAuth(caller): MaybeAuth,
    headers: HeaderMap,
    path: RawPathParams,
    body: JsonBody<AccessShareRequest>,
) -> ApiResult<Json<SharedSecretResponse>> {
    let key = share_key(&path)?;
    let passphrase = body
        .0
        .and_then(|b| b.passphrase)
        .or_else(|| headers.get(PASSPHRASE_HEADER).and_then(|v| v.to_str().ok()).map(SecretString::from));
    let opened = state.core.shares().access(&meta, caller.as_ref(), key, passphrase.as_ref()).await?;
    Ok(Json(SharedSecretResponse {
        id: opened.share.id.0,
        path: opened.version.path,
        secret_type: opened.version.secret_type,
        value: opened.value,
        access_count: opened.share.access_count,
        max_access_count: opened.share.max_access_count,
    }))
}

async fn revoke(State(state): State<AppState>, Auth(caller): Auth, path: RawPathParams) -> ApiResult<StatusCode> {
    state.core.shares().revoke(&caller, share_id(&path)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn outbound(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<ShareListResponse>> {
    let now = state.core.deps().clock.now();
    let shares = state.core.shares().outbound(&caller).await?;
    Ok(Json(ShareListResponse { shares: shares.iter().map(|s| views::share_item(s, now)).collect() }))
}

async fn inbound(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<ShareListResponse>> {
    let now = state.core.deps().clock.now();
    let shares = state.core.shares().inbound(&caller).await?;
    Ok(Json(ShareListResponse { shares: shares.iter().map(|s| views::share_item(s, now)).collect() }))
}

async fn accept(State(state): State<AppState>, Auth(caller): Auth, path: RawPathParams) -> ApiResult<StatusCode> {
    state.core.shares().respond(&caller, share_id(&path)?, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn decline(State(state): State<AppState>, Auth(caller): Auth, path: RawPathParams) -> ApiResult<StatusCode> {
    state.core.shares().respond(&caller, share_id(&path)?, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod fuzz_tests {
    //! The share path segment comes from anyone: classifying it never panics, and only a
    //! well-formed id or a link-token-shaped string gets through. docs/FUZZING.md.
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn fuzz_share_openers_never_panic(text in prop_oneof!["\\PC{0,80}", "ocs_[A-Za-z0-9_\\-]{0,60}", "[0-9a-f\\-]{30,40}"]) {
            match share_key_of(&text) {
                Ok(ShareKey::Link(token)) => prop_assert!(token.expose().starts_with("ocs_")),
                Ok(ShareKey::Id(id)) => prop_assert_eq!(uuid::Uuid::parse_str(&text).ok(), Some(id.0)),
                Err(_) => prop_assert!(!text.starts_with("ocs_") && uuid::Uuid::parse_str(&text).is_err()),
            }
        }
    }
}
