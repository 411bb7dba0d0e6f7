//! `/device`: where a person approves (or denies) `oneclaw login` on a machine, by the code the
//! command printed. Only the account the command named can approve it.

use super::common::{email, words_of};
use crate::dashboard::form::Posted;
use crate::dashboard::layout::{csrf_field, error, page};
use crate::dashboard::session::Session;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct CodeQuery {
    code: Option<String>,
}

pub async fn show(State(state): State<AppState>, session: Session, Query(query): Query<CodeQuery>) -> Response {
    let code = query.code.filter(|c| !c.trim().is_empty());
    render(&state, session, code.as_deref(), None).await
}

async fn render(state: &AppState, session: Session, code: Option<&str>, outcome: Option<&str>) -> Response {
    let csrf = session.csrf.clone();
    let waiting = match code {
        Some(code) => Some(state.core.auth().device_code(&session.caller.meta, code).await),
        None => None,
    };
    let content = html! {
        section.panel aria-labelledby="device" {
            h2 id="device" { "Sign in a command line" }
            @if let Some(outcome) = outcome { p.notice role="status" { (outcome) } }
            @match &waiting {
                None => {
                    p { "Type the code `oneclaw login` printed." }
                    form method="get" action="/device" {
                        label for="code" { "Code" }
                        input id="code" name="code" required autocomplete="off" placeholder="BCDF-GHJK";
                        p { button type="submit" { "Continue" } }
                    }
                }
                Some(Err(err)) => { (error(Some(&words_of(err)))) p { a href="/device" { "Type another code" } } }
                Some(Ok(found)) if outcome.is_none() => {
                    p { "A command line (" code { (found.client_id) } ") asks to sign in as you with the code " b { (found.user_code) } "." }
                    p.muted { "Approve only if you started it yourself, just now. It gets a session like signing in here; sign it out under Security." }
                    form.inline method="post" action="/device/approve" {
                        (csrf_field(&csrf))
                        input type="hidden" name="code" value=(found.user_code);
                        button type="submit" { "Approve" }
                    }
                    " "
                    form.inline method="post" action="/device/deny" {
                        (csrf_field(&csrf))
                        input type="hidden" name="code" value=(found.user_code);
                        button.danger type="submit" { "Deny" }
                    }
                }
                Some(Ok(_)) => {}
            }
        }
    };
    let email = email(state, &session).await;
    (session.jar, page("Device login", "/dashboard", &email, &csrf, content)).into_response()
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
}

pub async fn approve(State(state): State<AppState>, Posted { session, form }: Posted<CodeForm>) -> Response {
    decide(&state, session, &form.code, true).await
}

pub async fn deny(State(state): State<AppState>, Posted { session, form }: Posted<CodeForm>) -> Response {
    decide(&state, session, &form.code, false).await
}

async fn decide(state: &AppState, session: Session, code: &str, approve: bool) -> Response {
    match state.core.auth().device_decide(&session.caller, code, approve).await {
        Ok(_) if approve => {
            render(
                state,
                session,
                Some(code),
                Some("Approved: the command line is signed in. You can close this page."),
            )
            .await
        }
        Ok(_) => render(state, session, Some(code), Some("Denied: the command line was refused.")).await,
        Err(err) => {
            let words = words_of(&err);
            let csrf = session.csrf.clone();
            let content =
                html! { section.panel { (error(Some(&words))) p { a href="/device" { "Type another code" } } } };
            let email = email(state, &session).await;
            (session.jar, page("Device login", "/dashboard", &email, &csrf, content)).into_response()
        }
    }
}
