//! What every handler can reach.

use oneclaw_core::Core;

/// Shared state of the HTTP server.
#[derive(Clone)]
pub struct AppState {
    pub core: Core,
    /// The OpenID Connect provider, when one is configured.
    pub oidc: Option<std::sync::Arc<crate::oidc::Oidc>>,
    /// `ONECLAW_PUBLIC_URL`, when set: the base of every link handed out.
    pub public_url: Option<String>,
    /// `/v1/health/ready`'s last check, so a flood of probes runs one check at a time.
    pub readiness: std::sync::Arc<crate::routes::health::Readiness>,
}

impl AppState {
    /// The base of every link and address the server shows (`share_url`, invitation links, the
    /// MCP config, the OpenID Connect callback): the configured public URL, else the address the
    /// request reached (its scheme from a trusted proxy only; `proxy.rs` drops anyone else's
    /// header).
    pub fn link_base(&self, headers: &axum::http::HeaderMap) -> String {
        if let Some(url) = &self.public_url {
            return url.clone();
        }
        let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("localhost");
        let https = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https");
        format!("{}://{host}", if https { "https" } else { "http" })
    }
}
