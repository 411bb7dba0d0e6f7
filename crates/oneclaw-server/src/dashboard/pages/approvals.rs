//! Approvals: the requests this person may decide (pending first, then the latest decided),
//! with Approve (one use, or a window up to what the policy allows) and Reject; and the count
//! badge the sidebar loads.

use super::common::{Names, email, words, words_of};
use crate::dashboard::form::Posted;
use crate::dashboard::layout::{bare, csrf_field, page, timestamp};
use crate::dashboard::session::Session;
use crate::extract::Meta;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use oneclaw_core::approvals::{Approval, ApprovalStatus};
use oneclaw_core::ids::ApprovalId;
use oneclaw_core::services::Verdict;
use serde::Deserialize;
use uuid::Uuid;

/// Windows an approver may pick, in seconds (those within the policy's limit are offered).
const WINDOWS: &[(i64, &str)] = &[(900, "15 minutes"), (3600, "1 hour"), (14_400, "4 hours"), (86_400, "1 day")];

/// How many decided requests the page shows under the pending ones.
const RECENT: usize = 20;

pub async fn list(State(state): State<AppState>, session: Session) -> Response {
    render(&state, session, None).await
}

async fn render(state: &AppState, session: Session, problem: Option<String>) -> Response {
    let core = &state.core;
    let now = core.deps().clock.now();
    let all = core.approvals().list(&session.caller, None, oneclaw_core::services::MAX_APPROVALS, 0).await;
    let (pending, decided): (Vec<Approval>, Vec<Approval>) = match &all {
        Ok(all) => all.iter().cloned().partition(|a| a.status_at(now) == ApprovalStatus::Pending),
        Err(_) => (Vec::new(), Vec::new()),
    };
    let names = Names::of(state, &session.caller).await;
    let me = session.caller.principal.who;
    let csrf = session.csrf.clone();
    let content = html! {
        @if let Some(problem) = &problem { p.error role="alert" { (problem) } }
        @if let Err(err) = &all { p.error role="alert" { (words_of(err)) } }
        section.panel aria-labelledby="pending" {
            h2 id="pending" { "Waiting for a decision" }
            @if pending.is_empty() {
                p.muted { "Nothing is waiting. When a policy requires approval, an agent's request appears here." }
            } @else {
                // One block per request, not a table: on a phone the buttons stay in view.
                ul.requests {
                    @for approval in &pending {
                        li {
                            p {
                                strong { (describe(approval)) }
                                br;
                                span.muted {
                                    "asked by " (names.label(approval.requester.kind.as_str(), Some(approval.requester.id)))
                                    " from " (approval.requester_ip.as_deref().unwrap_or("an unknown address"))
                                    ", expires " (timestamp(approval.expires_at))
                                }
                                @if let Some(reason) = &approval.reason { br; "“" (reason) "”" }
                            }
                            @if approval.requester == me {
                                p.muted { "Your own request: someone else decides it." }
                            } @else {
                                form.inline method="post" action={ "/approvals/" (approval.id) "/decide" } {
                                    (csrf_field(&csrf))
                                    input type="hidden" name="decision" value="approve";
                                    @let windows: Vec<_> = WINDOWS.iter().filter(|(secs, _)| *secs <= approval.max_window_seconds).collect();
                                    @if !windows.is_empty() {
                                        label.muted for={ "window-" (approval.id) } { "For " }
                                        select id={ "window-" (approval.id) } name="window_seconds" {
                                            option value="0" selected { "one use" }
                                            @for (secs, label) in windows { option value=(secs) { (label) } }
                                        }
                                        " "
                                    }
                                    button type="submit" { "Approve" }
                                }
                                " "
                                form.inline method="post" action={ "/approvals/" (approval.id) "/decide" } {
                                    (csrf_field(&csrf))
                                    input type="hidden" name="decision" value="reject";
                                    button.danger type="submit" { "Reject" }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.panel aria-labelledby="decided" {
            h2 id="decided" { "Decided lately" }
            @if decided.is_empty() { p.muted { "No decisions yet." } }
            @else {
                table {
                    thead { tr { th { "Who asked" } th { "What" } th { "Status" } th { "By" } th { "When" } } }
                    tbody {
                        @for approval in decided.iter().take(RECENT) {
                            tr {
                                td { (names.label(approval.requester.kind.as_str(), Some(approval.requester.id))) }
                                td { (describe(approval)) }
                                td { (status_words(approval, now)) }
                                td { (approval.decided_by.map(|u| names.label("user", Some(u.0))).unwrap_or_default()) }
                                td { (approval.decided_at.map(timestamp).unwrap_or_default()) }
                            }
                        }
                    }
                }
            }
        }
    };
    let email = email(state, &session).await;
    (session.jar, page("Approvals", "/approvals", &email, &csrf, content)).into_response()
}

/// "read db/password in prod", or the action an agent asked for.
fn describe(approval: &Approval) -> String {
    match (&approval.secret_use, approval.summary.get("vault_name").and_then(|v| v.as_str())) {
        (Some(secret_use), Some(vault)) => format!("{} {} in {vault}", secret_use.operation, secret_use.path),
        (Some(secret_use), None) => format!("{} {}", secret_use.operation, secret_use.path),
        (None, _) => format!("{} on {} {}", approval.action, approval.target_type, approval.target_id),
    }
}

fn status_words(approval: &Approval, now: time::OffsetDateTime) -> String {
    match (approval.status_at(now), approval.grant_until) {
        (ApprovalStatus::Approved, Some(until)) if until > now => format!("approved until {}", timestamp(until)),
        (ApprovalStatus::Approved, Some(_)) => "approved (window closed)".to_owned(),
        (ApprovalStatus::Approved, None) => "approved for one use".to_owned(),
        (ApprovalStatus::Used, _) => "approved, used".to_owned(),
        (status, _) => status.as_str().to_owned(),
    }
}

#[derive(Deserialize)]
pub struct DecideForm {
    decision: String,
    #[serde(default)]
    window_seconds: Option<i64>,
}

pub async fn decide(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Posted { session, form }: Posted<DecideForm>,
) -> Response {
    let verdict = match Verdict::parse(&form.decision) {
        Ok(verdict) => verdict,
        Err(err) => return render(&state, session, Some(words(err))).await,
    };
    let window = form.window_seconds.filter(|secs| *secs > 0);
    match state.core.approvals().decide(&session.caller, ApprovalId(id), verdict, None, window).await {
        Ok(_) => (session.jar, Redirect::to("/approvals")).into_response(),
        Err(err) => render(&state, session, Some(words(err))).await,
    }
}

/// The sidebar's count of requests waiting for this person (empty when none).
pub async fn badge(State(state): State<AppState>, session: Session) -> Response {
    let now = state.core.deps().clock.now();
    let approvals = state.core.approvals();
    let found = approvals.list(&session.caller, Some("pending"), oneclaw_core::services::MAX_APPROVALS, 0).await;
    let me = session.caller.principal.who;
    let waiting = found
        .map(|found| found.iter().filter(|a| a.requester != me && a.status_at(now) == ApprovalStatus::Pending).count())
        .unwrap_or(0);
    let markup = html! {
        @if waiting > 0 { span.badge aria-label={ (waiting) " waiting" } { (waiting) } }
    };
    (session.jar, markup).into_response()
}

#[derive(Deserialize)]
pub struct QuickQuery {
    #[serde(default)]
    token: String,
}

/// The page a mailed one-click link opens: what the request is, and Approve / Reject buttons.
/// Opening it decides nothing (mail scanners follow links); the buttons post the link's token.
pub async fn quick_show(Query(query): Query<QuickQuery>) -> Response {
    let content = html! {
        main.signin {
            div.panel {
                h1 { "Decide an approval request" }
                p { "This link decides one request, once. Approve only if you expect it." }
                form.inline method="post" action="/approvals/quick" {
                    input type="hidden" name="token" value=(query.token);
                    input type="hidden" name="decision" value="approve";
                    button type="submit" { "Approve" }
                }
                " "
                form.inline method="post" action="/approvals/quick" {
                    input type="hidden" name="token" value=(query.token);
                    input type="hidden" name="decision" value="reject";
                    button.danger type="submit" { "Reject" }
                }
                p.muted { a href="/approvals" { "Or decide under Approvals in the dashboard" } }
            }
        }
    };
    bare("Approval request", content).into_response()
}

#[derive(Deserialize)]
pub struct QuickForm {
    token: String,
    decision: String,
}

/// Decides through a mailed link, as the approver it was sent to.
pub async fn quick_decide(
    State(state): State<AppState>,
    Meta(meta): Meta,
    axum::Form(form): axum::Form<QuickForm>,
) -> Response {
    let outcome = match Verdict::parse(&form.decision) {
        Ok(verdict) => state.core.approvals().decide_by_link(&meta, &form.token, verdict).await,
        Err(err) => Err(err),
    };
    let (status, title, words) = match outcome {
        Ok(approval) if approval.status == ApprovalStatus::Rejected => {
            (axum::http::StatusCode::OK, "Rejected", "The request was rejected.".to_owned())
        }
        Ok(_) => (axum::http::StatusCode::OK, "Approved", "Approved: the requester may now retry, once.".to_owned()),
        Err(err) => {
            let refused = crate::error::ApiError::from(err);
            (refused.status(), "Not decided", refused.detail().to_owned())
        }
    };
    let content = html! {
        main.signin { div.panel { h1 { (title) } p role="status" { (words) } p { a href="/approvals" { "Approvals" } } } }
    };
    (status, bare(title, content)).into_response()
}
