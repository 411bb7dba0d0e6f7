//! Agents: register one (its key shown once, with the MCP configuration to paste), enable or
//! disable it, rotate its key, bind it to vaults and set its token lifetime.

use super::common::{email, words};
use crate::dashboard::form::Posted;
use crate::dashboard::layout::{self, csrf_field, error, page};
use crate::dashboard::session::Session;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use oneclaw_core::ids::AgentId;
use oneclaw_core::model::Agent;
use oneclaw_core::services::AgentSettings;
use serde::Deserialize;
use uuid::Uuid;

pub async fn list(State(state): State<AppState>, session: Session) -> Response {
    render(&state, session, None, None).await
}

/// How an MCP client starts `oneclaw mcp`: by name when `oneclaw` is on the `PATH`, else by
/// this running binary's absolute path (a newcomer who ran `cargo run` has nothing on the PATH).
fn oneclaw_command() -> String {
    let on_path = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("oneclaw").is_file()));
    match std::env::current_exe() {
        Ok(exe) if !on_path => exe.display().to_string(),
        _ => "oneclaw".to_owned(),
    }
}

/// The ways to connect a new key's agent, each whole and ready to paste: stdio for Claude
/// Desktop and Cursor (JSON) and Claude Code (a command), and the hosted `/mcp` endpoint.
fn mcp_snippets(
    agent: &Agent,
    key: &str,
    vault: Option<Uuid>,
    base_url: &str,
) -> [(&'static str, &'static str, String); 4] {
    let vault = vault.map_or_else(|| "VAULT_UUID".to_owned(), |v| v.to_string());
    let command = oneclaw_command();
    let stdio = serde_json::json!({ "mcpServers": { "oneclaw": {
        "command": command,
        "args": ["mcp"],
        "env": {
            "ONECLAW_BASE_URL": base_url,
            "ONECLAW_VAULT_ID": vault,
            "ONECLAW_AGENT_ID": agent.id.to_string(),
            "ONECLAW_AGENT_API_KEY": key,
        },
    } } });
    let hosted = serde_json::json!({ "mcpServers": { "oneclaw": {
        "url": format!("{base_url}/mcp"),
        "headers": { "Authorization": format!("Bearer {key}"), "X-Vault-ID": vault },
    } } });
    let quoted = if command.contains(' ') { format!("\"{command}\"") } else { command };
    [
        (
            "mcp-config",
            "Claude Desktop or Cursor (local, stdio)",
            serde_json::to_string_pretty(&stdio).unwrap_or_default(),
        ),
        (
            "mcp-claude-code",
            "Claude Code (local, stdio)",
            format!(
                "claude mcp add oneclaw --env ONECLAW_BASE_URL={base_url} --env ONECLAW_VAULT_ID={vault} \\\n  \
                 --env ONECLAW_AGENT_ID={} --env ONECLAW_AGENT_API_KEY={key} -- {quoted} mcp",
                agent.id
            ),
        ),
        (
            "mcp-hosted",
            "Hosted /mcp (Cursor, Claude Desktop)",
            serde_json::to_string_pretty(&hosted).unwrap_or_default(),
        ),
        (
            "mcp-hosted-claude-code",
            "Hosted /mcp (Claude Code)",
            format!(
                "claude mcp add --transport http oneclaw {base_url}/mcp \\\n  \
                 --header \"Authorization: Bearer {key}\" --header \"X-Vault-ID: {vault}\""
            ),
        ),
    ]
}

/// A key just made: the agent, the key, and this server's address for the MCP configuration.
struct NewKey {
    agent: Agent,
    key: String,
    base_url: String,
}

fn shown_once(new: &NewKey) -> Markup {
    let (agent, key) = (&new.agent, new.key.as_str());
    let snippets = mcp_snippets(agent, key, agent.vault_ids.first().copied(), &new.base_url);
    html! {
        (layout::shown_once(&format!("Key for {}", agent.name), "agent-key", key))
        section.panel aria-labelledby="mcp-config-title" {
            h2 id="mcp-config-title" { "Connect it (MCP)" }
            p.warning role="note" {
                "It can read nothing yet: "
                a href="/sharing" { "grant it paths" } " (Sharing → Who may use this vault), or let it create its own vaults."
            }
            @for (id, title, text) in &snippets {
                h3 { (title) " " button.quiet type="button" data-copy=(id) aria-label={ "Copy: " (title) } { "Copy" } }
                pre.snippet id=(id) { (text) }
            }
        }
    }
}

