//! Vaults: the list and a form to create one; a vault's secrets as a path tree with a form to
//! add a version, delete, and reveal a value on click. A value is fetched only when asked (an
//! audited read, like the API's), and the page hides it again after 30 seconds.

use super::common::{PathForm, done, email, words, words_of};
use super::vault_tree;
use crate::dashboard::form::Posted;
use crate::dashboard::layout::{csrf_field, error, page};
use crate::dashboard::session::Session;
use crate::error::ApiError;
use crate::routes::secrets::new_secret;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use oneclaw_core::ids::VaultId;
use oneclaw_core::path::{PathPrefix, SecretPath};
use oneclaw_types::SecretString;
use oneclaw_types::secrets::PutSecretRequest;
use serde::Deserialize;
use uuid::Uuid;

/// How long a revealed value stays on the page.
const REVEAL_SECONDS: u32 = 30;
const SECRET_TYPES: &[&str] =
    &["generic", "api_key", "password", "private_key", "certificate", "ssh_key", "file", "note", "env_bundle"];

pub async fn list(State(state): State<AppState>, session: Session) -> Response {
    render_list(&state, session, None).await
}

async fn render_list(state: &AppState, session: Session, problem: Option<&str>) -> Response {
    let vaults = state.core.vaults().list(&session.caller).await.unwrap_or_default();
    let names = super::common::Names::of(state, &session.caller).await;
    let content = html! {
        section.panel aria-labelledby="new-vault" {
            h2 id="new-vault" { "New vault" }
            (error(problem))
            form method="post" action="/vaults" {
                (csrf_field(&session.csrf))
                label for="name" { "Name" }
                input id="name" name="name" required maxlength="255";
                label for="description" { "Description" }
                input id="description" name="description";
                p { button type="submit" { "Create vault" } }
            }
        }
        section.panel aria-labelledby="your-vaults" {
            h2 id="your-vaults" { "Vaults" }
            @if vaults.is_empty() { p.muted { "No vaults yet." } }
            @else {
                table {
                    thead { tr { th { "Name" } th { "Description" } th { "Created by" } } }
                    tbody {
                        @for vault in &vaults {
                            tr {
                                td { a href={ "/vaults/" (vault.id) } { (vault.name) } }
                                td { (vault.description) }
                                td { (names.label(vault.created_by.kind.as_str(), Some(vault.created_by.id))) }
                            }
                        }
                    }
                }
            }
        }
    };
    let email = email(state, &session).await;
    (session.jar, page("Vaults", "/vaults", &email, &session.csrf, content)).into_response()
}

#[derive(Deserialize)]
pub struct NewVault {
    name: String,
    #[serde(default)]
    description: String,
}

pub async fn create(State(state): State<AppState>, Posted { session, form }: Posted<NewVault>) -> Response {
    match state.core.vaults().create(&session.caller, &form.name, Some(&form.description)).await {
        Ok(vault) => (session.jar, Redirect::to(&format!("/vaults/{}", vault.id))).into_response(),
        Err(err) => {
            let problem = ApiError::from(err);
            let detail = problem.detail().to_owned();
            render_list(&state, session, Some(&detail)).await
        }
    }
}

#[derive(Deserialize)]
pub struct Browse {
    folder: Option<String>,
}

/// One folder of a vault (the root unless `?folder=` names another).
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<Uuid>,
    axum::extract::Query(browse): axum::extract::Query<Browse>,
) -> Response {
    match vault_tree::parse_folder(browse.folder.as_deref()) {
        Some(folder) => render_vault(&state, session, id, &folder, None, None).await,
        None => render_vault(&state, session, id, "", Some("That is not a folder of this vault."), None).await,
    }
}

fn reveal_button(vault: Uuid, path: &str, csrf: &str) -> Markup {
    html! {
        form.inline hx-post={ "/vaults/" (vault) "/reveal" } hx-swap="outerHTML" method="post" action={ "/vaults/" (vault) "/reveal" } {
            (csrf_field(csrf))
            input type="hidden" name="path" value=(path);
            button.quiet type="submit" aria-label={ "Reveal the value of " (path) } { "Reveal" }
        }
    }
}

/// The value, replaced by the reveal button again after a while (htmx `load delay`).
fn revealed(vault: Uuid, path: &str, value: &SecretString) -> Markup {
    html! {
        span hx-get={ "/vaults/" (vault) "/hide?path=" (path) } hx-trigger={ "load delay:" (REVEAL_SECONDS) "s" } hx-swap="outerHTML" {
            code.value { (value.expose()) }
        }
    }
}

