//! What every handler can reach.

use oneclaw_core::Core;

/// Shared state of the HTTP server.
#[derive(Clone)]
pub struct AppState {
    pub core: Core,
    /// The OpenID Connect provider, when one is configured.
    pub oidc: Option<std::sync::Arc<crate::oidc::Oidc>>,
}
