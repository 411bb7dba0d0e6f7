//! `oneclaw mcp`: the tools over stdio for a local MCP client (Claude Desktop, Claude Code,
//! Cursor), configured from the environment. stdout carries only the protocol; diagnostics go
//! to stderr.

use crate::http_backend::{Credentials, HttpBackend};
use crate::tools::{AgentSession, VaultTools};
use oneclaw_types::SecretString;
use rmcp::ServiceExt;
use std::sync::Arc;
use uuid::Uuid;

/// The server `oneclaw mcp` talks to when `ONECLAW_BASE_URL` is not set.
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8443";

/// What `oneclaw mcp` needs. Never printed with its credentials.
pub struct StdioConfig {
    pub base_url: String,
    /// The vault the tools work in; `None`: the one vault the agent is bound to.
    pub vault_id: Option<Uuid>,
    pub credentials: Credentials,
}

/// Reads `ONECLAW_BASE_URL`, `ONECLAW_VAULT_ID` (optional for an agent bound to one vault) and
/// either `ONECLAW_AGENT_API_KEY` (with an optional `ONECLAW_AGENT_ID`) or `ONECLAW_AGENT_TOKEN`.
/// The error names what is missing.
pub fn config_from(var: impl Fn(&str) -> Option<String>) -> Result<StdioConfig, String> {
    let present = |name: &str| var(name).filter(|value| !value.trim().is_empty());
    let vault_id = match present("ONECLAW_VAULT_ID") {
        Some(vault) => Some(vault.trim().parse().map_err(|_| "ONECLAW_VAULT_ID is not a UUID".to_owned())?),
        None => None,
    };
    let credentials = match (present("ONECLAW_AGENT_API_KEY"), present("ONECLAW_AGENT_TOKEN")) {
        (Some(key), _) => {
            Credentials::AgentKey { agent_id: present("ONECLAW_AGENT_ID"), api_key: SecretString::new(key) }
        }
        (None, Some(token)) => Credentials::Token(SecretString::new(token)),
        (None, None) => {
            let vault = if vault_id.is_none() {
                " Set ONECLAW_VAULT_ID too (the vault the tools work in) unless the agent is bound to one vault."
            } else {
                ""
            };
            return Err(format!(
                "no agent credentials: set ONECLAW_AGENT_ID and ONECLAW_AGENT_API_KEY (recommended; the token is \
                 renewed automatically), or ONECLAW_AGENT_TOKEN.{vault}"
            ));
        }
    };
    let base_url = present("ONECLAW_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
    if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
        return Err(format!("ONECLAW_BASE_URL must be an http:// or https:// URL, not {base_url:?}"));
    }
    Ok(StdioConfig { base_url, vault_id, credentials })
}

/// Signs in, then serves MCP on stdin/stdout until the client closes it.
pub async fn serve(config: StdioConfig) -> Result<(), String> {
    let backend = HttpBackend::new(&config.base_url, config.credentials);
    backend.sign_in().await.map_err(|err| format!("cannot sign in to {} as the agent: {err}", config.base_url))?;
    let vault_id = match config.vault_id {
        Some(vault) => vault,
        None => match backend.bound_vaults().await.map_err(|err| format!("cannot read the agent's vaults: {err}"))?[..]
        {
            [only] => only,
            ref bound => {
                return Err(format!(
                    "ONECLAW_VAULT_ID is not set and the agent is bound to {} vaults, not one: set it to the vault \
                     the tools work in (a UUID)",
                    bound.len()
                ));
            }
        },
    };
    let session = AgentSession { backend: Arc::new(backend), vault_id };
    let running = VaultTools::for_session(session)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|err| format!("MCP start-up failed: {err}"))?;
    running.waiting().await.map_err(|err| format!("MCP session ended with an error: {err}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<StdioConfig, String> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        config_from(|name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn a_missing_setting_is_named() {
        let vault = "0190a1b2-0000-7000-8000-000000000001";
        let none = from(&[]).err().unwrap_or_default();
        assert!(none.contains("ONECLAW_AGENT_API_KEY") && none.contains("ONECLAW_VAULT_ID"), "{none}");
        let bound = from(&[("ONECLAW_AGENT_TOKEN", "t")]).ok();
        assert_eq!(bound.map(|c| c.vault_id), Some(None), "a bound agent needs no vault id");
        assert!(from(&[("ONECLAW_VAULT_ID", "x")]).err().is_some_and(|e| e.contains("not a UUID")));
        let err = from(&[("ONECLAW_VAULT_ID", vault)]).err().unwrap_or_default();
        assert!(err.contains("ONECLAW_AGENT_API_KEY") && err.contains("ONECLAW_AGENT_TOKEN"), "{err}");
        let config = from(&[("ONECLAW_VAULT_ID", vault), ("ONECLAW_AGENT_TOKEN", "t")]).ok();
        assert_eq!(config.map(|c| c.base_url), Some(DEFAULT_BASE_URL.to_owned()));
        let bad = from(&[("ONECLAW_VAULT_ID", vault), ("ONECLAW_AGENT_TOKEN", "t"), ("ONECLAW_BASE_URL", "ftp://x")]);
        assert!(bad.err().is_some_and(|e| e.contains("ONECLAW_BASE_URL")));
    }
}
