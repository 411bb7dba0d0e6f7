//! The texts the tools answer with, word for word those of the 1claw MCP server (plain text
//! content, no structured output), and the messages of failed calls, written for a model to
//! act on.

use crate::backend::{BackendError, ErrorCode};
use oneclaw_types::env_vars::{EnvVarResponse, ResolveEnvVarsResponse};
use oneclaw_types::intents::{BindingResponse, ExecuteResponse};
use oneclaw_types::policies::PolicyResponse;
use oneclaw_types::secrets::{SecretMetadataResponse, SecretResponse};
use oneclaw_types::sharing::ShareResponse;
use oneclaw_types::vaults::VaultResponse;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub(crate) fn iso(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.unix_timestamp().to_string())
}

fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

pub(crate) fn secret_list(secrets: &[SecretMetadataResponse]) -> String {
    if secrets.is_empty() {
        return "No secrets found in this vault.".to_owned();
    }
    let mut out = format!("Found {} secret(s):", secrets.len());
    for secret in secrets {
        let expires = secret.expires_at.map_or_else(|| "never".to_owned(), iso);
        out.push_str(&format!(
            "\n- {}  (type: {}, version: {}, expires: {expires})",
            secret.path, secret.secret_type, secret.version
        ));
    }
    out
}

/// Compact JSON `{"path","type","version","value"}`, in that order.
pub(crate) fn secret_value(secret: &SecretResponse) -> String {
    format!(
        "{{\"path\":{},\"type\":{},\"version\":{},\"value\":{}}}",
        quoted(&secret.path),
        quoted(&secret.secret_type),
        secret.version,
        quoted(secret.value.expose())
    )
}

pub(crate) fn stored(secret: &SecretMetadataResponse) -> String {
    format!("Secret stored at '{}' (version {}, type: {}).", secret.path, secret.version, secret.secret_type)
}

pub(crate) fn deleted(path: &str) -> String {
    format!("Secret at '{path}' has been soft-deleted.")
}

#[derive(Serialize)]
struct Description<'a> {
    path: &'a str,
    #[serde(rename = "type")]
    secret_type: &'a str,
    version: i64,
    metadata: &'a serde_json::Value,
    created_at: String,
    expires_at: Option<String>,
}

/// Pretty JSON `{path,type,version,metadata,created_at,expires_at}`.
pub(crate) fn description(secret: &SecretMetadataResponse) -> String {
    let description = Description {
        path: &secret.path,
        secret_type: &secret.secret_type,
        version: secret.version,
        metadata: &secret.metadata,
        created_at: iso(secret.created_at),
        expires_at: secret.expires_at.map(iso),
    };
    serde_json::to_string_pretty(&description).unwrap_or_default()
}

pub(crate) fn rotated(secret: &SecretMetadataResponse) -> String {
    format!("Rotated secret at '{}'. New version: {}.", secret.path, secret.version)
}

pub(crate) fn generated(secret: &SecretMetadataResponse) -> String {
    format!(
        "Rotated secret at '{}' to a server-generated value. New version: {}. The value was not returned; \
         fetch it with get_secret only at the moment you need to use it.",
        secret.path, secret.version
    )
}

/// `KEY=VALUE` lines as a pretty JSON object, keys in the order they appear: blank lines and
/// `#` comments skipped, lines without `=` skipped, split at the first `=`.
pub(crate) fn env_bundle(text: &str) -> String {
    let pairs: Vec<(&str, &str)> = text
        .split('\n')
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .collect();
    if pairs.is_empty() {
        return "{}".to_owned();
    }
    // serde_json's map would sort the keys; the bundle's own order is kept, the last of a
    // repeated key winning as in a shell.
    let mut kept: Vec<(&str, &str)> = Vec::with_capacity(pairs.len());
    for (key, value) in pairs {
        match kept.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => kept.push((key, value)),
        }
    }
    let body: Vec<String> = kept.iter().map(|(k, v)| format!("  {}: {}", quoted(k), quoted(v))).collect();
    format!("{{\n{}\n}}", body.join(",\n"))
}

pub(crate) fn env_vars(vars: &[EnvVarResponse]) -> String {
    if vars.is_empty() {
        return "No environment variables found in this vault.".to_owned();
    }
    let lines: Vec<String> = vars
        .iter()
        .map(|v| {
            let branch = v.git_branch.as_deref().map(|b| format!(", branch: {b}")).unwrap_or_default();
            format!("- {}  (environments: {}{branch}, version: {})", v.key, v.environments.join(", "), v.version)
        })
        .collect();
    format!("Found {} variable(s):\n{}", vars.len(), lines.join("\n"))
}

