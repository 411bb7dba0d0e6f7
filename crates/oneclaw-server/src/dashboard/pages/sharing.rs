//! Sharing: the policies of a vault (grant with a path glob, permissions and an optional
//! expiry, revoke) and the share links this person made (revoke).

use super::common::{email, words, words_of};
use crate::dashboard::form::Posted;
use crate::dashboard::layout::timestamp;
use crate::dashboard::layout::{csrf_field, error, page};
use crate::dashboard::session::Session;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use oneclaw_core::ids::{PolicyId, ShareId, VaultId};
use oneclaw_core::services::PolicyDraft;
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

#[derive(Deserialize, Default)]
pub struct Which {
    #[serde(default)]
    vault: Option<Uuid>,
}

pub async fn show(State(state): State<AppState>, session: Session, Query(which): Query<Which>) -> Response {
    render(&state, session, which.vault, None).await
}

async fn render(state: &AppState, session: Session, vault: Option<Uuid>, problem: Option<&str>) -> Response {
    let core = &state.core;
    let vaults = core.vaults().list(&session.caller).await.unwrap_or_default();
    let chosen = vault.or_else(|| vaults.first().map(|v| v.id.0));
    let policies = match chosen {
        Some(id) => Some(core.policies().list(&session.caller, VaultId(id)).await),
        None => None,
    };
    let agents = core.agents().list(&session.caller).await.unwrap_or_default();
    let members = core.team().members(&session.caller).await.unwrap_or_default();
    let shares = core.shares().outbound(&session.caller).await.unwrap_or_default();
    let now = core.deps().clock.now();
    // Names instead of ids where this person can see them.
    let who = |principal: &oneclaw_core::principal::PrincipalRef| -> String {
        let name = agents
            .iter()
            .find(|a| a.id.0 == principal.id)
            .map(|a| format!("agent {}", a.name))
            .or_else(|| members.iter().find(|m| m.id.0 == principal.id).map(|m| format!("user {}", m.email)));
        name.unwrap_or_else(|| format!("{}:{}", principal.kind.as_str(), principal.id))
    };
    let csrf = session.csrf.clone();
    let content = html! {
        form method="get" action="/sharing" {
            label for="vault" { "Vault" }
            select id="vault" name="vault" data-autosubmit {
                @for v in &vaults {
                    @if Some(v.id.0) == chosen { option value=(v.id) selected { (v.name) } } @else { option value=(v.id) { (v.name) } }
                }
            }
            noscript { button type="submit" { "Show" } }
        }
        @if let Some(vault) = chosen {
            section.panel aria-labelledby="policies" {
                h2 id="policies" { "Who may use this vault" }
                (error(problem))
                @match &policies {
                    Some(Ok(policies)) => {
                        @if policies.is_empty() { p.muted { "No policies: only the vault's owner and org admins have access." } }
                        @else {
                            table {
                                thead { tr { th { "Who" } th { "Paths" } th { "Permissions" } th { "Effect" } th { "Approval" } th { "Expires" } th {} } }
                                tbody {
                                    @for policy in policies {
                                        tr {
                                            td { (who(&policy.principal)) }
                                            td { code { (policy.pattern.as_str()) } }
                                            td { (policy.permissions.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")) }
                                            td { (policy.effect.as_str()) }
                                            td { @if policy.conditions.require_approval.is_some() { "each use" } @else { "no" } }
                                            td { (policy.expires_at.map(timestamp).unwrap_or_else(|| "never".to_owned())) }
                                            td {
                                                form.inline method="post" action={ "/sharing/" (vault) "/policies/" (policy.id) "/revoke" }
                                                    data-confirm={ "Revoke this policy on " (policy.pattern.as_str()) "?" } {
                                                    (csrf_field(&csrf))
                                                    button.danger type="submit" { "Revoke" }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        h3 { "Grant access" }
                        form method="post" action={ "/sharing/" (vault) "/policies" } {
                            (csrf_field(&csrf))
                            label for="principal" { "To" }
                            select id="principal" name="principal" required {
                                @for agent in &agents { option value={ "agent:" (agent.id) } { "agent " (agent.name) } }
                                @for member in &members { option value={ "user:" (member.id) } { "user " (member.email) } }
                            }
                            label for="pattern" { "Paths (glob: * one segment, ** any)" }
                            input id="pattern" name="pattern" value="**" required;
                            fieldset {
                                legend { "Permissions" }
                                @for perm in ["read", "write", "delete", "rotate", "execute"] {
                                    label.inline { input type="checkbox" name="permissions" value=(perm) checked[perm == "read"]; " " (perm) }
                                }
                                p.muted { "execute lets an agent call through a binding (path " code { "bindings/<name>" } ") without reading its key." }
                            }
                            label.inline {
                                input type="checkbox" name="require_approval" value="true";
                                " A person approves each use (under Approvals)"
                            }
                            label for="ip-allowlist" { "Only from these addresses (optional, comma-separated IPs or CIDRs)" }
                            input id="ip-allowlist" name="ip_allowlist" placeholder="203.0.113.0/24";
                            label for="expires" { "Expires (optional, e.g. 2027-01-31T00:00:00Z)" }
                            input id="expires" name="expires_at";
                            p { button type="submit" { "Grant" } }
                        }
                    }
                    Some(Err(err)) => { p.muted { (words_of(err)) } }
                    None => {}
                }
            }
        }
        section.panel aria-labelledby="links" {
            h2 id="links" { "Share links you made" }
            @if shares.is_empty() { p.muted { "None." } }
            @else {
                table {
                    thead { tr { th { "Secret" } th { "To" } th { "Expires" } th { "Opened" } th {} } }
                    tbody {
                        @for share in &shares {
                            tr {
                                td { (share.secret_path) }
                                td { (share.recipient_type.as_str()) }
                                td { (timestamp(share.expires_at)) }
                                td { (share.access_count) @if let Some(max) = share.max_access_count { " / " (max) } }
                                td {
                                    @if share.revoked_at.is_none() && share.expires_at > now {
                                        form.inline method="post" action={ "/sharing/links/" (share.id) "/revoke" }
                                            data-confirm="Revoke this share link? Whoever holds it can no longer open it." {
                                            (csrf_field(&csrf))
                                            button.danger type="submit" { "Revoke" }
                                        }
                                    } @else { span.muted { "ended" } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let email = email(state, &session).await;
    (session.jar, page("Sharing", "/sharing", &email, &csrf, content)).into_response()
}

/// Form fields; `permissions` repeats, so the body is read as pairs.
pub async fn grant(
    State(state): State<AppState>,
    Path(vault): Path<Uuid>,
    Posted { session, form: pairs }: Posted<Vec<(String, String)>>,
) -> Response {
    let field = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let principal = field("principal");
    let Some((kind, id)) = principal.split_once(':') else {
        return render(&state, session, Some(vault), Some("Choose who gets access.")).await;
    };
    let expires_text = field("expires_at");
    let expires_at = if expires_text.trim().is_empty() {
        None
    } else {
        match time::OffsetDateTime::parse(expires_text.trim(), &Rfc3339) {
            Ok(at) => Some(at),
            Err(_) => {
                return render(&state, session, Some(vault), Some("Expires must look like 2027-01-31T00:00:00Z."))
                    .await;
            }
        }
    };
    let permissions: Vec<String> = pairs.iter().filter(|(k, _)| k == "permissions").map(|(_, v)| v.clone()).collect();
    let allow: Vec<String> =
        field("ip_allowlist").split(',').map(str::trim).filter(|a| !a.is_empty()).map(str::to_owned).collect();
    let mut conditions = serde_json::Map::new();
    if !allow.is_empty() {
        conditions.insert("ip_allowlist".to_owned(), serde_json::json!(allow));
    }
    if field("require_approval") == "true" {
        conditions.insert("require_approval".to_owned(), serde_json::json!(true));
    }
    let conditions = (!conditions.is_empty()).then_some(serde_json::Value::Object(conditions));
    let draft = PolicyDraft {
        secret_path_pattern: Some(field("pattern")),
        principal_type: Some(kind.to_owned()),
        principal_id: Some(id.to_owned()),
        permissions: Some(permissions),
        conditions,
        expires_at,
        ..PolicyDraft::default()
    };
    match state.core.policies().create(&session.caller, VaultId(vault), draft).await {
        Ok(_) => (session.jar, Redirect::to(&format!("/sharing?vault={vault}"))).into_response(),
        Err(err) => render(&state, session, Some(vault), Some(&words(err))).await,
    }
}

pub async fn revoke_policy(
    State(state): State<AppState>,
    Path((vault, policy)): Path<(Uuid, Uuid)>,
    Posted { session, .. }: Posted,
) -> Response {
    match state.core.policies().delete(&session.caller, VaultId(vault), PolicyId(policy)).await {
        Ok(()) => (session.jar, Redirect::to(&format!("/sharing?vault={vault}&done=policy-revoked"))).into_response(),
        Err(err) => render(&state, session, Some(vault), Some(&words(err))).await,
    }
}

pub async fn revoke_link(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Posted { session, .. }: Posted,
) -> Response {
    match state.core.shares().revoke(&session.caller, ShareId(id)).await {
        Ok(()) => (session.jar, Redirect::to("/sharing?done=link-revoked")).into_response(),
        Err(err) => render(&state, session, None, Some(&words(err))).await,
    }
}
