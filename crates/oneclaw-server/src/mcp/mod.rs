//! The hosted MCP endpoint: streamable HTTP at `/mcp` (both the 2026-07-28 revision and the
//! older session-based one, through rmcp). Every request is authenticated here, before any
//! tool runs (`auth.rs`); the tools then call the core services in-process as that agent
//! (`backend.rs`), so policy, audit (surface `mcp`) and metering are the REST API's own.

mod auth;
mod backend;

pub use backend::CoreBackend;

use crate::state::AppState;
use axum::Router;
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
    Router::new().nest_service("/mcp", service).layer(axum::middleware::from_fn_with_state(guard, auth::admit))
}
