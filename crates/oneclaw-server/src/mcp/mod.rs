//! The hosted MCP endpoint: streamable HTTP at `/mcp` (both the 2026-07-28 revision and the
//! older session-based one, through rmcp). Every request is authenticated here, before any
//! tool runs (`auth.rs`); the tools then call the core services in-process as that agent
//! (`backend.rs`), so policy, audit (surface `mcp`) and metering are the REST API's own.

mod auth;
mod backend;

pub use backend::CoreBackend;

use crate::state::AppState;
use axum::Router;
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use oneclaw_mcp::VaultTools;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use std::sync::Arc;

/// `/mcp`, behind its authentication layer. `allowed_hosts` are the `Host` values accepted
/// (DNS-rebinding protection); `["*"]` accepts any.
pub fn routes(state: AppState, allowed_hosts: &[String]) -> Router<AppState> {
    // Stateless (2026-07-28) requests get a plain JSON answer: no tool here streams progress.
    let config = StreamableHttpServerConfig::default().with_json_response(true);
    let config = if allowed_hosts.iter().any(|host| host == "*") {
        config.disable_allowed_hosts()
    } else {
        config.with_allowed_hosts(allowed_hosts.iter().cloned())
    };
    let service =
        StreamableHttpService::new(|| Ok(VaultTools::per_request()), Arc::new(LocalSessionManager::default()), config);
    let guard = auth::Admissions::new(state.clone());
    Router::new()
        .nest_service("/mcp", service)
        .layer(axum::middleware::from_fn(ended_session_is_no_content))
        .layer(axum::middleware::from_fn_with_state(guard, auth::admit))
}

/// rmcp answers the DELETE that ends a legacy session with 202 Accepted; the official MCP
/// clients expect 200 or 204 and log "Session termination failed" otherwise. The session is
/// closed by then, so the answer is 204 No Content.
async fn ended_session_is_no_content(request: Request, next: Next) -> Response {
    let ends_session = request.method() == Method::DELETE;
    let mut response = next.run(request).await;
    if ends_session && response.status() == StatusCode::ACCEPTED {
        *response.status_mut() = StatusCode::NO_CONTENT;
    }
    response
}
