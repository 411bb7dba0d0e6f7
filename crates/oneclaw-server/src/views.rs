//! Domain records to wire types. Optional fields that do not apply are left out, not null.

use oneclaw_core::intents::{Binding, CredentialSource, Execution};
use oneclaw_core::model::{Agent, ApiKey, IpRule, SecretVersion, Share, User, Vault};
use oneclaw_core::policy::Policy;
use oneclaw_core::services::{IssuedToken, RevealedSecret};
use oneclaw_types::SecretString;
use oneclaw_types::agents::{AgentResponse, AgentSelfResponse};
use oneclaw_types::auth::{ApiKeyResponse, TokenResponse, UserProfileResponse};
use oneclaw_types::env_vars::{EnvVarResponse, OrgEnvVarResponse, ResolveEnvVarsResponse, VaultEnvironmentResponse};
use oneclaw_types::intents::{BindingResponse, ExecutionEventResponse};
use oneclaw_types::org::{IpRuleResponse, OrgMemberResponse};
use oneclaw_types::policies::PolicyResponse;
use oneclaw_types::secrets::{SecretMetadataResponse, SecretResponse};
use oneclaw_types::sharing::ShareListItem;
use oneclaw_types::vaults::VaultResponse;

pub fn vault(vault: &Vault) -> VaultResponse {
    VaultResponse {
        id: vault.id.0,
        name: vault.name.clone(),
        description: vault.description.clone(),
        created_by: vault.created_by.id.to_string(),
        created_by_type: vault.created_by.kind.as_str().to_owned(),
        created_at: vault.created_at,
        cmek_enabled: false,
    }
}

/// Metadata of a version; `with_disabled` adds `is_disabled: true` to a disabled or deleted
/// version (the versions list only; an enabled one says nothing, as the Go SDK's strict model
/// has no such field).
pub fn secret_metadata(version: &SecretVersion, with_disabled: bool) -> SecretMetadataResponse {
    SecretMetadataResponse {
        id: version.secret_id.0,
        path: version.path.clone(),
        secret_type: version.secret_type.clone(),
        version: version.version,
        metadata: version.metadata.clone(),
        created_at: version.created_at,
        expires_at: version.expires_at,
        is_disabled: (with_disabled && (version.is_disabled || version.deleted_at.is_some())).then_some(true),
    }
}

pub fn secret(revealed: RevealedSecret) -> SecretResponse {
    let RevealedSecret { version, value } = revealed;
    SecretResponse {
        id: version.secret_id.0,
        path: version.path,
        secret_type: version.secret_type,
        value,
        version: version.version,
        metadata: version.metadata,
        created_by: version.created_by.prefixed(),
        created_at: version.created_at,
        expires_at: version.expires_at,
    }
}

pub fn user_profile(user: &User) -> UserProfileResponse {
    UserProfileResponse {
        id: user.id.0,
        email: user.email.clone(),
        display_name: user.display_name.clone(),
        auth_method: user.auth_method.clone(),
        role: user.role.as_str().to_owned(),
        email_verified: user.email_verified,
        marketing_emails: user.marketing_emails,
        totp_enabled: user.totp_enabled,
        created_at: user.created_at,
    }
}

pub fn api_key(key: &ApiKey) -> ApiKeyResponse {
    ApiKeyResponse {
        id: key.id.0,
        name: key.name.clone(),
        key_prefix: key.key_prefix.clone(),
        scopes: key.scopes.clone(),
        is_active: key.is_active,
        created_at: key.created_at,
        expires_at: key.expires_at,
        last_used_at: key.last_used_at,
    }
}

pub fn token(issued: IssuedToken) -> TokenResponse {
    TokenResponse {
        access_token: issued.access_token,
        token_type: "Bearer".to_owned(),
        expires_in: issued.expires_in,
        refresh_token: issued.refresh_token,
    }
}

pub fn agent(agent: &Agent) -> AgentResponse {
    AgentResponse {
        id: agent.id.0,
        name: agent.name.clone(),
        description: agent.description.clone(),
        auth_method: agent.auth_method.clone(),
        scopes: agent.scopes.clone().unwrap_or_default(),
        is_active: agent.is_active,
        intents_api_enabled: agent.intents_api_enabled,
        shroud_enabled: false,
        environment: agent.environment.clone(),
        token_ttl_seconds: agent.token_ttl_seconds,
        vault_ids: agent.vault_ids.clone(),
        created_at: agent.created_at,
        expires_at: agent.expires_at,
        api_key_expires_at: agent.api_key_expires_at,
        last_active_at: agent.last_active_at,
    }
}

