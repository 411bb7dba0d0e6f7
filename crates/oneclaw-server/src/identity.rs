//! One door for every request: where it came from (`RequestMeta`: the client address through
//! the trusted proxies, the user agent, the surface, the request id) and who is asking
//! (`Identity`), decided once, before any other layer or handler, and put in the request's
//! extensions. The REST extractors, the metering layer, `/mcp` admission and the dashboard's
//! session read them; nothing verifies a token a second time.
//!
//! The credential depends on the surface: the REST API takes `Authorization: Bearer` (a JWT);
//! `/mcp` takes a bearer JWT or an `ocv_` agent key (exchanged here, and the token reused for at
//! most `CACHED_TOKEN_SECS`, or exchanged anew when refused as unauthenticated); the dashboard
//! takes its access cookie only, never a bearer, and the REST API never a cookie (a cookie
//! rides along on cross-site requests).

use crate::dashboard::session::ACCESS_COOKIE;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::Request;
use axum::http::header::{AUTHORIZATION, USER_AGENT};
use axum::http::{HeaderMap, StatusCode};
use oneclaw_core::principal::{Caller, RequestMeta, Surface};
use oneclaw_types::SecretString;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

const MAX_USER_AGENT_CHARS: usize = 256;
const AGENT_KEY_PREFIX: &str = "ocv_";
/// More cached agent tokens than this and the cache starts over.
const MAX_CACHED_TOKENS: usize = 10_000;
/// Longest a token exchanged for an `ocv_` key is reused (seconds): what the agent may do
/// (its scopes, a policy granted since) is what it was at most this long ago. Each exchange
/// is a write and an audit record, so not much shorter; a revoked token is not waited out
/// (see `caller`).
const CACHED_TOKEN_SECS: i64 = 300;

/// The header through which `oneclaw mcp` marks its REST calls as MCP calls.
pub use oneclaw_types::surface::SURFACE_HEADER;

/// Who is asking.
#[derive(Debug, Clone)]
pub enum Identity {
    /// No credential was presented.
    Anonymous,
    /// A credential that checked out.
    Caller(Box<Caller>),
    /// A credential that did not (malformed, forged, expired, revoked, or an IP rule refused):
    /// what to answer to a route that needs a caller. Public routes ignore it.
    Refused(ApiError),
}

/// An agent token and when (unix seconds) to stop using it.
type CachedToken = (SecretString, i64);

/// A cached token's key: the keyed digest of the `ocv_` key (the key itself is never kept)
/// and the `X-Agent-ID` it came with, so a mismatched id is checked by an exchange every time.
type CachedTokenKey = (Vec<u8>, Option<Uuid>);

/// The layer's state: the core, and agent tokens issued for `ocv_` keys (`CachedTokenKey`).
#[derive(Clone)]
pub struct Identify {
    state: AppState,
    agent_tokens: Arc<Mutex<HashMap<CachedTokenKey, CachedToken>>>,
    time_limit: std::time::Duration,
}

impl Identify {
    pub fn new(state: AppState, time_limit: std::time::Duration) -> Self {
        Self { state, agent_tokens: Arc::new(Mutex::new(HashMap::new())), time_limit }
    }

    async fn identify(&self, headers: &HeaderMap, meta: &RequestMeta) -> Identity {
        let token = match credential(headers, meta.surface) {
            Ok(None) => return Identity::Anonymous,
            Ok(Some(token)) => token,
            Err(refused) => return Identity::Refused(refused),
        };
        let checked = tokio::time::timeout(self.time_limit, self.caller(&token, headers, meta)).await;
        match checked {
            Ok(Ok(caller)) => Identity::Caller(Box::new(caller)),
            Ok(Err(refused)) => Identity::Refused(refused),
            Err(_) => Identity::Refused(ApiError::from(oneclaw_core::Error::Unavailable(
                "Checking the credential took too long; try again".to_owned(),
            ))),
        }
    }

    async fn caller(&self, token: &str, headers: &HeaderMap, meta: &RequestMeta) -> Result<Caller, ApiError> {
        let auth = self.state.core.auth();
        if meta.surface == Surface::Mcp && token.starts_with(AGENT_KEY_PREFIX) {
            let agent_id = header(headers, "x-agent-id")
                .map(|id| id.parse().map_err(|_| unauthenticated("X-Agent-ID is not a UUID")))
                .transpose()?;
            let (exchanged, cached) = self.token_for_key(token, agent_id, meta).await?;
            return match (auth.authenticate(exchanged.expose(), meta.clone()).await, cached) {
                // A token cached before its agent's tokens were revoked (the agent disabled and
                // enabled again, its scopes changed): the key may still be good, so it is
                // exchanged again rather than refused until the cached token ran out. Only
                // then: an IP rule's refusal (recorded by `authenticate`) or an outage must not
                // turn into an exchange per request.
                (Err(oneclaw_core::Error::Unauthenticated(_)), Some(cache_key)) => {
                    self.forget_token(&cache_key);
                    let (fresh, _) = self.token_for_key(token, agent_id, meta).await?;
                    Ok(auth.authenticate(fresh.expose(), meta.clone()).await?)
                }
                (checked, _) => Ok(checked?),
            };
        }
        Ok(auth.authenticate(token, meta.clone()).await?)
    }

