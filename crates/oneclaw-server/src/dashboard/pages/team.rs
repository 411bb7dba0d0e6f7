//! Team: the org's members, invitations and roles.

use super::common::{email, words};
use crate::dashboard::form::Posted;
use crate::dashboard::layout::{csrf_field, error, page, shown_once};
use crate::dashboard::session::Session;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use oneclaw_core::ids::{InviteId, UserId};
use serde::Deserialize;
use uuid::Uuid;

const ROLES: &[&str] = &["member", "admin", "owner"];

pub async fn list(State(state): State<AppState>, session: Session) -> Response {
    render(&state, session, None, None).await
}

/// A just-made invitation's link, shown once (its token is in it).
struct NewInvite {
    email: String,
    link: String,
}

async fn render(state: &AppState, session: Session, problem: Option<&str>, new: Option<NewInvite>) -> Response {
    let members = state.core.team().members(&session.caller).await.unwrap_or_default();
    let now = state.core.deps().clock.now();
    let open: Vec<_> = state
        .core
        .team()
        .invites(&session.caller)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|i| i.is_open(now))
        .collect();
    let csrf = session.csrf.clone();
    let content = html! {
        @if let Some(new) = &new {
            (shown_once(&format!("Invitation link for {}", new.email), "invite-link", &new.link))
            p { "Hand it to them yourself: whoever opens it and signs up joins this organization, once, within 7 days." }
        }
        section.panel aria-labelledby="invite" {
            h2 id="invite" { "Invite someone" }
            (error(problem))
            form method="post" action="/team/invite" {
                (csrf_field(&csrf))
                label for="invite-email" { "Email" }
                input id="invite-email" name="email" type="email" required;
                label for="invite-role" { "Role" }
                select id="invite-role" name="role" { @for role in ROLES { option value=(role) { (role) } } }
                p { button type="submit" { "Invite" } }
            }
        }
        @if !open.is_empty() {
            section.panel aria-labelledby="open-invites" {
                h2 id="open-invites" { "Open invitations" }
                table {
                    thead { tr { th { "Email" } th { "Role" } th { "Expires" } th {} } }
                    tbody {
                        @for invite in &open {
                            tr {
                                td { (invite.email) }
                                td { (invite.role.as_str()) }
                                td { (invite.expires_at.map(|at| at.date().to_string()).unwrap_or_default()) }
                                td {
                                    form.inline method="post" action={ "/team/invites/" (invite.id) "/revoke" }
                                        data-confirm={ "Revoke the invitation for " (invite.email) "?" } {
                                        (csrf_field(&csrf))
                                        button.quiet type="submit" aria-label={ "Revoke the invitation for " (invite.email) } { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.panel aria-labelledby="members" {
            h2 id="members" { "Members" }
            table {
                thead { tr { th { "Email" } th { "Name" } th { "Role" } th {} } }
                tbody {
                    @for member in &members {
                        tr {
                            td { (member.email) }
                            td { (member.display_name) }
                            td { (member.role.as_str()) }
                            td {
                                form.inline method="post" action={ "/team/" (member.id) "/role" } {
                                    (csrf_field(&csrf))
                                    label.inline for={ "role-" (member.id) } { "Role for " (member.email) }
                                    select id={ "role-" (member.id) } name="role" {
                                        @for role in ROLES {
                                            @if *role == member.role.as_str() { option value=(role) selected { (role) } }
                                            @else { option value=(role) { (role) } }
                                        }
                                    }
                                    button.quiet type="submit" { "Change" }
                                }
                                @if member.id.0 != session.caller.principal.who.id {
                                    " "
                                    form.inline method="post" action={ "/team/" (member.id) "/remove" }
                                        data-confirm={ "Remove " (member.email) " from the org? Their sessions, keys, agents and shares end." } {
                                        (csrf_field(&csrf))
                                        button.danger type="submit" aria-label={ "Remove " (member.email) } { "Remove" }
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
    (session.jar, page("Team", "/team", &email, &csrf, content)).into_response()
}

#[derive(Deserialize)]
pub struct Invite {
    email: String,
    #[serde(default)]
    role: String,
}

pub async fn invite(
    State(state): State<AppState>,
    headers: HeaderMap,
    Posted { session, form }: Posted<Invite>,
) -> Response {
    let role = (!form.role.is_empty()).then_some(form.role.as_str());
    match state.core.team().invite(&session.caller, &form.email, role).await {
        Ok((invite, token)) => {
            let link = format!("{}/signup?invite={}", state.link_base(&headers), token.expose());
            render(&state, session, None, Some(NewInvite { email: invite.email, link })).await
        }
        Err(err) => render(&state, session, Some(&words(err)), None).await,
    }
}

pub async fn revoke_invite(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Posted { session, .. }: Posted,
) -> Response {
    match state.core.team().revoke_invite(&session.caller, InviteId(id)).await {
        Ok(()) => (session.jar, Redirect::to("/team?done=invite-revoked")).into_response(),
        Err(err) => render(&state, session, Some(&words(err)), None).await,
    }
}

#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
}

pub async fn set_role(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Posted { session, form }: Posted<RoleForm>,
) -> Response {
    match state.core.team().set_role(&session.caller, UserId(id), &form.role).await {
        Ok(_) => (session.jar, Redirect::to("/team")).into_response(),
        Err(err) => render(&state, session, Some(&words(err)), None).await,
    }
}

/// Removes a member (owners and admins): every way in they had ends.
pub async fn remove(State(state): State<AppState>, Path(id): Path<Uuid>, Posted { session, .. }: Posted) -> Response {
    match state.core.team().remove(&session.caller, UserId(id)).await {
        Ok(()) => (session.jar, Redirect::to("/team?done=member-removed")).into_response(),
        Err(err) => render(&state, session, Some(&words(err)), None).await,
    }
}