pub fn agent_self(agent: &Agent) -> AgentSelfResponse {
    AgentSelfResponse {
        id: agent.id.0,
        name: agent.name.clone(),
        description: agent.description.clone(),
        org_id: agent.org_id.0,
        scopes: agent.scopes.clone().unwrap_or_default(),
        is_active: agent.is_active,
        intents_api_enabled: agent.intents_api_enabled,
        shroud_enabled: false,
        created_by: agent.created_by.0,
        created_at: agent.created_at,
        expires_at: agent.expires_at,
        last_active_at: agent.last_active_at,
    }
}

pub fn policy(policy: &Policy) -> PolicyResponse {
    PolicyResponse {
        id: policy.id.0,
        vault_id: policy.vault_id.0,
        secret_path_pattern: policy.pattern.as_str().to_owned(),
        principal_type: policy.principal.kind.as_str().to_owned(),
        principal_id: policy.principal.id,
        permissions: policy.permissions.iter().map(|p| p.as_str().to_owned()).collect(),
        conditions: policy.conditions.to_json(),
        expires_at: policy.expires_at,
        created_by: policy.created_by.id.to_string(),
        created_by_type: policy.created_by.kind.as_str().to_owned(),
        created_at: policy.created_at,
        effect: policy.effect.as_str().to_owned(),
        priority: policy.priority,
        policy_schema_version: policy.policy_schema_version,
    }
}

pub fn member(user: &User) -> OrgMemberResponse {
    OrgMemberResponse {
        id: user.id.0,
        email: user.email.clone(),
        display_name: user.display_name.clone(),
        role: user.role.as_str().to_owned(),
        auth_method: user.auth_method.clone(),
        created_at: user.created_at,
    }
}

pub fn ip_rule(rule: &IpRule) -> IpRuleResponse {
    IpRuleResponse {
        id: rule.id.0,
        org_id: rule.org_id.0,
        rule_type: rule.rule_type.as_str().to_owned(),
        cidr: rule.cidr.to_string(),
        label: rule.label.clone(),
        applies_to: rule.applies_to.clone(),
        created_by: rule.created_by.0.to_string(),
        created_at: rule.created_at,
    }
}

pub fn share_item(share: &Share, now: time::OffsetDateTime) -> ShareListItem {
    ShareListItem {
        id: share.id.0,
        secret_path: share.secret_path.clone(),
        recipient_type: share.recipient_type.as_str().to_owned(),
        recipient_email: share.recipient_email.clone(),
        access_count: share.access_count,
        max_access_count: share.max_access_count,
        expires_at: share.expires_at,
        created_at: share.created_at,
        is_expired: share.expires_at <= now,
        is_accepted: share.accepted_at.is_some(),
    }
}