async fn render(state: &AppState, session: Session, problem: Option<&str>, new_key: Option<NewKey>) -> Response {
    let agents = state.core.agents().list(&session.caller).await.unwrap_or_default();
    let vaults = state.core.vaults().list(&session.caller).await.unwrap_or_default();
    // Agents no policy grants anything yet (they still reach vaults they made themselves).
    let mut ungranted = std::collections::HashSet::new();
    for agent in &agents {
        let who = oneclaw_core::principal::PrincipalRef {
            kind: oneclaw_core::principal::PrincipalKind::Agent,
            id: agent.id.0,
        };
        let policies = state.core.deps().store.principal_policies(who).await.unwrap_or_default();
        if !policies.iter().any(|p| p.effect == oneclaw_core::policy::Effect::Allow) {
            ungranted.insert(agent.id);
        }
    }
    let csrf = session.csrf.clone();
    let content = html! {
        @if let Some(new) = &new_key { (shown_once(new)) }
        section.panel aria-labelledby="register" {
            h2 id="register" { "Register an agent" }
            (error(problem))
            form method="post" action="/agents" {
                (csrf_field(&csrf))
                label for="agent-name" { "Name" }
                input id="agent-name" name="name" required;
                label for="agent-vault" { "Bound to vault (optional)" }
                select id="agent-vault" name="vault" {
                    option value="" { "Any vault its policies allow" }
                    @for vault in &vaults { option value=(vault.id) { (vault.name) } }
                }
                label for="agent-ttl" { "Token lifetime (seconds)" }
                input id="agent-ttl" name="ttl" type="number" min="61" max="86400" placeholder="3600";
                p { button type="submit" { "Register" } }
            }
        }
        section.panel aria-labelledby="agents" {
            h2 id="agents" { "Agents" }
            @if agents.is_empty() { p.muted { "No agents yet. Register one above, then grant it paths under Sharing." } }
            @else {
                p.muted {
                    "An agent reads only what a policy grants it (or vaults it made itself). "
                    a href="/sharing" { "Grant an agent access" } " · \"Vaults\" below limits which vaults its token \
                    may touch; it grants nothing."
                }
                table {
                    thead { tr { th { "Name" } th { "Key" } th { "Status" } th { "Vaults" } th { "Token lifetime" } th {} } }
                    tbody {
                        @for agent in &agents {
                            tr {
                                td {
                                    (agent.name)
                                    @if ungranted.contains(&agent.id) {
                                        br; a.warning-tag href="/sharing" { "reads nothing yet: grant it paths" }
                                    }
                                }
                                td { code { (agent.key_prefix) "…" } }
                                td { @if agent.is_active { span.ok { "active" } } @else { span.error { "disabled" } } }
                                td { @if agent.vault_ids.is_empty() { "any" } @else { (agent.vault_ids.len()) } }
                                td { @match agent.token_ttl_seconds { Some(secs) => { (secs) " s" } None => { "default" } } }
                                td {
                                    a href={ "/agents/" (agent.id) } aria-label={ "Settings of " (agent.name) } { "Settings" }
                                    " "
                                    form.inline method="post" action={ "/agents/" (agent.id) "/toggle" } {
                                        (csrf_field(&csrf))
                                        button.quiet type="submit" { @if agent.is_active { "Disable" } @else { "Enable" } }
                                    }
                                    " "
                                    form.inline method="post" action={ "/agents/" (agent.id) "/rotate" } {
                                        (csrf_field(&csrf))
                                        button.quiet type="submit" { "Rotate key" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let email = email(state, &session).await;
    (session.jar, page("Agents", "/agents", &email, &csrf, content)).into_response()
}

#[derive(Deserialize)]
pub struct NewAgent {
    name: String,
    #[serde(default)]
    vault: String,
    #[serde(default)]
    ttl: String,
}

pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Posted { session, form }: Posted<NewAgent>,
) -> Response {
    let vault_ids = form.vault.parse::<Uuid>().ok().map(|v| vec![v]);
    let ttl = form.ttl.trim();
    let token_ttl_seconds = if ttl.is_empty() {
        None
    } else {
        match ttl.parse::<i64>() {
            Ok(secs) => Some(secs),
            Err(_) => {
                return render(&state, session, Some("Token lifetime must be a whole number of seconds."), None).await;
            }
        }
    };
    let settings = AgentSettings { name: Some(form.name), vault_ids, token_ttl_seconds, ..AgentSettings::default() };
    match state.core.agents().create(&session.caller, settings).await {
        Ok((agent, key)) => {
            let new = NewKey { agent, key: key.expose().to_owned(), base_url: state.link_base(&headers) };
            render(&state, session, None, Some(new)).await
        }
        Err(err) => render(&state, session, Some(&words(err)), None).await,
    }
}

pub async fn toggle(State(state): State<AppState>, Path(id): Path<Uuid>, Posted { session, .. }: Posted) -> Response {
    let agents = state.core.agents();
    let result = match agents.get(&session.caller, AgentId(id)).await {
        Ok(agent) => {
            let settings = AgentSettings { is_active: Some(!agent.is_active), ..AgentSettings::default() };
            agents.update(&session.caller, AgentId(id), settings).await.map(|_| ())
        }
        Err(err) => Err(err),
    };
    match result {
        Ok(()) => (session.jar, Redirect::to("/agents")).into_response(),
        Err(err) => render(&state, session, Some(&words(err)), None).await,
    }
}

pub async fn rotate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Posted { session, .. }: Posted,
) -> Response {
    match state.core.agents().rotate_key(&session.caller, AgentId(id)).await {
        Ok((agent, key)) => {
            let new = NewKey { agent, key: key.expose().to_owned(), base_url: state.link_base(&headers) };
            render(&state, session, None, Some(new)).await
        }
        Err(err) => render(&state, session, Some(&words(err)), None).await,
    }
}

/// One agent's settings: the vaults its tokens are bound to and its token lifetime.
pub async fn settings(State(state): State<AppState>, session: Session, Path(id): Path<Uuid>) -> Response {
    settings_with(&state, session, id, None, None).await
}

/// The agent's page: its settings (with `problem` said above them) and its bindings (with
/// `binding_notice`: a test's outcome or a refusal).
pub(super) async fn settings_with(
    state: &AppState,
    session: Session,
    id: Uuid,
    problem: Option<&str>,
    binding_notice: Option<&str>,
) -> Response {
    let agent = match state.core.agents().get(&session.caller, AgentId(id)).await {
        Ok(agent) => agent,
        Err(err) => return render(state, session, Some(&words(err)), None).await,
    };
    let vaults = state.core.vaults().list(&session.caller).await.unwrap_or_default();
    let csrf = session.csrf.clone();
    let content = html! {
        section.panel aria-labelledby="agent-settings" {
            h2 id="agent-settings" { "Settings" }
            (error(problem))
            form method="post" action={ "/agents/" (agent.id) } {
                (csrf_field(&csrf))
                fieldset {
                    legend { "Bound to vaults (none checked: any vault its policies allow)" }
                    @for vault in &vaults {
                        @let field = format!("bind-{}", vault.id);
                        div {
                            input id=(field) type="checkbox" name="vault" value=(vault.id) checked[agent.vault_ids.contains(&vault.id.0)];
                            " " label for=(field) { (vault.name) }
                        }
                    }
                }
                label for="agent-ttl" { "Token lifetime (seconds)" }
                input id="agent-ttl" name="ttl" type="number" min="61" max="86400"
                    value=[agent.token_ttl_seconds] placeholder="3600";
                p.muted { "Saving ends the agent's current tokens; it signs in again with its key." }
                p { button type="submit" { "Save settings" } }
            }
            p { a href="/agents" { "Back to the agents" } }
        }
        (super::bindings::panel(state, &session.caller, agent.id, &csrf, binding_notice).await)
    };
    let email = email(state, &session).await;
    let title = format!("Agent {}", agent.name);
    (session.jar, page(&title, "/agents", &email, &csrf, content)).into_response()
}

#[derive(Deserialize)]
pub struct SettingsForm {
    /// Each checked vault (a repeated field).
    #[serde(default)]
    vault: Vec<String>,
    #[serde(default)]
    ttl: String,
}

pub async fn save_settings(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Posted { session, form }: Posted<SettingsForm>,
) -> Response {
    let Ok(vault_ids) = form.vault.iter().map(|v| v.parse::<Uuid>()).collect::<Result<Vec<_>, _>>() else {
        return settings_with(&state, session, id, Some("A vault in the form is not a vault id."), None).await;
    };
    let ttl = form.ttl.trim();
    let token_ttl_seconds = match ttl.parse::<i64>() {
        _ if ttl.is_empty() => None,
        Ok(secs) => Some(secs),
        Err(_) => {
            return settings_with(&state, session, id, Some("Token lifetime must be a whole number of seconds."), None)
                .await;
        }
    };
    let settings = AgentSettings { vault_ids: Some(vault_ids), token_ttl_seconds, ..AgentSettings::default() };
    match state.core.agents().update(&session.caller, AgentId(id), settings).await {
        Ok(_) => (session.jar, Redirect::to("/agents")).into_response(),
        Err(err) => settings_with(&state, session, id, Some(&words(err)), None).await,
    }
}
