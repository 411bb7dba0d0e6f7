//! What every handler can reach.

use oneclaw_core::Core;

/// Shared state of the HTTP server.
#[derive(Clone)]
pub struct AppState {
    pub core: Core,
}