    /// A token for the agent key: the one cached for it (with its place in the cache, to
    /// forget it if it is refused) or a fresh exchange (`None`).
    async fn token_for_key(
        &self,
        key: &str,
        agent_id: Option<Uuid>,
        meta: &RequestMeta,
    ) -> Result<(SecretString, Option<CachedTokenKey>), ApiError> {
        let core = &self.state.core;
        let cache_key = (core.deps().hasher.digest_credential(key), agent_id);
        let now = core.deps().clock.now().unix_timestamp();
        if let Ok(tokens) = self.agent_tokens.lock()
            && let Some((token, renew_at)) = tokens.get(&cache_key)
            && now < *renew_at
        {
            return Ok((token.clone(), Some(cache_key)));
        }
        let issued = core.agents().exchange(meta, &SecretString::new(key.to_owned()), agent_id).await?;
        let token = issued.token.access_token;
        let renew_at = now + (issued.token.expires_in - 60).clamp(0, CACHED_TOKEN_SECS);
        if let Ok(mut tokens) = self.agent_tokens.lock() {
            if tokens.len() >= MAX_CACHED_TOKENS {
                tokens.clear();
            }
            tokens.insert(cache_key, (token.clone(), renew_at));
        }
        Ok((token, None))
    }

    /// Drops a cached token that was refused.
    fn forget_token(&self, cache_key: &CachedTokenKey) {
        if let Ok(mut tokens) = self.agent_tokens.lock() {
            tokens.remove(cache_key);
        }
    }
}

/// Who is asking, put in the request's extensions once for every layer and handler inside
/// (the outermost layer, `request_context::assign`, calls it after `proxy::attach_client`).
pub async fn attach_identity(layer: &Identify, request: &mut Request) {
    let meta = request_meta(request);
    let identity = layer.identify(request.headers(), &meta).await;
    request.extensions_mut().insert(meta);
    request.extensions_mut().insert(identity);
}

/// Where the request came from. The surface follows from the path; `oneclaw mcp` (stdio)
/// reaches the server through the REST API and says so with `X-Oneclaw-Surface: mcp` (the
/// client commands with `cli`), so its
/// calls are recorded as MCP calls (a label the client asserts, like the user agent: it grants
/// nothing).
fn request_meta(request: &Request) -> RequestMeta {
    let path = request.uri().path();
    let surface = if path == "/mcp" || path.starts_with("/mcp/") {
        Surface::Mcp
    } else if path == "/v1" || path.starts_with("/v1/") || path.starts_with("/.well-known/") {
        match header(request.headers(), SURFACE_HEADER) {
            Some(claimed) if claimed.eq_ignore_ascii_case("mcp") => Surface::Mcp,
            Some(claimed) if claimed.eq_ignore_ascii_case("cli") => Surface::Cli,
            _ => Surface::Api,
        }
    } else {
        Surface::Dashboard
    };
    RequestMeta {
        ip: crate::proxy::client_ip(request.extensions()),
        user_agent: header(request.headers(), USER_AGENT.as_str())
            .map(|agent| agent.chars().take(MAX_USER_AGENT_CHARS).collect()),
        surface,
        request_id: request.extensions().get::<crate::request_context::RequestId>().map(|id| id.0.clone()),
    }
}

/// The credential a request presents on its surface, if any.
fn credential(headers: &HeaderMap, surface: Surface) -> Result<Option<String>, ApiError> {
    if surface == Surface::Dashboard {
        let jar = axum_extra::extract::cookie::CookieJar::from_headers(headers);
        return Ok(jar.get(ACCESS_COOKIE).map(|cookie| cookie.value().to_owned()));
    }
    Ok(bearer_token(headers)?.map(str::to_owned))
}

/// The bearer token of a request, if it has one.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(AUTHORIZATION) else { return Ok(None) };
    let text = value.to_str().map_err(|_| unauthenticated("The Authorization header is not valid text"))?;
    match text.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(Some(token.trim()))
        }
        _ => Err(unauthenticated("The Authorization header must be 'Bearer <token>'")),
    }
}

pub(crate) fn unauthenticated(detail: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, detail)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// The request's meta, as the identity layer found it.
pub fn meta_of(extensions: &axum::http::Extensions) -> RequestMeta {
    extensions.get::<RequestMeta>().cloned().unwrap_or_else(|| {
        // Only a router built without the layer gets here (a bug): answer as an anonymous API call.
        tracing::error!("a request reached a handler without the identity layer");
        RequestMeta::internal(Surface::Api)
    })
}

/// Who the identity layer found.
pub fn identity_of(extensions: &axum::http::Extensions) -> Identity {
    extensions.get::<Identity>().cloned().unwrap_or(Identity::Anonymous)
}
