//! The Dashboard page: what the org holds, this month's usage against its quota, and the
//! latest activity.

use crate::dashboard::layout::page;
use crate::dashboard::layout::timestamp;
use crate::dashboard::session::Session;
use crate::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;

pub async fn show(State(state): State<AppState>, session: Session) -> Response {
    let caller = &session.caller;
    let core = &state.core;
    let me = core.auth().me(caller).await.ok();
    let email = me.as_ref().map(|u| u.email.clone()).unwrap_or_default();
    let counts = core.deps().store.resource_counts(caller.org_id()).await.unwrap_or_default();
    let usage = core.billing().usage(caller.org_id()).await.ok();
    let recent = core.audit().recent(caller, 10).await.ok();
    let names = super::common::Names::of(&state, caller).await;
    let unverified = me.as_ref().is_some_and(|u| !u.email_verified) && core.mail().enabled();
    let content = html! {
        @if unverified { (super::account::unverified_banner(&session.csrf)) }
        div.cards {
            div.panel.card { b { (counts.vaults) } "vaults" }
            div.panel.card { b { (counts.secrets) } "secrets" }
            div.panel.card { b { (counts.agents) } "agents" }
            @if let Some(usage) = usage.filter(|_| core.billing().enabled()) {
                div.panel.card {
                    b { (usage.used) }
                    @match usage.limit {
                        Some(limit) => { "of " (limit) " requests this month (" (usage.tier.as_str()) ")" }
                        None => { "requests this month (" (usage.tier.as_str()) ")" }
                    }
                }
            }
        }
        @if counts.vaults == 0 || counts.secrets == 0 || counts.agents == 0 {
            section.panel aria-labelledby="start" {
                h2 id="start" { "Getting started" }
                ol.steps {
                    li { (step(counts.vaults > 0)) a href="/vaults" { "Create a vault" } }
                    li { (step(counts.secrets > 0)) "Add a secret to it (open the vault)" }
                    li { (step(counts.agents > 0)) a href="/agents" { "Register an agent" } " and keep its key" }
                    li { a href="/sharing" { "Grant it paths" } " in a vault (it reads nothing until then)" }
                    li { "Connect it: the agent's MCP snippets are shown with its key, or see docs/MCP.md" }
                }
            }
        }
        section.panel aria-labelledby="recent" {
            h2 id="recent" { "Recent activity" }
            @match &recent {
                Some(events) if !events.is_empty() => {
                    table {
                        thead { tr { th { "When" } th { "Who" } th { "Action" } th { "Outcome" } } }
                        tbody {
                            @for event in events {
                                tr {
                                    td { (timestamp(event.created_at)) }
                                    td { (names.label(&event.actor_type, event.actor_id)) }
                                    td { (event.action) }
                                    td { (event.outcome.as_str()) }
                                }
                            }
                        }
                    }
                }
                Some(_) => { p.muted { "Nothing yet." } }
                None => { p.muted { "Only org owners and admins see the activity log." } }
            }
        }
    };
    (session.jar, page("Dashboard", "/dashboard", &email, &session.csrf, content)).into_response()
}

/// A getting-started step's mark: done or still to do.
fn step(done: bool) -> maud::Markup {
    maud::html! {
        @if done { span.ok aria-label="done" { "✓ " } } @else { span.muted aria-label="to do" { "○ " } }
    }
}
