//! Agents: register one (its key shown once, with the MCP configuration to paste), enable or
//! disable it, rotate its key, bind it to vaults and set its token lifetime.

use super::common::{CsrfForm, email, forbidden_form, words};
use crate::dashboard::layout::{self, csrf_field, error, page};
use crate::dashboard::session::Session;
use crate::state::AppState;
use axum::Form;
use axum::extract::{Path, State};
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

/// The MCP client configuration for a new key (stdio, as README shows).
fn mcp_config(agent: &Agent, key: &str, vault: Option<Uuid>) -> String {
    let vault = vault.map_or_else(|| "VAULT_UUID".to_owned(), |v| v.to_string());
    format!(
        "{{\n  \"mcpServers\": {{\n    \"oneclaw\": {{\n      \"command\": \"oneclaw\",\n      \"args\": [\"mcp\"],\n      \"env\": {{\n        \
         \"ONECLAW_BASE_URL\": \"http://127.0.0.1:8443\",\n        \"ONECLAW_VAULT_ID\": \"{vault}\",\n        \
         \"ONECLAW_AGENT_ID\": \"{}\",\n        \"ONECLAW_AGENT_API_KEY\": \"{key}\"\n      }}\n    }}\n  }}\n}}",
        agent.id
    )
}

fn shown_once(agent: &Agent, key: &str) -> Markup {
    let config = mcp_config(agent, key, agent.vault_ids.first().copied());
    html! {
        (layout::shown_once(&format!("Key for {}", agent.name), "agent-key", key))
        section.panel aria-labelledby="mcp-config-title" {
            h2 id="mcp-config-title" { "MCP configuration" }
            label for="mcp-config" { "For Claude Desktop or Cursor" }
            textarea id="mcp-config" readonly rows="12" { (config) }
        }
    }
}

async fn render(
    state: &AppState,
    session: Session,
    problem: Option<&str>,
    new_key: Option<(Agent, String)>,
) -> Response {
    let agents = state.core.agents().list(&session.caller).await.unwrap_or_default();
    let vaults = state.core.vaults().list(&session.caller).await.unwrap_or_default();
    let csrf = session.csrf.clone();
    let content = html! {
        @if let Some((agent, key)) = &new_key { (shown_once(agent, key)) }
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
                input id="agent-ttl" name="ttl" type="number" min="60" max="86400" placeholder="3600";
                p { button type="submit" { "Register" } }
            }
        }
        section.panel aria-labelledby="agents" {
            h2 id="agents" { "Agents" }
            @if agents.is_empty() { p.muted { "No agents yet." } }
            @else {
                table {
                    thead { tr { th { "Name" } th { "Key" } th { "Status" } th { "Vaults" } th {} } }
                    tbody {
                        @for agent in &agents {
                            tr {
                                td { (agent.name) }
                                td { code { (agent.key_prefix) "…" } }
                                td { @if agent.is_active { span.ok { "active" } } @else { span.error { "disabled" } } }
                                td { @if agent.vault_ids.is_empty() { "any" } @else { (agent.vault_ids.len()) } }
                                td {
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
    #[serde(default)]
    csrf: String,
    name: String,
    #[serde(default)]
    vault: String,
    #[serde(default)]
    ttl: String,
}

pub async fn create(State(state): State<AppState>, session: Session, Form(form): Form<NewAgent>) -> Response {
    if !session.csrf_ok(&form.csrf) {
        return forbidden_form();
    }
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
            let key = key.expose().to_owned();
            render(&state, session, None, Some((agent, key))).await
        }
        Err(err) => render(&state, session, Some(&words(err)), None).await,
    }
}

pub async fn toggle(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<Uuid>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !session.csrf_ok(&form.csrf) {
        return forbidden_form();
    }
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
    session: Session,
    Path(id): Path<Uuid>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !session.csrf_ok(&form.csrf) {
        return forbidden_form();
    }
    match state.core.agents().rotate_key(&session.caller, AgentId(id)).await {
        Ok((agent, key)) => {
            let key = key.expose().to_owned();
            render(&state, session, None, Some((agent, key))).await
        }
        Err(err) => render(&state, session, Some(&words(err)), None).await,
    }
}
