//! `oneclaw mcp`: the MCP server over stdio for local clients, as one agent of a oneclaw server
//! (`ONECLAW_BASE_URL`, `ONECLAW_VAULT_ID`, `ONECLAW_AGENT_ID` + `ONECLAW_AGENT_API_KEY` or
//! `ONECLAW_AGENT_TOKEN`). stdout is the protocol channel: logs go to stderr.

use crate::error::{CliError, CliResult};
use crate::serve::init_logging;
use oneclaw_server::config::LogFormat;

pub async fn run() -> CliResult {
    // Before anything could print: nothing but protocol may reach stdout.
    init_logging(LogFormat::Text);
    let config = oneclaw_mcp::stdio::config_from(|name| std::env::var(name).ok()).map_err(CliError::Setting)?;
    oneclaw_mcp::stdio::serve(config).await.map_err(CliError::Server)
}
