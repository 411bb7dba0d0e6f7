//! Audit Log: the org's events, newest first, filtered by action and paged, with the result of
//! verifying the hash chain.

use super::common::{email, words_of};
use crate::dashboard::layout::timestamp;
use crate::dashboard::layout::{error, page};
use crate::dashboard::session::Session;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use oneclaw_core::ports::AuditQuery;
use serde::Deserialize;

const PAGE: i64 = 50;

#[derive(Deserialize, Default)]
pub struct Filter {
    #[serde(default)]
    action: String,
    #[serde(default)]
    page: i64,
    /// Verify the whole chain (on request only: it reads every event of the org).
    #[serde(default)]
    verify: bool,
}

pub async fn list(State(state): State<AppState>, session: Session, Query(filter): Query<Filter>) -> Response {
    let page_number = filter.page.max(0);
    let query = AuditQuery {
        action: (!filter.action.trim().is_empty()).then(|| filter.action.trim().to_owned()),
        limit: PAGE,
        offset: page_number * PAGE,
        ..AuditQuery::default()
    };
    let events = state.core.audit().list(&session.caller, query).await.map_err(|err| words_of(&err));
    let verified = if filter.verify {
        Some(state.core.audit().verify(&session.caller, None, None, 1_000_000).await.map_err(|err| words_of(&err)))
    } else {
        None
    };
    let names = super::common::Names::of(&state, &session.caller).await;
    let content = html! {
        section.panel aria-labelledby="chain" {
            h2 id="chain" { "Chain verification" }
            @match &verified {
                None => {
                    form method="get" action="/audit" {
                        input type="hidden" name="verify" value="true";
                        p { "Checks every event and signed checkpoint of the organization's chain." }
                        p { button type="submit" { "Verify the chain" } }
                    }
                }
                Some(Ok(report)) => {
                    @if report.chain_valid { p.ok { "The chain is intact (" (report.events_checked) " events, " (report.checkpoints_checked) " signed checkpoints checked)." } }
                    @else { p.error role="alert" { "The chain is BROKEN at event " (report.broken_at_seq.unwrap_or_default()) ": " (report.reason.clone().unwrap_or_default()) } }
                }
                Some(Err(refused)) => { p.muted { (refused) } }
            }
        }
        section.panel aria-labelledby="events" {
            h2 id="events" { "Events" }
            form method="get" action="/audit" {
                label for="filter-action" { "Action (e.g. secret.read)" }
                input id="filter-action" name="action" value=(filter.action);
                p { button type="submit" { "Filter" } }
            }
            @match &events {
                Ok(events) => {
                    table {
                        thead { tr { th { "When" } th { "Actor" } th { "Action" } th { "Resource" } th { "Surface" } th { "Outcome" } } }
                        tbody {
                            @for event in events {
                                tr {
                                    td { (timestamp(event.created_at)) }
                                    td { (names.label(&event.actor_type, event.actor_id)) }
                                    td { (event.action) }
                                    td { (event.resource_type) }
                                    td { (event.surface) }
                                    td { (event.outcome.as_str()) }
                                }
                            }
                        }
                    }
                    p {
                        @if page_number > 0 { a href={ "/audit?action=" (filter.action) "&page=" (page_number - 1) } { "Newer" } " " }
                        @if i64::try_from(events.len()).unwrap_or(0) == PAGE { a href={ "/audit?action=" (filter.action) "&page=" (page_number + 1) } { "Older" } }
                    }
                }
                Err(refused) => { (error(Some(refused))) }
            }
        }
    };
    let email = email(&state, &session).await;
    (session.jar, page("Audit Log", "/audit", &email, &session.csrf, content)).into_response()
}
