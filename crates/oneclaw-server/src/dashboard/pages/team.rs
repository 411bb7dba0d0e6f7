//! Team: the org's members, invitations and roles.

use super::common::{email, forbidden_form, words};
use crate::dashboard::layout::{csrf_field, error, page};
use crate::dashboard::session::Session;
use crate::state::AppState;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use oneclaw_core::ids::UserId;
use serde::Deserialize;
use uuid::Uuid;

const ROLES: &[&str] = &["member", "admin", "owner"];

pub async fn list(State(state): State<AppState>, session: Session) -> Response {
    render(&state, session, None, None).await
}

async fn render(state: &AppState, session: Session, problem: Option<&str>, notice: Option<&str>) -> Response {
    let members = state.core.team().members(&session.caller).await.unwrap_or_default();
    let csrf = session.csrf.clone();
    let content = html! {
        section.panel aria-labelledby="invite" {
            h2 id="invite" { "Invite someone" }
            (error(problem))
            @if let Some(notice) = notice { p.ok role="status" { (notice) } }
            form method="post" action="/team/invite" {
                (csrf_field(&csrf))
                label for="invite-email" { "Email" }
                input id="invite-email" name="email" type="email" required;
                label for="invite-role" { "Role" }
                select id="invite-role" name="role" { @for role in ROLES { option value=(role) { (role) } } }
                p { button type="submit" { "Invite" } }
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
    #[serde(default)]
    csrf: String,
    email: String,
    #[serde(default)]
    role: String,
}

pub async fn invite(State(state): State<AppState>, session: Session, Form(form): Form<Invite>) -> Response {
    if !session.csrf_ok(&form.csrf) {
        return forbidden_form();
    }
    let role = (!form.role.is_empty()).then_some(form.role.as_str());
    match state.core.team().invite(&session.caller, &form.email, role).await {
        Ok(_) => {
            let notice = format!("Invited {}: they join this org when they sign up.", form.email.trim());
            render(&state, session, None, Some(&notice)).await
        }
        Err(err) => render(&state, session, Some(&words(err)), None).await,
    }
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    csrf: String,
    role: String,
}

pub async fn set_role(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<Uuid>,
    Form(form): Form<RoleForm>,
) -> Response {
    if !session.csrf_ok(&form.csrf) {
        return forbidden_form();
    }
    match state.core.team().set_role(&session.caller, UserId(id), &form.role).await {
        Ok(_) => (session.jar, Redirect::to("/team")).into_response(),
        Err(err) => render(&state, session, Some(&words(err)), None).await,
    }
}