/// The resolved variables as a JSON object, keys sorted.
pub(crate) fn resolved_env(resolved: &ResolveEnvVarsResponse) -> String {
    if resolved.vars.is_empty() {
        return format!("No variables in environment '{}' that this agent may read.", resolved.environment);
    }
    let body: Vec<String> =
        resolved.vars.iter().map(|(k, v)| format!("  {}: {}", quoted(k), quoted(v.expose()))).collect();
    format!("{{\n{}\n}}", body.join(",\n"))
}

pub(crate) fn vault_created(vault: &VaultResponse) -> String {
    format!(
        "Vault created successfully.\n  ID: {}\n  Name: {}\n  Owner: {}:{}\n\nThis vault is automatically shared \
         with the human who registered this agent.",
        vault.id, vault.name, vault.created_by_type, vault.created_by
    )
}

pub(crate) fn vault_list(vaults: &[VaultResponse]) -> String {
    if vaults.is_empty() {
        return "No vaults found. Create one with create_vault.".to_owned();
    }
    let mut out = format!("Found {} vault(s):", vaults.len());
    for vault in vaults {
        out.push_str(&format!(
            "\n- {}  (id: {}, created by: {}, {})",
            vault.name,
            vault.id,
            vault.created_by_type,
            iso(vault.created_at)
        ));
    }
    out
}

pub(crate) fn granted(policy: &PolicyResponse) -> String {
    format!(
        "Access granted.\n  Policy ID: {}\n  Vault: {}\n  Granted to: {}:{}\n  Permissions: {}\n  Path pattern: {}",
        policy.id,
        policy.vault_id,
        policy.principal_type,
        policy.principal_id,
        policy.permissions.join(", "),
        policy.secret_path_pattern
    )
}

pub(crate) fn shared(path: &str, share: &ShareResponse) -> String {
    let max = share.max_access_count.map_or_else(|| "unlimited".to_owned(), |n| n.to_string());
    format!(
        "Secret '{path}' shared.\n  Share ID: {}\n  URL: {}\n  Recipient: {}\n  Expires: {}\n  Max accesses: {max}",
        share.id,
        share.share_url,
        share.recipient_type,
        iso(share.expires_at)
    )
}

pub(crate) fn versions(path: &str, versions: &[SecretMetadataResponse]) -> String {
    let mut out = format!("Found {} version(s) of '{path}':", versions.len());
    for version in versions {
        let disabled = if version.is_disabled == Some(true) { ", disabled" } else { "" };
        out.push_str(&format!(
            "\n- v{}  (type: {}, created: {}{disabled})",
            version.version,
            version.secret_type,
            iso(version.created_at)
        ));
    }
    out
}

/// The `vault://secrets` resource: a pretty JSON array of `{path,type,version,expires_at}`.
pub(crate) fn resource_listing(secrets: &[SecretMetadataResponse]) -> String {
    #[derive(Serialize)]
    struct Entry<'a> {
        path: &'a str,
        #[serde(rename = "type")]
        secret_type: &'a str,
        version: i64,
        expires_at: Option<String>,
    }
    let entries: Vec<Entry<'_>> = secrets
        .iter()
        .map(|s| Entry {
            path: &s.path,
            secret_type: &s.secret_type,
            version: s.version,
            expires_at: s.expires_at.map(iso),
        })
        .collect();
    serde_json::to_string_pretty(&entries).unwrap_or_else(|_| "[]".to_owned())
}

/// What `check_approval` says: the status, and what to do next.
pub(crate) fn approval(approval: &oneclaw_types::approvals::ApprovalResponse) -> String {
    let next = match approval.status.as_str() {
        "pending" => "A human has not decided yet; check again in a little while.",
        "approved" => "Approved: retry the call that asked for it (a one-use approval lets one call through).",
        "rejected" => "Rejected: do not retry; tell your human what you needed and why.",
        _ => "Expired: retrying the call opens a new request.",
    };
    let reason = approval.decision_reason.as_deref().map(|r| format!(" Reason: {r}.")).unwrap_or_default();
    format!(
        "Approval {} for {} on {}: {}.{reason} {next}",
        approval.id, approval.action, approval.target_id, approval.status
    )
}

