//! The commands people and CI jobs use against a oneclaw server: `login`, `logout`, `whoami`,
//! `vaults`, `secrets`, `run` and `env`. Settings come from the environment first
//! (`ONECLAW_BASE_URL` with `ONECLAW_API_KEY`, `ONECLAW_AGENT_API_KEY` [+ `ONECLAW_AGENT_ID`]
//! or `ONECLAW_AGENT_TOKEN`), else from what `oneclaw login` stored.

pub mod account;
pub mod credentials;
pub mod env;
pub mod run;
pub mod secrets;

use crate::error::{CliError, CliResult};
use oneclaw_client::{Client, Credentials, Surface};
use oneclaw_types::SecretString;
use uuid::Uuid;

/// The server when nothing names one.
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8443";

/// Options every client command takes.
#[derive(clap::Args, Debug, Clone)]
pub struct Common {
    /// The server (default: ONECLAW_BASE_URL, then the one you logged in to, then http://127.0.0.1:8443).
    #[arg(long, global = true)]
    pub url: Option<String>,
    /// Print JSON for scripts instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A client signed in as the environment or the stored login says.
pub fn connect(common: &Common) -> CliResult<Client> {
    let stored = if has_env_credentials() { None } else { credentials::load()? };
    let named = common.url.clone().or_else(|| env("ONECLAW_BASE_URL"));
    // A stored login is sent only to the server it was made with: another URL gets nothing.
    let stored = match (stored, &named) {
        (Some(stored), Some(url)) if !same_server(url, &stored.base_url) => {
            return Err(CliError::Auth(format!(
                "you are signed in to {}, not {url}: run `oneclaw login --url {url}` to sign in there",
                stored.base_url
            )));
        }
        (stored, _) => stored,
    };
    // A key from the environment goes only to a server the environment (or --url) names.
    if named.is_none() && has_env_credentials() {
        return Err(CliError::Setting(
            "set ONECLAW_BASE_URL (or --url) to the server the key in the environment is for".to_owned(),
        ));
    }
    let base =
        named.or_else(|| stored.as_ref().map(|s| s.base_url.clone())).unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
    let credentials = if let Some(key) = env("ONECLAW_API_KEY") {
        Credentials::ApiKey(SecretString::new(key))
    } else if let Some(key) = env("ONECLAW_AGENT_API_KEY") {
        Credentials::AgentKey { agent_id: env("ONECLAW_AGENT_ID"), api_key: SecretString::new(key) }
    } else if let Some(token) = env("ONECLAW_AGENT_TOKEN") {
        Credentials::Token(SecretString::new(token))
    } else if let Some(stored) = stored {
        stored_credentials(stored)?
    } else {
        return Err(CliError::Auth(
            "not signed in: run `oneclaw login --api-key` (or set ONECLAW_API_KEY or ONECLAW_AGENT_API_KEY)".to_owned(),
        ));
    };
    Ok(Client::new(&base, credentials, Surface::Cli))
}

/// The stored login: an API key, or a session whose renewals are written back to the file.
fn stored_credentials(stored: credentials::Stored) -> CliResult<Credentials> {
    if let Some(key) = stored.api_key {
        return Ok(Credentials::ApiKey(key));
    }
    let Some(refresh_token) = stored.refresh_token else {
        return Err(CliError::Auth("the stored login holds no credential; run `oneclaw login` again".to_owned()));
    };
    let access = match (stored.access_token, stored.access_expires_at) {
        (Some(token), Some(at)) => Some((token, std::time::UNIX_EPOCH + std::time::Duration::from_secs(at))),
        _ => None,
    };
    let (base_url, email) = (stored.base_url, stored.email);
    let keep = move |refresh: &SecretString, access: &SecretString, expires: std::time::SystemTime| {
        let renewed = credentials::Stored {
            base_url: base_url.clone(),
            api_key: None,
            email: email.clone(),
            refresh_token: Some(refresh.clone()),
            access_token: Some(access.clone()),
            access_expires_at: expires.duration_since(std::time::UNIX_EPOCH).ok().map(|d| d.as_secs()),
        };
        // The old refresh token is spent: a failure to store the new one means signing in again.
        if let Err(err) = credentials::save(&renewed) {
            eprintln!("oneclaw: could not store the renewed sign-in ({err}); run `oneclaw login` again next time");
        }
    };
    Ok(Credentials::Session { refresh_token, access, keep: std::sync::Arc::new(keep) })
}

/// The same server, whatever trailing slash either was written with.
fn same_server(a: &str, b: &str) -> bool {
    a.trim_end_matches('/').eq_ignore_ascii_case(b.trim_end_matches('/'))
}

/// The variables that carry a oneclaw credential (the child of `oneclaw run` never gets them).
pub const CREDENTIAL_VARIABLES: [&str; 3] = ["ONECLAW_API_KEY", "ONECLAW_AGENT_API_KEY", "ONECLAW_AGENT_TOKEN"];

fn has_env_credentials() -> bool {
    CREDENTIAL_VARIABLES.iter().any(|name| env(name).is_some())
}

/// A vault by id, or by its exact name among the vaults the caller can see.
pub async fn vault_id(client: &Client, vault: &str) -> CliResult<Uuid> {
    if let Ok(id) = vault.parse::<Uuid>() {
        return Ok(id);
    }
    let named: Vec<Uuid> = client.list_vaults().await?.into_iter().filter(|v| v.name == vault).map(|v| v.id).collect();
    match named[..] {
        [id] => Ok(id),
        [] => Err(CliError::Api(oneclaw_client::ClientError::new(
            oneclaw_client::ErrorCode::NotFound,
            format!("no vault named '{vault}' that you can see (`oneclaw vaults list` shows them)"),
        ))),
        _ => Err(CliError::Usage(format!("more than one vault is named '{vault}'; give its id"))),
    }
}

/// Prints `value` as pretty JSON.
pub fn print_json(value: &impl serde::Serialize) -> CliResult {
    let text = serde_json::to_string_pretty(value).map_err(|err| CliError::Usage(err.to_string()))?;
    println!("{text}");
    Ok(())
}

/// Prints rows under a header, each column as wide as its widest cell.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells.iter().enumerate().map(|(i, c)| format!("{c:<w$}", w = widths[i])).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.iter().map(|h| (*h).to_owned()).collect());
    for row in rows {
        line(row.clone());
    }
}

/// A time as a table shows it.
pub fn when(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!("{} {:02}:{:02} UTC", at.date(), at.hour(), at.minute())
}
