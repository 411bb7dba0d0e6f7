//! API Keys: personal `1ck_` keys, created (shown once) and revoked.

use super::common::{email, words};
use crate::dashboard::form::Posted;
use crate::dashboard::layout::timestamp;
use crate::dashboard::layout::{csrf_field, error, page, shown_once};
use crate::dashboard::session::Session;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use oneclaw_core::ids::ApiKeyId;
use serde::Deserialize;
use uuid::Uuid;

pub async fn list(State(state): State<AppState>, session: Session) -> Response {
    render(&state, session, None, None).await
}

async fn render(state: &AppState, session: Session, problem: Option<&str>, new_key: Option<String>) -> Response {
    let keys = state.core.api_keys().list(&session.caller).await.unwrap_or_default();
    let csrf = session.csrf.clone();
    let content = html! {
        @if let Some(key) = &new_key { (shown_once("Your new key", "api-key", key)) }
        section.panel aria-labelledby="new-api-key" {
            h2 id="new-api-key" { "Create an API key" }
            (error(problem))
            form method="post" action="/api-keys" {
                (csrf_field(&csrf))
                label for="key-name" { "Name" }
                input id="key-name" name="name" required maxlength="100";
                p { button type="submit" { "Create key" } }
            }
        }
        section.panel aria-labelledby="api-keys" {
            h2 id="api-keys" { "API keys" }
            @if keys.is_empty() { p.muted { "No API keys." } }
            @else {
                table {
                    thead { tr { th { "Name" } th { "Key" } th { "Created" } th { "Status" } th {} } }
                    tbody {
                        @for key in &keys {
                            tr {
                                td { (key.name) }
                                td { code { (key.key_prefix) "…" } }
                                td { (timestamp(key.created_at)) }
                                td { @if key.is_active { span.ok { "active" } } @else { span.muted { "revoked" } } }
                                td {
                                    @if key.is_active {
                                        form.inline method="post" action={ "/api-keys/" (key.id) "/revoke" }
                                            data-confirm={ "Revoke the key " (key.name) "? Every token exchanged for it stops working." } {
                                            (csrf_field(&csrf))
                                            button.danger type="submit" aria-label={ "Revoke " (key.name) } { "Revoke" }
                                        }
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
    (session.jar, page("API Keys", "/api-keys", &email, &csrf, content)).into_response()
}

#[derive(Deserialize)]
pub struct NewKey {
    name: String,
}

pub async fn create(State(state): State<AppState>, Posted { session, form }: Posted<NewKey>) -> Response {
    match state.core.api_keys().create(&session.caller, &form.name, Vec::new(), None).await {
        Ok(created) => {
            let secret = created.secret.expose().to_owned();
            render(&state, session, None, Some(secret)).await
        }
        Err(err) => render(&state, session, Some(&words(err)), None).await,
    }
}

pub async fn revoke(State(state): State<AppState>, Path(id): Path<Uuid>, Posted { session, .. }: Posted) -> Response {
    match state.core.api_keys().revoke(&session.caller, ApiKeyId(id)).await {
        Ok(()) => (session.jar, Redirect::to("/api-keys?done=key-revoked")).into_response(),
        Err(err) => render(&state, session, Some(&words(err)), None).await,
    }
}