async fn render_vault(
    state: &AppState,
    session: Session,
    id: Uuid,
    folder: &str,
    problem: Option<&str>,
    reveal: Option<(&str, &SecretString)>,
) -> Response {
    let vault = match state.core.vaults().get(&session.caller, VaultId(id)).await {
        Ok(vault) => vault,
        Err(err) => return ApiError::from(err).into_response(),
    };
    let under = match PathPrefix::parse(folder) {
        Ok(prefix) => state.core.secrets().list(&session.caller, vault.id, &prefix).await,
        Err(err) => Err(err),
    };
    let (secrets, list_problem) = match under {
        Ok(secrets) => (secrets, None),
        Err(err) => (Vec::new(), Some(words_of(&err))),
    };
    let level = vault_tree::level(folder, &secrets);
    let csrf = session.csrf.clone();
    let content = html! {
        (super::environment::tabs(vault.id.0, "Secrets"))
        p.muted { (vault.description) }
        p.ids {
            "Vault id " code id="vault-id" { (vault.id) } " "
            button.quiet type="button" data-copy="vault-id" aria-label="Copy the vault id" { "Copy" }
            span.muted { " (ONECLAW_VAULT_ID, X-Vault-ID, the API's /v1/vaults/{id})" }
        }
        p { a href={ "/sharing?vault=" (vault.id) } { "Grant an agent or a person access to this vault" } }
        section.panel aria-labelledby="secrets" {
            h2 id="secrets" { "Secrets" }
            (vault_tree::breadcrumbs(vault.id.0, &vault.name, folder))
            (error(list_problem.as_deref()))
            @if level.folders.is_empty() && level.secrets.is_empty() {
                p.muted { @if folder.is_empty() { "No secrets in this vault yet." } @else { "No secrets in this folder." } }
            }
            @else {
                table {
                    thead { tr { th { "Name" } th { "Type" } th { "Version" } th { "Value" } th {} } }
                    tbody {
                        @for (name, count) in &level.folders {
                            tr {
                                td colspan="5" {
                                    a href=(vault_tree::folder_url(vault.id.0, &format!("{folder}{name}/"))) { b { (name) "/" } }
                                    " " span.muted { (count) @if *count == 1 { " secret" } @else { " secrets" } }
                                }
                            }
                        }
                        @for secret in &level.secrets {
                            tr {
                                td { b { (secret.path.strip_prefix(folder).unwrap_or(&secret.path)) } }
                                td { (secret.secret_type) }
                                td { (secret.version) }
                                td.value-cell {
                                    @match reveal {
                                        Some((path, value)) if path == secret.path => { (revealed(vault.id.0, path, value)) }
                                        _ => { (reveal_button(vault.id.0, &secret.path, &csrf)) }
                                    }
                                }
                                td {
                                    a href={ "/vaults/" (vault.id) "/versions?path=" (secret.path) } aria-label={ "Versions of " (secret.path) } { "Versions" }
                                    " "
                                    form.inline method="post" action={ "/vaults/" (vault.id) "/share" } {
                                        (csrf_field(&csrf))
                                        input type="hidden" name="path" value=(secret.path);
                                        button.quiet type="submit" aria-label={ "Share a link to " (secret.path) } { "Share link" }
                                    }
                                    " "
                                    form.inline method="post" action={ "/vaults/" (vault.id) "/generate" } {
                                        (csrf_field(&csrf))
                                        input type="hidden" name="path" value=(secret.path);
                                        button.quiet type="submit" aria-label={ "Rotate " (secret.path) " to a generated value" } { "Generate new" }
                                    }
                                    " "
                                    form.inline method="post" action={ "/vaults/" (vault.id) "/delete" }
                                        data-confirm={ "Delete " (secret.path) "? Reads will answer 410; its history stays in the audit log." } {
                                        (csrf_field(&csrf))
                                        input type="hidden" name="path" value=(secret.path);
                                        button.danger type="submit" aria-label={ "Delete " (secret.path) } { "Delete" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.panel aria-labelledby="add" {
            h2 id="add" { "Add or update a secret" }
            (error(problem))
            form method="post" action={ "/vaults/" (vault.id) "/secrets" } {
                (csrf_field(&csrf))
                label for="path" { "Path" }
                input id="path" name="path" required value=(folder) placeholder="api-keys/stripe";
                label for="type" { "Type" }
                select id="type" name="type" { @for t in SECRET_TYPES { option value=(t) { (t) } } }
                label for="value" { "Value" }
                textarea id="value" name="value" required rows="3" autocomplete="off" {}
                p { button type="submit" { "Save" } span.muted { " Saving a path that exists adds a version; the old ones stay." } }
            }
        }
        section.panel aria-labelledby="danger" {
            h2 id="danger" { "Delete this vault" }
            p.muted { "Its secrets are deleted and its keys destroyed: no backup can be read afterwards." }
            form method="post" action={ "/vaults/" (vault.id) "/remove" }
                data-confirm={ "Delete the vault " (vault.name) " with every secret in it? This cannot be undone." } {
                (csrf_field(&csrf))
                button.danger type="submit" { "Delete vault" }
            }
        }
    };
    let email = email(state, &session).await;
    (session.jar, page(&vault.name, "/vaults", &email, &csrf, content)).into_response()
}

#[derive(Deserialize)]
pub struct NewSecretForm {
    path: String,
    #[serde(rename = "type", default)]
    secret_type: Option<String>,
    value: String,
}

pub async fn put(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Posted { session, form }: Posted<NewSecretForm>,
) -> Response {
    let path = match SecretPath::parse(form.path.trim()) {
        Ok(path) => path,
        Err(err) => {
            let detail = ApiError::from(err).detail().to_owned();
            return render_vault(&state, session, id, "", Some(&detail), None).await;
        }
    };
    let folder = vault_tree::folder_of(path.as_str()).to_owned();
    let request = PutSecretRequest {
        secret_type: form.secret_type,
        value: SecretString::new(form.value),
        metadata: None,
        expires_at: None,
        rotation_policy: None,
        max_access_count: None,
    };
    match state.core.secrets().put(&session.caller, VaultId(id), &path, new_secret(request)).await {
        Ok(_) => (session.jar, Redirect::to(&vault_tree::folder_url(id, &folder))).into_response(),
        Err(err) => render_vault(&state, session, id, &folder, Some(&words(err)), None).await,
    }
}

/// Reveals one value: an htmx fragment, or the whole page without JavaScript.
pub async fn reveal(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Posted { session, form }: Posted<PathForm>,
) -> Response {
    let read = match SecretPath::parse(&form.path) {
        Ok(path) => state.core.secrets().read(&session.caller, VaultId(id), &path, None).await,
        Err(err) => Err(err),
    };
    match read {
        Ok(secret) if headers.contains_key("hx-request") => {
            (session.jar, revealed(id, &form.path, &secret.value)).into_response()
        }
        Ok(secret) => {
            let folder = vault_tree::folder_of(&form.path);
            render_vault(&state, session, id, folder, None, Some((&form.path, &secret.value))).await
        }
        Err(err) => {
            let detail = ApiError::from(err).detail().to_owned();
            (session.jar, html! { span.error role="alert" { (detail) } }).into_response()
        }
    }
}

/// The folder of a posted path, or the root if the path is not valid (its error says why).
fn form_folder(path: &str) -> &str {
    if SecretPath::parse(path).is_ok() { vault_tree::folder_of(path) } else { "" }
}

#[derive(Deserialize)]
pub struct HideQuery {
    path: String,
}

/// The reveal button again, when a revealed value's time is up.
pub async fn hide(
    session: Session,
    Path(id): Path<Uuid>,
    axum::extract::Query(query): axum::extract::Query<HideQuery>,
) -> Response {
    (session.jar.clone(), reveal_button(id, &query.path, &session.csrf)).into_response()
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Posted { session, form }: Posted<PathForm>,
) -> Response {
    let result = match SecretPath::parse(&form.path) {
        Ok(path) => state.core.secrets().delete(&session.caller, VaultId(id), &path).await,
        Err(err) => Err(err),
    };
    match result {
        Ok(()) => {
            let to = done(&vault_tree::folder_url(id, form_folder(&form.path)), "secret-deleted");
            (session.jar, Redirect::to(&to)).into_response()
        }
        Err(err) => {
            let detail = ApiError::from(err).detail().to_owned();
            render_vault(&state, session, id, form_folder(&form.path), Some(&detail), None).await
        }
    }
}

/// Rotates a secret to a value the server generates (the value is not shown until revealed).
pub async fn generate(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Posted { session, form }: Posted<PathForm>,
) -> Response {
    let rotation = oneclaw_core::services::Rotation { length: None, charset: None, secret_type: None };
    let result = match SecretPath::parse(&form.path) {
        Ok(path) => state.core.secrets().rotate(&session.caller, VaultId(id), &path, rotation).await.map(|_| ()),
        Err(err) => Err(err),
    };
    match result {
        Ok(()) => (session.jar, Redirect::to(&vault_tree::folder_url(id, form_folder(&form.path)))).into_response(),
        Err(err) => {
            let detail = ApiError::from(err).detail().to_owned();
            render_vault(&state, session, id, form_folder(&form.path), Some(&detail), None).await
        }
    }
}

/// Every version of one secret, never a value.
pub async fn versions(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<Uuid>,
    axum::extract::Query(query): axum::extract::Query<HideQuery>,
) -> Response {
    let listed = match SecretPath::parse(&query.path) {
        Ok(path) => state.core.secrets().versions(&session.caller, VaultId(id), &path).await,
        Err(err) => Err(err),
    };
    let content = html! {
        p { a href=(vault_tree::folder_url(id, form_folder(&query.path))) { "Back to the vault" } }
        @match &listed {
            Ok(versions) => {
                table {
                    thead { tr { th { "Version" } th { "Type" } th { "Created" } th { "Expires" } th { "State" } } }
                    tbody {
                        @for v in versions.iter().rev() {
                            tr {
                                td { (v.version) }
                                td { (v.secret_type) }
                                td { (crate::views::timestamp(v.created_at)) }
                                td { (v.expires_at.map(crate::views::timestamp).unwrap_or_else(|| "never".to_owned())) }
                                td { @if v.is_disabled { "disabled" } @else { "active" } }
                            }
                        }
                    }
                }
            }
            Err(err) => { (error(Some(&words_of(err)))) }
        }
    };
    let email = email(&state, &session).await;
    let title = format!("Versions of {}", query.path);
    (session.jar, page(&title, "/vaults", &email, &session.csrf, content)).into_response()
}

/// Makes a one-time link to a secret, valid for a day, and shows it once.
pub async fn share(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Posted { session, form }: Posted<PathForm>,
) -> Response {
    let core = &state.core;
    let found = match SecretPath::parse(&form.path) {
        Ok(path) => core.secrets().versions(&session.caller, VaultId(id), &path).await,
        Err(err) => Err(err),
    };
    let secret_id = match found.map(|versions| versions.last().map(|v| v.secret_id)) {
        Ok(Some(secret_id)) => secret_id,
        Ok(None) => {
            return render_vault(
                &state,
                session,
                id,
                form_folder(&form.path),
                Some("That secret has no versions."),
                None,
            )
            .await;
        }
        Err(err) => {
            return render_vault(&state, session, id, form_folder(&form.path), Some(&words_of(&err)), None).await;
        }
    };
    let new = oneclaw_core::services::NewShare {
        recipient_type: "anyone_with_link".to_owned(),
        recipient_id: None,
        email: None,
        permissions: None,
        max_access_count: Some(1),
        expires_at: Some(core.deps().clock.now() + time::Duration::days(1)),
        passphrase: None,
        ip_allowlist: None,
    };
    match core.shares().create(&session.caller, secret_id, new).await {
        Ok(created) => {
            let Some(token) = created.link_token else {
                return ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "the link share has no token")
                    .into_response();
            };
            let link = format!("/v1/share/{}", token.expose());
            let content = html! {
                (crate::dashboard::layout::shown_once(&format!("Link to {}", form.path), "share-link", &link))
                p { "It opens once, within a day. Revoke it under Sharing." }
                p { a href=(vault_tree::folder_url(id, form_folder(&form.path))) { "Back to the vault" } }
            };
            let email = email(&state, &session).await;
            (session.jar, page("Share link", "/vaults", &email, &session.csrf, content)).into_response()
        }
        Err(err) => render_vault(&state, session, id, form_folder(&form.path), Some(&words_of(&err)), None).await,
    }
}

/// Deletes the whole vault (its owner or an org admin): its secrets, and its keys destroyed.
pub async fn remove(State(state): State<AppState>, Path(id): Path<Uuid>, Posted { session, .. }: Posted) -> Response {
    match state.core.vaults().delete(&session.caller, VaultId(id)).await {
        Ok(()) => (session.jar, Redirect::to(&done("/vaults", "vault-deleted"))).into_response(),
        Err(err) => {
            let detail = ApiError::from(err).detail().to_owned();
            render_vault(&state, session, id, "", Some(&detail), None).await
        }
    }
}