/// What a failed tool call says. `path` is the secret the tool was about, if any.
pub(crate) fn failure(tool: &str, path: Option<&str>, err: &BackendError) -> String {
    match (err.kind, path) {
        (ErrorCode::NotFound, Some(path)) => format!("No secret found at path '{path}'."),
        (ErrorCode::Gone, Some(path)) => {
            format!("Secret at path '{path}' is expired or has exceeded its maximum access count.")
        }
        (ErrorCode::PaymentRequired, _) => "Quota exhausted. Ask your human to upgrade the plan, add prepaid \
             credits, or enable x402 micropayments in the oneclaw dashboard (Billing)."
            .to_owned(),
        (ErrorCode::ApprovalRequired, _) => format!(
            "Approval required: {}. Ask your human to approve it; call check_approval with that request id \
             until it says approved, then call {tool} again. Do not ask for the secret's value instead.",
            err.detail.trim_end_matches('.')
        ),
        (ErrorCode::Forbidden, _) => format!(
            "Access denied: {}. This agent has no policy that allows it; ask your human to grant this agent \
             access (a policy on the vault for this path), then try again.",
            err.detail.trim_end_matches('.')
        ),
        (ErrorCode::Unauthenticated, _) => format!(
            "Not authenticated: {}. The agent's API key or token is missing, expired or revoked.",
            err.detail.trim_end_matches('.')
        ),
        (ErrorCode::RateLimited, _) => format!("Too many requests: {}. Wait, then try again.", err.detail),
        _ => format!("Tool '{tool}' execution failed: {}", err.detail),
    }
}

pub(crate) fn bindings(bindings: &[BindingResponse]) -> String {
    if bindings.is_empty() {
        return "This agent has no bindings: a human creates them (the agent never holds their credentials)."
            .to_owned();
    }
    let mut out = format!("Found {} binding(s):", bindings.len());
    for binding in bindings {
        let target = match binding.binding_type.as_str() {
            "http" => binding.config.get("base_url").and_then(|v| v.as_str()).unwrap_or_default().to_owned(),
            _ => binding.config.get("host").and_then(|v| v.as_str()).unwrap_or_default().to_owned(),
        };
        let state = if binding.is_active { "" } else { " (inactive)" };
        out.push_str(&format!(
            "\n- {} ({}, {target}){state}: intent {}; guardrails {}",
            binding.name,
            binding.binding_type,
            if binding.binding_type == "postgres" { "sql_query" } else { "http_request" },
            binding.guardrails
        ));
    }
    out
}

pub(crate) fn executed(binding: &str, done: &ExecuteResponse) -> String {
    let mut out = format!(
        "Executed through {binding}: {} in {} ms ({} redaction(s) of the credential).",
        done.status, done.duration_ms, done.redactions_applied
    );
    if let Some(error) = &done.error {
        out.push_str(&format!("\nError: {error}"));
    }
    if let Some(result) = &done.result {
        out.push_str("\nResult:\n");
        out.push_str(&serde_json::to_string_pretty(result).unwrap_or_default());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_bundles_parse_like_the_1claw_server() {
        let text = "# comment\nDB_HOST=db.internal\n\n  API_KEY=abc=def  \nnot a pair\nDB_HOST=override\nEMPTY=";
        assert_eq!(
            env_bundle(text),
            "{\n  \"DB_HOST\": \"override\",\n  \"API_KEY\": \"abc=def\",\n  \"EMPTY\": \"\"\n}"
        );
        assert_eq!(env_bundle("# nothing\n"), "{}");
    }

    #[test]
    fn failures_tell_the_model_what_to_do() {
        let gone = failure("get_secret", Some("a/b"), &BackendError::new(ErrorCode::Gone, "x"));
        assert_eq!(gone, "Secret at path 'a/b' is expired or has exceeded its maximum access count.");
        let paid = failure("get_secret", None, &BackendError::from_status(402, "quota"));
        assert!(paid.starts_with("Quota exhausted. Ask your human"), "{paid}");
        let denied = failure("get_secret", Some("a"), &BackendError::from_status(403, "No policy allows read."));
        assert!(denied.starts_with("Access denied: No policy allows read. This agent"), "{denied}");
        let other = failure("put_secret", None, &BackendError::from_status(400, "expires_at: bad"));
        assert_eq!(other, "Tool 'put_secret' execution failed: expires_at: bad");
    }
}
