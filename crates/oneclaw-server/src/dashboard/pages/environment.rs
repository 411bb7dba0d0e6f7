//! A vault's Environment tab: its variables per environment, with forms to add one, set a new
//! value and delete it, a value revealed on click (an audited read, hidden again after 30
//! seconds), and the whole environment as `.env` text behind a reveal (an audited `resolve`).

use super::common::{done, email, words_of};
use crate::dashboard::form::Posted;
use crate::dashboard::layout::{csrf_field, error, page};
use crate::dashboard::session::Session;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use oneclaw_core::env_vars::dotenv;
use oneclaw_core::ids::VaultId;
use oneclaw_core::model::Vault;
use oneclaw_core::services::{EnvSelector, EnvVarChange, NewEnvVar};
use oneclaw_types::SecretString;
use serde::Deserialize;
use uuid::Uuid;

/// How long a revealed value stays on the page.
const REVEAL_SECONDS: u32 = 30;
const DEFAULT_ENVIRONMENT: &str = "production";

/// The tabs of a vault's page.
pub fn tabs(vault: Uuid, current: &str) -> Markup {
    let tab = |href: String, name: &str| {
        html! { a href=(href) aria-current=[(name == current).then_some("page")] { (name) } }
    };
    html! {
        nav.tabs aria-label="Vault" {
            (tab(format!("/vaults/{vault}"), "Secrets")) " "
            (tab(format!("/vaults/{vault}/env"), "Environment"))
        }
    }
}

#[derive(Deserialize)]
pub struct Shown {
    environment: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<Uuid>,
    Query(shown): Query<Shown>,
) -> Response {
    let environment = shown.environment.unwrap_or_else(|| DEFAULT_ENVIRONMENT.to_owned());
    render(&state, session, id, &environment, View::default()).await
}

/// What the page shows besides the list.
#[derive(Default)]
struct View<'a> {
    problem: Option<String>,
    revealed: Option<(&'a str, &'a SecretString)>,
    dotenv: Option<String>,
}

fn reveal_button(vault: Uuid, environment: &str, key: &str, csrf: &str) -> Markup {
    let action = format!("/vaults/{vault}/env/reveal");
    html! {
        form.inline hx-post=(action) hx-swap="outerHTML" method="post" action=(action) {
            (csrf_field(csrf))
            input type="hidden" name="environment" value=(environment);
            input type="hidden" name="key" value=(key);
            button.quiet type="submit" aria-label={ "Reveal the value of " (key) } { "Reveal" }
        }
    }
}

fn revealed(vault: Uuid, environment: &str, key: &str, value: &SecretString) -> Markup {
    html! {
        span hx-get={ "/vaults/" (vault) "/env/hide?environment=" (environment) "&key=" (key) }
            hx-trigger={ "load delay:" (REVEAL_SECONDS) "s" } hx-swap="outerHTML" {
            code.value { (value.expose()) }
        }
    }
}