/// A time as RFC 3339 text, for answers built as JSON values.
pub fn timestamp(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// An invitation as `GET /v1/org/invites` lists it (never its token).
pub fn invite(invite: &oneclaw_core::model::Invite, now: time::OffsetDateTime) -> oneclaw_types::org::InviteItem {
    let status = if invite.accepted_at.is_some() {
        "accepted"
    } else if invite.revoked_at.is_some() {
        "revoked"
    } else if invite.is_open(now) {
        "open"
    } else {
        "expired"
    };
    oneclaw_types::org::InviteItem {
        id: invite.id.0,
        email: invite.email.clone(),
        role: invite.role.as_str().to_owned(),
        status: status.to_owned(),
        created_at: invite.created_at,
        expires_at: invite.expires_at,
    }
}

/// A vault variable, with its value only when one was read.
pub fn env_var(var: &oneclaw_core::env_vars::EnvVar, value: Option<SecretString>) -> EnvVarResponse {
    EnvVarResponse {
        id: var.id.0,
        key: var.key.clone(),
        environments: var.environments.clone(),
        git_branch: var.git_branch.clone(),
        sensitive: var.sensitive,
        comment: var.comment.clone(),
        value,
        version: var.version,
        created_by: Some(var.created_by.prefixed()),
        created_at: var.created_at,
        updated_at: var.updated_at,
    }
}

/// An org-shared variable (never its value).
pub fn org_env_var(var: &oneclaw_core::env_vars::EnvVar) -> OrgEnvVarResponse {
    OrgEnvVarResponse {
        id: var.id.0,
        key: var.key.clone(),
        environments: var.environments.clone(),
        sensitive: var.sensitive,
        comment: var.comment.clone(),
        version: var.version,
        linked_vaults: var.linked_vaults.iter().map(|v| v.0).collect(),
        created_at: var.created_at,
        updated_at: var.updated_at,
    }
}

/// A resolved environment: the values, and the layer each came from.
pub fn resolved_env(resolved: oneclaw_core::services::ResolvedEnv) -> ResolveEnvVarsResponse {
    let sources = resolved.vars.iter().map(|(key, (_, source))| (key.clone(), source.as_str().to_owned())).collect();
    ResolveEnvVarsResponse {
        vars: resolved.vars.into_iter().map(|(key, (value, _))| (key, value)).collect(),
        sources,
        environment: resolved.environment,
        git_branch: resolved.git_branch,
        resolved_at: resolved.resolved_at,
    }
}

/// A built-in or custom environment of a vault.
pub fn environment(view: oneclaw_core::services::EnvironmentView) -> VaultEnvironmentResponse {
    VaultEnvironmentResponse {
        id: view.id,
        slug: view.slug,
        description: view.description,
        is_builtin: view.is_builtin,
        copied_from: view.copied_from,
        is_detached: false,
        created_at: view.created_at,
    }
}

/// A binding as the API answers it: whether a credential is set, never the credential.
pub fn binding(binding: &Binding) -> BindingResponse {
    BindingResponse {
        id: binding.id.to_string(),
        agent_id: binding.agent_id.to_string(),
        binding_type: binding.binding_type.as_str().to_owned(),
        name: binding.name.clone(),
        config: binding.config.clone(),
        guardrails: binding.guardrails.clone(),
        is_active: binding.is_active,
        credential_set: binding.credential != CredentialSource::None,
        credential_source_type: binding.credential.type_name().map(str::to_owned),
        credential_vault_id: binding.vault_id.to_string(),
        credential_path: match &binding.credential {
            CredentialSource::VaultRef { path } => Some(path.clone()),
            _ => None,
        },
        created_at: binding.created_at,
        updated_at: binding.updated_at,
    }
}

/// One execution as the log shows it.
pub fn execution(execution: &Execution) -> ExecutionEventResponse {
    ExecutionEventResponse {
        id: execution.id.to_string(),
        agent_id: execution.agent_id.to_string(),
        binding_id: execution.binding_id.to_string(),
        intent_type: execution.intent_type.clone(),
        execution_mode: "vault".to_owned(),
        status: execution.status.clone(),
        request_summary: Some(execution.request_summary.clone()),
        result_summary: execution.result_summary.clone(),
        error_message: execution.error_message.clone(),
        duration_ms: execution.duration_ms,
        redactions_applied: execution.redactions_applied,
        created_at: execution.created_at,
    }
}

/// The core's request from the wire's.
pub fn execute_request(request: oneclaw_types::intents::ExecuteRequest) -> oneclaw_core::services::ExecuteRequest {
    oneclaw_core::services::ExecuteRequest {
        binding: request.binding,
        intent_type: request.intent_type,
        execution_mode: request.execution_mode,
        params: request.params.unwrap_or(serde_json::Value::Null),
    }
}

/// An execution's answer: the redacted result or error; it ran in the vault (no TEE here).
pub fn executed(done: oneclaw_core::services::ExecuteOutcome) -> oneclaw_types::intents::ExecuteResponse {
    oneclaw_types::intents::ExecuteResponse {
        execution_id: done.execution.id.to_string(),
        status: done.execution.status.clone(),
        result: done.result,
        error: done.error,
        duration_ms: done.execution.duration_ms,
        redactions_applied: done.execution.redactions_applied,
        execution_surface: "vault".to_owned(),
    }
}
