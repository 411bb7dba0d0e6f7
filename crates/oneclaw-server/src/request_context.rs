//! Every request gets an id of its own: answered as `X-Request-Id`, carried by its
//! ProblemDetails (`request_id`) and by its log lines (a field of the request's span), so a
//! user's error report finds the server's log of it. The id is the server's, never a client's
//! (a client-chosen id could forge or collide with other log lines). The same outermost layer
//! resolves the client's address (`proxy`), who is asking (`identity`), and sets the headers
//! every answer carries.
//!
//! Why one layer: each tower layer around the router is a future wrapped in another and moved
//! on every poll, with its state cloned per request. The request span (was tower-http's
//! `TraceLayer`) and the two fixed headers (were two `SetResponseHeaderLayer`s) as layers of
//! their own cost ~8% of the server's CPU per secret read and ~8% of its reads per second;
//! the client and the identity, two more layers, another ~9% and ~8% (`bench/ab.sh`,
//! alternated, 10 pairs each; bench/RESULTS.md).

use crate::identity::Identify;
use crate::proxy::TrustedProxies;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The response header.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The id of a request, in its extensions (for the log span).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

tokio::task_local! {
    static CURRENT: String;
}

/// The id of the request being answered on this task, if any.
pub fn current_request_id() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// What the outermost layer needs.
#[derive(Clone)]
pub struct Outermost {
    pub proxies: TrustedProxies,
    pub identify: Identify,
}

/// The outermost layer: names the request, runs it in its log span with its client and caller
/// resolved, and names the answer. Every answer is uncacheable (it may carry a secret value)
/// and never content-sniffed.
pub async fn assign(State(layer): State<Outermost>, mut request: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let span = request_span(&id, &request);
    request.extensions_mut().insert(RequestId(id.clone()));
    let answer = async move {
        let started = std::time::Instant::now();
        // Before anything reads the client's address or scheme.
        crate::proxy::attach_client(&layer.proxies, &mut request);
        crate::identity::attach_identity(&layer.identify, &mut request).await;
        let response = next.run(request).await;
        // The access line TraceLayer gave at debug (off by default), in the request's span.
        tracing::debug!(status = response.status().as_u16(), latency_us = started.elapsed().as_micros(), "answered");
        response
    };
    let mut response = CURRENT.scope(id.clone(), answer).instrument(span).await;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert(REQUEST_ID_HEADER, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// The span of a request: its id, method and path, never its query (it may carry an
/// invitation token) and never a share link's token.
fn request_span(id: &str, request: &Request) -> tracing::Span {
    tracing::info_span!("request", request_id = %id, method = %request.method(), path = %loggable_path(request.uri().path()))
}

/// The path with any credential in it replaced by a placeholder. A share link's token is
/// taken percent-encoded too (the router decodes it, so `/v1/share/%6Fcs_…` opens the share):
/// a share's id is a UUID and never has a `%`, so any encoded tail is hidden.
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix("/v1/share/") {
        Some(rest) if rest.starts_with(oneclaw_core::tokens::SHARE_LINK_PREFIX) || rest.contains('%') => {
            "/v1/share/<link token>".into()
        }
        _ => path.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::loggable_path;
    use oneclaw_core::tokens::SHARE_LINK_PREFIX;

    #[test]
    fn a_share_links_token_never_reaches_the_log_path() {
        let link = format!("/v1/share/{SHARE_LINK_PREFIX}secret-token-value");
        assert_eq!(loggable_path(&link), "/v1/share/<link token>");
        // Found by the red-team: the router decodes the tail, so an encoded token opens the share.
        for encoded in ["%6Fcs_secret-token", "%6fcs_secret-token", "ocs%5Fsecret-token", "%6F%63%73%5Fsecret"] {
            assert_eq!(loggable_path(&format!("/v1/share/{encoded}")), "/v1/share/<link token>", "{encoded}");
        }
        assert_eq!(loggable_path("/v1/share/some-share-id"), "/v1/share/some-share-id");
        assert_eq!(loggable_path("/v1/vaults"), "/v1/vaults");
    }
}
