//! An agent's Bindings (execution intents, docs/INTENTS.md): the bindings it may execute, a
//! form to make an HTTP binding whose credential is a secret in one of the caller's vaults, a
//! connectivity test, removal, and the agent's recent executions. The credential never appears
//! on the page.

use super::common::{done, words};
use crate::dashboard::form::Posted;
use crate::dashboard::layout::{csrf_field, error, timestamp};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use oneclaw_core::ids::{AgentId, VaultId};
use oneclaw_core::intents::CredentialSource;
use oneclaw_core::principal::Caller;
use oneclaw_core::services::{BindingDraft, CredentialInput};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

/// The agent page's Bindings panel. `notice` is a test's outcome or a refusal.
pub async fn panel(state: &AppState, caller: &Caller, agent: AgentId, csrf: &str, notice: Option<&str>) -> Markup {
    let bindings = state.core.bindings().list(caller, agent).await.unwrap_or_default();
    let executions = state.core.executions().list(caller, agent, 10, 0).await.unwrap_or_default();
    let vaults = state.core.vaults().list(caller).await.unwrap_or_default();
    let names: std::collections::HashMap<Uuid, &str> = bindings.iter().map(|b| (b.id, b.name.as_str())).collect();
    let base = format!("/agents/{agent}/bindings");
    html! {
        section.panel aria-labelledby="bindings" {
            h2 id="bindings" { "Bindings" }
            p.muted {
                "A binding lets this agent call an API with a key it never sees: the server injects the key, \
                 keeps the call inside the guardrails and redacts the key from the answer. The agent also needs \
                 the "
                code { "execute" } " permission on " code { "bindings/<name>" } " in the binding's vault ("
                a href="/sharing" { "Sharing" } ")."
            }
            (error(notice))
            @if bindings.is_empty() { p.muted { "No bindings yet." } }
            @else {
                div.scroll {
                    table {
                        thead { tr { th { "Name" } th { "Type" } th { "Target" } th { "Credential" } th { "Status" } th {} } }
                        tbody {
                            @for binding in &bindings {
                                tr {
                                    td { (binding.name) }
                                    td { (binding.binding_type.as_str()) }
                                    td { code { (target(&binding.config)) } }
                                    td {
                                        @match &binding.credential {
                                            CredentialSource::VaultRef { path } => { "secret " code { (path) } }
                                            CredentialSource::Inline => { "stored (sealed)" }
                                            CredentialSource::None => { span.error { "none" } }
                                        }
                                    }
                                    td { @if binding.is_active { span.ok { "active" } } @else { span.error { "inactive" } } }
                                    td {
                                        form.inline method="post" action={ (base) "/" (binding.id) "/test" } {
                                            (csrf_field(csrf))
                                            button.quiet type="submit" aria-label={ "Test " (binding.name) } { "Test" }
                                        }
                                        " "
                                        form.inline method="post" action={ (base) "/" (binding.id) "/delete" }
                                            data-confirm={ "Delete the binding " (binding.name) "? The agent can no longer call through it." } {
                                            (csrf_field(csrf))
                                            button.danger type="submit" aria-label={ "Delete " (binding.name) } { "Delete" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            details {
                summary { "Add an HTTP binding" }
                form method="post" action=(base) {
                    (csrf_field(csrf))
                    label for="binding-name" { "Name (the agent names it in execute)" }
                    input id="binding-name" name="name" required pattern="[A-Za-z0-9._-]{1,64}" placeholder="stripe";
                    label for="binding-url" { "Base URL" }
                    input id="binding-url" name="base_url" type="url" required placeholder="https://api.stripe.com/v1";
                    label for="binding-vault" { "Vault holding the key" }
                    select id="binding-vault" name="vault" required {
                        @for vault in &vaults { option value=(vault.id) { (vault.name) } }
                    }
                    label for="binding-path" { "Secret path of the key" }
                    input id="binding-path" name="path" required placeholder="stripe/secret-key";
                    label for="binding-methods" { "Allowed methods (comma-separated)" }
                    input id="binding-methods" name="methods" value="GET";
                    label for="binding-paths" { "Allowed path prefixes (comma-separated)" }
                    input id="binding-paths" name="paths" value="/";
                    p.muted { "The key goes in as Authorization: Bearer. Other injections, PostgreSQL and the \
                               remaining guardrails: the API (docs/INTENTS.md)." }
                    p { button type="submit" { "Add binding" } }
                }
            }
            h3 { "Recent executions" }
            @if executions.is_empty() { p.muted { "None yet." } }
            @else {
                div.scroll {
                    table {
                        thead { tr { th { "When" } th { "Binding" } th { "Request" } th { "Status" } th { "Time" } th { "Redactions" } } }
                        tbody {
                            @for execution in &executions {
                                tr {
                                    td { (timestamp(execution.created_at)) }
                                    td { (names.get(&execution.binding_id).copied().unwrap_or("(deleted)")) }
                                    td { code { (summary(&execution.request_summary)) } }
                                    td {
                                        @if execution.status == "success" { span.ok { "success" } }
                                        @else { span.error { (execution.status) } }
                                        @if let Some(why) = &execution.error_message { br; small { (why) } }
                                    }
                                    td { (execution.duration_ms) " ms" }
                                    td { (execution.redactions_applied) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn target(config: &serde_json::Value) -> String {
    match (config.get("base_url"), config.get("host")) {
        (Some(url), _) => url.as_str().unwrap_or_default().to_owned(),
        (None, Some(host)) => {
            format!("{}/{}", host.as_str().unwrap_or_default(), config["database"].as_str().unwrap_or_default())
        }
        _ => String::new(),
    }
}

fn summary(request: &serde_json::Value) -> String {
    match (request.get("method"), request.get("statement")) {
        (Some(method), _) => format!(
            "{} {}{}",
            method.as_str().unwrap_or_default(),
            request["host"].as_str().unwrap_or_default(),
            request["path"].as_str().unwrap_or_default()
        ),
        (None, Some(statement)) => format!(
            "{} on {}",
            statement.as_str().unwrap_or_default().to_uppercase(),
            request["database"].as_str().unwrap_or_default()
        ),
        _ => String::new(),
    }
}

fn list(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|item| !item.is_empty()).map(str::to_owned).collect()
}

#[derive(Deserialize)]
pub struct NewBinding {
    name: String,
    base_url: String,
    vault: String,
    path: String,
    #[serde(default)]
    methods: String,
    #[serde(default)]
    paths: String,
}

pub async fn create(
    State(state): State<AppState>,
    Path(agent): Path<Uuid>,
    Posted { session, form }: Posted<NewBinding>,
) -> Response {
    let Ok(vault) = form.vault.parse::<Uuid>() else {
        return super::agents::settings_with(&state, session, agent, None, Some("Choose a vault.")).await;
    };
    let draft = BindingDraft {
        name: Some(form.name),
        binding_type: Some("http".to_owned()),
        config: Some(json!({"base_url": form.base_url.trim()})),
        guardrails: Some(json!({"allowed_methods": list(&form.methods), "allowed_paths": list(&form.paths)})),
        vault_id: Some(VaultId(vault)),
        credential: Some(CredentialInput::VaultRef { vault_id: VaultId(vault), path: form.path.trim().to_owned() }),
        ..BindingDraft::default()
    };
    match state.core.bindings().create(&session.caller, AgentId(agent), draft).await {
        Ok(_) => (session.jar, Redirect::to(&format!("/agents/{agent}#bindings"))).into_response(),
        Err(err) => super::agents::settings_with(&state, session, agent, None, Some(&words(err))).await,
    }
}

pub async fn test(
    State(state): State<AppState>,
    Path((agent, binding)): Path<(Uuid, Uuid)>,
    Posted { session, .. }: Posted,
) -> Response {
    let tested = state.core.executions().test(&session.caller, AgentId(agent), binding, None).await;
    let notice = match tested {
        Ok(outcome) if outcome.success => format!("The service answered in {} ms.", outcome.latency_ms),
        Ok(outcome) => format!("The service did not answer: {}", outcome.error.unwrap_or_default()),
        Err(err) => words(err),
    };
    super::agents::settings_with(&state, session, agent, None, Some(&notice)).await
}

pub async fn delete(
    State(state): State<AppState>,
    Path((agent, binding)): Path<(Uuid, Uuid)>,
    Posted { session, .. }: Posted,
) -> Response {
    match state.core.bindings().delete(&session.caller, AgentId(agent), binding).await {
        Ok(()) => (session.jar, Redirect::to(&done(&format!("/agents/{agent}"), "binding-deleted"))).into_response(),
        Err(err) => super::agents::settings_with(&state, session, agent, None, Some(&words(err))).await,
    }
}
