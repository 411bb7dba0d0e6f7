//! Policies: who may do what on which paths of a vault. Written by the vault's owner or an org
//! admin; agents only on vaults they own.

use super::Deps;
use super::access::Access;
use super::change::Change;
use crate::audit::{AuditEvent, action};
use crate::ids::{AgentId, PolicyId, UserId, VaultId};
use crate::policy::{Conditions, Effect, PathGlob, Permission, Policy};
use crate::principal::{Caller, PrincipalKind, PrincipalRef};
use crate::{Error, Result};
use time::OffsetDateTime;
use uuid::Uuid;

/// A policy as requested (create) or the fields to change (update; `None` keeps).
#[derive(Debug, Default, Clone)]
pub struct PolicyDraft {
    pub secret_path_pattern: Option<String>,
    pub principal_type: Option<String>,
    pub principal_id: Option<String>,
    pub permissions: Option<Vec<String>>,
    pub conditions: Option<serde_json::Value>,
    pub expires_at: Option<OffsetDateTime>,
    pub effect: Option<String>,
    pub priority: Option<i64>,
    pub policy_schema_version: Option<i64>,
}

/// Policy service.
pub struct Policies<'a> {
    deps: &'a Deps,
}

impl<'a> Policies<'a> {
    pub(crate) fn new(deps: &'a Deps) -> Self {
        Self { deps }
    }

    /// Creates a policy on a vault.
    pub async fn create(&self, caller: &Caller, vault_id: VaultId, draft: PolicyDraft) -> Result<Policy> {
        let access = Access::new(self.deps);
        let vault = access.vault(caller, vault_id).await?;
        access.manage(caller, &vault).await?;
        let pattern = PathGlob::parse(draft.secret_path_pattern.as_deref().unwrap_or_default())?;
        let principal = self.principal(caller, draft.principal_type.as_deref(), draft.principal_id.as_deref()).await?;
        let now = self.deps.clock.now();
        let mut policy = Policy {
            id: PolicyId::generate(),
            vault_id: vault.id,
            principal,
            pattern,
            permissions: Vec::new(),
            conditions: Conditions::default(),
            expires_at: None,
            effect: Effect::Allow,
            priority: 0,
            created_by: caller.principal.who,
            created_at: now,
            policy_schema_version: draft
                .policy_schema_version
                .unwrap_or(oneclaw_types::policies::DEFAULT_POLICY_SCHEMA_VERSION),
        };
        if draft.permissions.is_none() {
            return Err(Error::invalid_field("permissions", "is required"));
        }
        apply(&mut policy, draft, now)?;
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        change.tx().insert_policy(&policy).await?;
        change.commit([event(caller, action::POLICY_CREATE, &policy, now)]).await?;
        Ok(policy)
    }

    /// The vault's policies, highest priority first.
    pub async fn list(&self, caller: &Caller, vault_id: VaultId) -> Result<Vec<Policy>> {
        let access = Access::new(self.deps);
        let vault = access.vault(caller, vault_id).await?;
        access.manage(caller, &vault).await?;
        self.deps.store.vault_policies(vault.id).await
    }

    /// Changes permissions, conditions, expiry, effect or priority (principal and pattern are
    /// fixed; make a new policy to change them).
    pub async fn update(&self, caller: &Caller, vault_id: VaultId, id: PolicyId, draft: PolicyDraft) -> Result<Policy> {
        let access = Access::new(self.deps);
        let vault = access.vault(caller, vault_id).await?;
        access.manage(caller, &vault).await?;
        let mut policy = self
            .deps
            .store
            .vault_policies(vault.id)
            .await?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or_else(|| Error::NotFound("Policy not found".to_owned()))?;
        let now = self.deps.clock.now();
        apply(
            &mut policy,
            PolicyDraft { secret_path_pattern: None, principal_type: None, principal_id: None, ..draft },
            now,
        )?;
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        change.tx().update_policy(&policy).await?;
        change.commit([event(caller, action::POLICY_UPDATE, &policy, now)]).await?;
        Ok(policy)
    }

    /// Deletes a policy; the access it gave ends at once.
    pub async fn delete(&self, caller: &Caller, vault_id: VaultId, id: PolicyId) -> Result<()> {
        let access = Access::new(self.deps);
        let vault = access.vault(caller, vault_id).await?;
        access.manage(caller, &vault).await?;
        let now = self.deps.clock.now();
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if !change.tx().delete_policy(vault.id, id).await? {
            return Err(Error::NotFound("Policy not found".to_owned()));
        }
        let event = AuditEvent::by(caller, action::POLICY_DELETE, "policy", now)
            .resource(id)
            .detail("vault_id", vault.id.to_string());
        change.commit([event]).await
    }

    /// The principal a policy names: a live user or agent of the caller's org.
    async fn principal(&self, caller: &Caller, kind: Option<&str>, id: Option<&str>) -> Result<PrincipalRef> {
        let kind = kind
            .and_then(PrincipalKind::parse)
            .ok_or_else(|| Error::invalid_field("principal_type", "must be user or agent"))?;
        let id = id
            .and_then(|text| Uuid::parse_str(text).ok())
            .ok_or_else(|| Error::invalid_field("principal_id", "must be a UUID"))?;
        let exists = match kind {
            PrincipalKind::User => self
                .deps
                .store
                .user(UserId(id))
                .await?
                .is_some_and(|u| u.org_id == caller.org_id() && u.disabled_at.is_none()),
            PrincipalKind::Agent => {
                self.deps.store.agent(caller.org_id(), AgentId(id)).await?.is_some_and(|a| a.deleted_at.is_none())
            }
        };
        if !exists {
            return Err(Error::invalid_field(
                "principal_id",
                format!("no {} with this id in your organization", kind.as_str()),
            ));
        }
        Ok(PrincipalRef { kind, id })
    }
}

fn apply(policy: &mut Policy, draft: PolicyDraft, now: OffsetDateTime) -> Result<()> {
    if let Some(permissions) = draft.permissions {
        let mut parsed = permissions.iter().map(|p| Permission::parse(p)).collect::<Result<Vec<_>>>()?;
        parsed.sort();
        parsed.dedup();
        if parsed.is_empty() {
            return Err(Error::invalid_field("permissions", "must name at least one of read, write, delete, rotate"));
        }
        policy.permissions = parsed;
    }
    if let Some(conditions) = draft.conditions {
        policy.conditions = Conditions::parse(Some(&conditions))?;
    }
    if let Some(at) = draft.expires_at {
        if at <= now {
            return Err(Error::invalid_field("expires_at", "must be in the future"));
        }
        policy.expires_at = Some(at);
    }
    if let Some(effect) = draft.effect {
        policy.effect = Effect::parse(&effect)?;
    }
    if let Some(priority) = draft.priority {
        if !(0..=1_000_000).contains(&priority) {
            return Err(Error::invalid_field("priority", "must be between 0 and 1000000"));
        }
        policy.priority = priority;
    }
    Ok(())
}

fn event(caller: &Caller, action: &str, policy: &Policy, now: OffsetDateTime) -> AuditEvent {
    AuditEvent::by(caller, action, "policy", now)
        .resource(policy.id)
        .detail("vault_id", policy.vault_id.to_string())
        .detail("principal", policy.principal.prefixed())
        .detail("pattern", policy.pattern.as_str())
        .detail("permissions", policy.permissions.iter().map(|p| p.as_str()).collect::<Vec<_>>())
        .detail("effect", policy.effect.as_str())
}