async fn render(state: &AppState, session: Session, id: Uuid, environment: &str, view: View<'_>) -> Response {
    let core = &state.core;
    let vault: Vault = match core.vaults().get(&session.caller, VaultId(id)).await {
        Ok(vault) => vault,
        Err(err) => return ApiError::from(err).into_response(),
    };
    let environments = core.shared_env().environments(&session.caller, vault.id).await.unwrap_or_default();
    let listed = core.env_vars().list(&session.caller, vault.id, Some(environment)).await;
    let (vars, list_problem) = match listed {
        Ok(vars) => (vars, None),
        Err(err) => (Vec::new(), Some(words_of(&err))),
    };
    let csrf = session.csrf.clone();
    let base = format!("/vaults/{}/env", vault.id);
    let content = html! {
        (tabs(vault.id.0, "Environment"))
        nav.tabs aria-label="Environments" {
            @for env in &environments {
                a href={ (base) "?environment=" (env.slug) } aria-current=[(env.slug == environment).then_some("page")] { (env.slug) } " "
            }
        }
        section.panel aria-labelledby="variables" {
            h2 id="variables" { "Variables in " (environment) }
            (error(list_problem.as_deref()))
            (error(view.problem.as_deref()))
            @if vars.is_empty() && list_problem.is_none() { p.muted { "No variables in this environment yet." } }
            @else if !vars.is_empty() {
                table {
                    thead { tr { th { "Key" } th { "Value" } th { "Version" } th {} } }
                    tbody {
                        @for var in &vars {
                            tr {
                                td {
                                    b { (var.key) }
                                    @if let Some(branch) = &var.git_branch { br; span.muted { "branch " (branch) } }
                                    @if let Some(comment) = &var.comment { br; span.muted { (comment) } }
                                    @let others: Vec<&str> = var.environments.iter().map(String::as_str).filter(|e| *e != environment).collect();
                                    @if !others.is_empty() { br; span.muted { "also in " (others.join(", ")) } }
                                }
                                td.value-cell {
                                    @if var.git_branch.is_some() { span.muted { "(see the API)" } }
                                    @else {
                                        @match view.revealed {
                                            Some((key, value)) if key == var.key => { (revealed(vault.id.0, environment, key, value)) }
                                            _ => { (reveal_button(vault.id.0, environment, &var.key, &csrf)) }
                                        }
                                    }
                                }
                                td { (var.version) }
                                td {
                                    @if var.git_branch.is_none() {
                                        details {
                                            summary aria-label={ "Edit " (var.key) } { "Edit" }
                                            form method="post" action={ (base) "/update" } {
                                                (csrf_field(&csrf))
                                                input type="hidden" name="environment" value=(environment);
                                                input type="hidden" name="key" value=(var.key);
                                                label for={ "value-" (var.id) } { "New value" }
                                                textarea id={ "value-" (var.id) } name="value" required rows="2" autocomplete="off" {}
                                                p { button type="submit" { "Save" } span.muted { " Applies to every environment it is in." } }
                                            }
                                        }
                                        form.inline method="post" action={ (base) "/delete" }
                                            data-confirm={ "Take " (var.key) " out of " (environment) "? When this is its last environment it is deleted." } {
                                            (csrf_field(&csrf))
                                            input type="hidden" name="environment" value=(environment);
                                            input type="hidden" name="key" value=(var.key);
                                            button.danger type="submit" aria-label={ "Delete " (var.key) } { "Delete" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.panel aria-labelledby="dotenv" {
            h2 id="dotenv" { "As a .env file" }
            @match &view.dotenv {
                Some(text) => {
                    p.muted { "Every variable " (environment) " resolves to, shared ones included. The reveal was recorded in the audit log." }
                    pre.value id="dotenv-text" { (text) }
                    p { button.quiet type="button" data-copy="dotenv-text" { "Copy" } " " a href={ (base) "?environment=" (environment) } { "Hide" } }
                }
                None => {
                    form method="post" action={ (base) "/dotenv" } {
                        (csrf_field(&csrf))
                        input type="hidden" name="environment" value=(environment);
                        button type="submit" { "Reveal as .env" }
                        span.muted { " Shows every value of " (environment) " (an audited read)." }
                    }
                }
            }
        }
        section.panel aria-labelledby="add-variable" {
            h2 id="add-variable" { "Add a variable" }
            form method="post" action=(base) {
                (csrf_field(&csrf))
                label for="key" { "Key" }
                input id="key" name="key" required maxlength="256" pattern="[A-Za-z_][A-Za-z0-9_]*" placeholder="DATABASE_URL" autocomplete="off";
                label for="env-value" { "Value" }
                textarea id="env-value" name="value" required rows="3" autocomplete="off" {}
                label for="env-environment" { "Environment" }
                select id="env-environment" name="environment" {
                    @for env in &environments {
                        option value=(env.slug) selected[env.slug == environment] { (env.slug) }
                    }
                    option value="*" { "all three built-in environments" }
                }
                label for="comment" { "Comment" }
                input id="comment" name="comment" maxlength="1024";
                p { button type="submit" { "Add variable" } }
            }
        }
    };
    let email = email(state, &session).await;
    let title = format!("{}: environment", vault.name);
    (session.jar, page(&title, "/vaults", &email, &csrf, content)).into_response()
}

#[derive(Deserialize)]
pub struct NewVarForm {
    key: String,
    value: String,
    environment: String,
    #[serde(default)]
    comment: String,
}

pub async fn add(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Posted { session, form }: Posted<NewVarForm>,
) -> Response {
    let environments = (form.environment != "*").then(|| vec![form.environment.clone()]);
    let shown = if form.environment == "*" { DEFAULT_ENVIRONMENT.to_owned() } else { form.environment.clone() };
    let new = NewEnvVar {
        key: form.key.trim().to_owned(),
        value: SecretString::new(form.value),
        environments,
        git_branch: None,
        sensitive: false,
        comment: Some(form.comment),
    };
    match state.core.env_vars().create(&session.caller, VaultId(id), new).await {
        Ok(_) => (session.jar, Redirect::to(&format!("/vaults/{id}/env?environment={shown}"))).into_response(),
        Err(err) => {
            let problem = Some(words_of(&err));
            render(&state, session, id, &shown, View { problem, ..View::default() }).await
        }
    }
}

#[derive(Deserialize)]
pub struct KeyForm {
    environment: String,
    key: String,
}

pub async fn reveal(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Posted { session, form }: Posted<KeyForm>,
) -> Response {
    let select = EnvSelector { environment: Some(&form.environment), git_branch: None };
    match state.core.env_vars().get(&session.caller, VaultId(id), &form.key, select).await {
        Ok((_, value)) if headers.contains_key("hx-request") => {
            (session.jar, revealed(id, &form.environment, &form.key, &value)).into_response()
        }
        Ok((_, value)) => {
            let view = View { revealed: Some((&form.key, &value)), ..View::default() };
            render(&state, session, id, &form.environment, view).await
        }
        Err(err) => (session.jar, html! { span.error role="alert" { (words_of(&err)) } }).into_response(),
    }
}

#[derive(Deserialize)]
pub struct HideQuery {
    environment: String,
    key: String,
}

/// The reveal button again, when a revealed value's time is up.
pub async fn hide(session: Session, Path(id): Path<Uuid>, Query(query): Query<HideQuery>) -> Response {
    (session.jar.clone(), reveal_button(id, &query.environment, &query.key, &session.csrf)).into_response()
}

#[derive(Deserialize)]
pub struct UpdateForm {
    environment: String,
    key: String,
    value: String,
}

pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Posted { session, form }: Posted<UpdateForm>,
) -> Response {
    let select = EnvSelector { environment: Some(&form.environment), git_branch: None };
    let change = EnvVarChange { value: Some(SecretString::new(form.value)), ..EnvVarChange::default() };
    match state.core.env_vars().update(&session.caller, VaultId(id), &form.key, select, change).await {
        Ok(_) => {
            let to = format!("/vaults/{id}/env?environment={}", form.environment);
            (session.jar, Redirect::to(&to)).into_response()
        }
        Err(err) => {
            let problem = Some(words_of(&err));
            render(&state, session, id, &form.environment, View { problem, ..View::default() }).await
        }
    }
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Posted { session, form }: Posted<KeyForm>,
) -> Response {
    let select = EnvSelector { environment: Some(&form.environment), git_branch: None };
    match state.core.env_vars().delete(&session.caller, VaultId(id), &form.key, select).await {
        Ok(()) => {
            let to = done(&format!("/vaults/{id}/env?environment={}", form.environment), "env-var-deleted");
            (session.jar, Redirect::to(&to)).into_response()
        }
        Err(err) => {
            let problem = Some(words_of(&err));
            render(&state, session, id, &form.environment, View { problem, ..View::default() }).await
        }
    }
}

#[derive(Deserialize)]
pub struct EnvironmentForm {
    environment: String,
}

/// The whole environment as `.env` text: a `resolve`, audited and metered.
pub async fn reveal_dotenv(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Posted { session, form }: Posted<EnvironmentForm>,
) -> Response {
    match state.core.env_vars().resolve(&session.caller, VaultId(id), Some(&form.environment), None).await {
        Ok(resolved) => {
            let text = dotenv(resolved.vars.iter().map(|(key, (value, _))| (key.as_str(), value.expose())));
            render(&state, session, id, &form.environment, View { dotenv: Some(text), ..View::default() }).await
        }
        Err(err) => {
            let problem = Some(words_of(&err));
            render(&state, session, id, &form.environment, View { problem, ..View::default() }).await
        }
    }
}
