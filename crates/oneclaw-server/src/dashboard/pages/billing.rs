//! Billing: the plan, this month's usage against the quota, credits, and paid requests.

use super::common::email;
use crate::dashboard::layout::page;
use crate::dashboard::layout::timestamp;
use crate::dashboard::session::Session;
use crate::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;

fn usd(micros: i64) -> String {
    format!("${:.4}", micros as f64 / 1_000_000.0)
}

pub async fn show(State(state): State<AppState>, session: Session) -> Response {
    let billing = state.core.billing();
    let sub = billing.subscription(&session.caller).await.ok();
    let paid = billing.history(&session.caller, 50).await.unwrap_or_default();
    let content = html! {
        @if !billing.enabled() { p.muted { "Billing is off on this server: nothing is metered or charged." } }
        section.panel aria-labelledby="org" {
            h2 id="org" { "Your org" }
            p { "Org id " code id="org-id" { (session.caller.org_id()) } " "
                button.quiet type="button" data-copy="org-id" aria-label="Copy the org id" { "Copy" } }
            p.muted {
                "The server's operator changes an org's plan with "
                code { "oneclaw org set-tier --org " (session.caller.org_id()) " --tier pro" }
                " and adds prepaid credits with "
                code { "oneclaw billing grant-credits" } "."
            }
        }
        @if let Some(sub) = &sub {
            div.cards {
                div.panel.card { b { (sub.usage.tier.as_str()) } "plan" }
                div.panel.card {
                    b { (sub.usage.used) }
                    @match sub.usage.limit { Some(limit) => { "of " (limit) " requests this month" } None => { "requests this month" } }
                }
                div.panel.card { b { (usd(sub.credit_balance_micros)) } "prepaid credits" }
                div.panel.card { b { (sub.usage.overage_method.as_str()) } "pays past the allowance" }
            }
        }
        section.panel aria-labelledby="payments" {
            h2 id="payments" { "Paid requests" }
            @if paid.is_empty() { p.muted { "None yet." } }
            @else {
                table {
                    thead { tr { th { "When" } th { "Request" } th { "Price" } th { "Paid with" } } }
                    tbody {
                        @for p in &paid {
                            tr { td { (timestamp(p.created_at)) } td { (p.method) " " (p.endpoint) } td { (usd(p.price_micros)) } td { (p.paid_with) } }
                        }
                    }
                }
            }
        }
    };
    let email = email(&state, &session).await;
    (session.jar, page("Billing", "/billing", &email, &session.csrf, content)).into_response()
}
