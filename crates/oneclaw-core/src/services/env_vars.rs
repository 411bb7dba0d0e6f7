//! Environment variables of a vault, and `resolve`: the KEY=VALUE set one environment (and
//! branch) sees.
//!
//! A value is a secret of the vault at a reserved path (`env_vars::value_path`), so it is
//! sealed, versioned and rewrapped like any secret. Access is the policy model's: a variable in
//! environment `E` is the path `env/E/KEY`, so an agent reads, lists and resolves only what its
//! policies give it there. Values leave only through `get` and `resolve`, which are audited
//! (names, never values) and metered like secret reads.

use super::Deps;
use super::access::{Access, VaultWithPolicies, evaluate};
use super::change::{Change, record_alone};
use super::secrets::{Secrets, binding, open_value};
use crate::audit::{AuditEvent, Outcome, action};
use crate::billing::{PaidOperation, Resource};
use crate::env_vars::{
    BRANCH_ENVIRONMENT, BUILTIN_ENVIRONMENTS, EnvScope, EnvVar, checked_branch, checked_comment, checked_environments,
    checked_key, policy_path, value_path,
};
use crate::ids::{EnvVarId, VaultId};
use crate::model::Vault;
use crate::policy::Operation;
use crate::principal::Caller;
use crate::{Error, Result};
use oneclaw_types::SecretString;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// What a create asks for.
#[derive(Debug, Default)]
pub struct NewEnvVar {
    pub key: String,
    pub value: SecretString,
    /// All three built-ins when not given (preview alone for a branch override).
    pub environments: Option<Vec<String>>,
    pub git_branch: Option<String>,
    pub sensitive: bool,
    pub comment: Option<String>,
}

/// What an update changes; `None` keeps the field.
#[derive(Debug, Default)]
pub struct EnvVarChange {
    pub value: Option<SecretString>,
    pub environments: Option<Vec<String>>,
    pub sensitive: Option<bool>,
    pub comment: Option<String>,
}

/// Which variable a key names: in one environment, and on one branch or none.
#[derive(Debug, Default, Clone, Copy)]
pub struct EnvSelector<'s> {
    pub environment: Option<&'s str>,
    pub git_branch: Option<&'s str>,
}

/// The layer a resolved variable came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvSource {
    Shared,
    Vault,
    BranchOverride,
}

impl EnvSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Shared => "shared",
            Self::Vault => "vault",
            Self::BranchOverride => "branch_override",
        }
    }
}

/// An environment's variables with their values, each with the layer it came from.
#[derive(Debug)]
pub struct ResolvedEnv {
    pub vars: BTreeMap<String, (SecretString, EnvSource)>,
    pub environment: String,
    pub git_branch: Option<String>,
    pub resolved_at: OffsetDateTime,
    /// Variables the caller's policies did not let it read (left out, counted in the audit).
    pub withheld: usize,
}

/// Environment variable service.
pub struct EnvVars<'a> {
    deps: &'a Deps,
}

impl<'a> EnvVars<'a> {
    pub(crate) fn new(deps: &'a Deps) -> Self {
        Self { deps }
    }

    /// The vault's variables (branch overrides too) the caller may read in at least one of their
    /// environments, optionally only those of one environment. Never values.
    pub async fn list(&self, caller: &Caller, vault_id: VaultId, environment: Option<&str>) -> Result<Vec<EnvVar>> {
        let seen = self.seen_vault(caller, vault_id).await?;
        // A tagged agent lists its own environment only.
        let tag = self.agent_tag(caller).await?;
        if let Some(tag) = &tag {
            held_to(tag, environment)?;
        }
        let environment = tag.as_deref().or(environment);
        if let Some(environment) = environment {
            self.known_environment(&seen.vault, environment).await?;
        }
        let now = self.deps.clock.now();
        let vars: Vec<EnvVar> = self
            .deps
            .store
            .env_vars(EnvScope::Vault(seen.vault.id))
            .await?
            .into_iter()
            .filter(|var| environment.is_none_or(|e| var.applies_to(e)))
            .filter(|var| {
                let mut envs = var.environments.iter().filter(|e| environment.is_none_or(|only| only == *e));
                envs.any(|e| may(caller, &seen, e, &var.key, Operation::Read, now))
            })
            .collect();
        let event = AuditEvent::by(caller, action::ENV_VAR_LIST, "vault", now)
            .resource(seen.vault.id)
            .detail("environment", environment.unwrap_or("*"))
            .detail("count", vars.len());
        super::change::record_served(self.deps.journal.as_ref(), caller, event).await?;
        Ok(vars)
    }

    /// Creates a variable with its first value.
    pub async fn create(&self, caller: &Caller, vault_id: VaultId, new: NewEnvVar) -> Result<EnvVar> {
        let access = Access::new(self.deps).vault_access(caller, vault_id).await?;
        let key = checked_key(&new.key)?;
        let git_branch = new.git_branch.as_deref().map(checked_branch).transpose()?;
        let environments = environments_for(new.environments, git_branch.is_some())?;
        self.known_environments(&access.vault, &environments).await?;
        let tag = self.agent_tag(caller).await?;
        self.require(caller, &access, tag.as_deref(), &environments, &key, Operation::Write).await?;
        if super::Billing::new(self.deps).enabled() {
            super::Billing::new(self.deps).check_resource(access.vault.org_id, Resource::Secrets).await?;
        }
        let now = self.deps.clock.now();
        let var = EnvVar {
            id: EnvVarId::generate(),
            org_id: access.vault.org_id,
            vault_id: Some(access.vault.id),
            key,
            environments,
            git_branch,
            sensitive: new.sensitive,
            comment: checked_comment(new.comment)?,
            version: 0,
            secret_id: None,
            created_by: caller.principal.who,
            created_at: now,
            updated_at: now,
            linked_vaults: Vec::new(),
        };
        let stored = Secrets::new(self.deps)
            .store_env_value(caller, &access.vault, &var, &new.value, action::ENV_VAR_CREATE, true)
            .await?;
        Ok(EnvVar { version: stored.version, secret_id: Some(stored.secret_id), ..var })
    }

    /// One variable with its value: an audited, metered read.
    pub async fn get(
        &self,
        caller: &Caller,
        vault_id: VaultId,
        key: &str,
        select: EnvSelector<'_>,
    ) -> Result<(EnvVar, SecretString)> {
        let access = Access::new(self.deps).vault_access(caller, vault_id).await?;
        let tag = self.agent_tag(caller).await?;
        if let Some(tag) = &tag {
            held_to(tag, select.environment)?;
        }
        let select = EnvSelector { environment: tag.as_deref().or(select.environment), ..select };
        let var = self.find(caller, &access, tag.as_deref(), key, select, Operation::Read).await?;
        let environments = checked_scope(&var, select.environment);
        self.require(caller, &access, tag.as_deref(), &environments, &var.key, Operation::Read).await?;
        let value = self.open(&access.vault, &var).await?;
        let now = self.deps.clock.now();
        let event = event(caller, action::ENV_VAR_READ, &var, now);
        super::charging::charge_and_record(self.deps, caller, PaidOperation::ReadSecret, event).await?;
        Ok((var, value))
    }

    /// Changes a variable's value (a new version), environments, sensitivity or comment.
    pub async fn update(
        &self,
        caller: &Caller,
        vault_id: VaultId,
        key: &str,
        select: EnvSelector<'_>,
        change: EnvVarChange,
    ) -> Result<EnvVar> {
        let access = Access::new(self.deps).vault_access(caller, vault_id).await?;
        let tag = self.agent_tag(caller).await?;
        let var = self.find(caller, &access, tag.as_deref(), key, select, Operation::Write).await?;
        let environments = match change.environments {
            Some(environments) => environments_for(Some(environments), var.git_branch.is_some())?,
            None => var.environments.clone(),
        };
        self.known_environments(&access.vault, &environments).await?;
        let mut touched = var.environments.clone();
        touched.extend(environments.iter().cloned());
        self.require(caller, &access, tag.as_deref(), &touched, &var.key, Operation::Write).await?;
        // The value goes wherever the variable goes: adding an environment reveals it there, so
        // it takes read where the variable is now (write alone never shows a value).
        if environments.iter().any(|e| !var.environments.contains(e)) {
            self.require(caller, &access, tag.as_deref(), &var.environments, &var.key, Operation::Read).await?;
        }
        let now = self.deps.clock.now();
        let comment = match change.comment {
            Some(comment) => checked_comment(Some(comment))?,
            None => var.comment.clone(),
        };
        let updated = EnvVar {
            environments,
            sensitive: change.sensitive.unwrap_or(var.sensitive),
            comment,
            updated_at: now,
            ..var
        };
        if let Some(value) = change.value {
            let stored = Secrets::new(self.deps)
                .store_env_value(caller, &access.vault, &updated, &value, action::ENV_VAR_UPDATE, false)
                .await?;
            return Ok(EnvVar { version: stored.version, secret_id: Some(stored.secret_id), ..updated });
        }
        let mut tx = Change::begin(self.deps.store.as_ref()).await?;
        tx.tx().update_env_var(&updated).await?;
        tx.commit([event(caller, action::ENV_VAR_UPDATE, &updated, now)]).await?;
        Ok(updated)
    }

    /// Takes a variable out of one environment, or deletes it when that was its last one (or
    /// when no environment is named).
    pub async fn delete(&self, caller: &Caller, vault_id: VaultId, key: &str, select: EnvSelector<'_>) -> Result<()> {
        let access = Access::new(self.deps).vault_access(caller, vault_id).await?;
        let tag = self.agent_tag(caller).await?;
        let var = self.find(caller, &access, tag.as_deref(), key, select, Operation::Delete).await?;
        let leaving = checked_scope(&var, select.environment);
        self.require(caller, &access, tag.as_deref(), &leaving, &var.key, Operation::Delete).await?;
        let now = self.deps.clock.now();
        let remaining: Vec<String> = var.environments.iter().filter(|e| !leaving.contains(e)).cloned().collect();
        let mut tx = Change::begin(self.deps.store.as_ref()).await?;
        if remaining.is_empty() {
            tx.tx().delete_env_var(var.org_id, var.id).await?;
            tx.tx().soft_delete_secret(access.vault.id, value_path(var.id).as_str(), now).await?;
            let event = event(caller, action::ENV_VAR_DELETE, &var, now);
            return tx.commit([event]).await;
        }
        let updated = EnvVar { environments: remaining, updated_at: now, ..var };
        tx.tx().update_env_var(&updated).await?;
        let event = event(caller, action::ENV_VAR_UPDATE, &updated, now).detail("removed_from", leaving);
        tx.commit([event]).await
    }

    /// The variables one environment (and branch) sees, layered: org-shared variables linked
    /// to the vault, then the vault's own, then the branch's overrides; a later layer wins.
    /// Only variables the caller may read are included.
    pub async fn resolve(
        &self,
        caller: &Caller,
        vault_id: VaultId,
        environment: Option<&str>,
        git_branch: Option<&str>,
    ) -> Result<ResolvedEnv> {
        let seen = self.seen_vault(caller, vault_id).await?;
        let environment = self.environment_for(caller, environment).await?;
        self.known_environment(&seen.vault, &environment).await?;
        let git_branch = git_branch.map(checked_branch).transpose()?;
        let mut layers: BTreeMap<String, (EnvVar, EnvSource)> = BTreeMap::new();
        for var in self.deps.store.linked_env_vars(seen.vault.id).await? {
            if var.applies_to(&environment) && var.git_branch.is_none() {
                layers.insert(var.key.clone(), (var, EnvSource::Shared));
            }
        }
        let own = self.deps.store.env_vars(EnvScope::Vault(seen.vault.id)).await?;
        for var in own.iter().filter(|v| v.applies_to(&environment) && v.git_branch.is_none()) {
            layers.insert(var.key.clone(), (var.clone(), EnvSource::Vault));
        }
        if let Some(branch) = &git_branch {
            for var in own.iter().filter(|v| v.applies_to(&environment) && v.git_branch.as_ref() == Some(branch)) {
                layers.insert(var.key.clone(), (var.clone(), EnvSource::BranchOverride));
            }
        }
        let now = self.deps.clock.now();
        let total = layers.len();
        let mut vars = BTreeMap::new();
        for (key, (var, source)) in layers {
            if may(caller, &seen, &environment, &key, Operation::Read, now) {
                let value = self.open(&seen.vault, &var).await?;
                vars.insert(key, (value, source));
            }
        }
        let withheld = total - vars.len();
        let event = AuditEvent::by(caller, action::ENV_VAR_RESOLVE, "vault", now)
            .resource(seen.vault.id)
            .detail("environment", environment.clone())
            .detail("git_branch", git_branch.clone())
            .detail("keys", vars.keys().cloned().collect::<Vec<_>>())
            .detail("withheld", withheld);
        super::charging::charge_and_record(self.deps, caller, PaidOperation::ReadSecret, event).await?;
        Ok(ResolvedEnv { vars, environment, git_branch, resolved_at: now, withheld })
    }

    /// The environment a value read is for: the one named, else the calling agent's tag. An
    /// agent with a tag reads values of that environment only.
    async fn environment_for(&self, caller: &Caller, named: Option<&str>) -> Result<String> {
        match (named, self.agent_tag(caller).await?) {
            (named, Some(tag)) => held_to(&tag, named).map(|()| tag),
            (Some(named), None) => Ok(named.to_owned()),
            (None, None) => Err(Error::invalid_field("environment", "is required")),
        }
    }

    /// The calling agent's environment tag (none for humans and untagged agents).
    async fn agent_tag(&self, caller: &Caller) -> Result<Option<String>> {
        match caller.principal.agent_id() {
            Some(agent) => Ok(self.deps.store.agent(caller.org_id(), agent).await?.and_then(|a| a.environment)),
            None => Ok(None),
        }
    }

    /// The vault, if the caller may see it at all (its owner, an admin, or holding an allow
    /// policy on it); 403 otherwise, as for listing secrets.
    async fn seen_vault(&self, caller: &Caller, vault_id: VaultId) -> Result<VaultWithPolicies> {
        let access = Access::new(self.deps);
        let seen = access.vault_access(caller, vault_id).await?;
        if !access.see_with(caller, &seen.vault, seen.policies.policies()).await? {
            return Err(Error::Forbidden("You have no access to this vault".to_owned()));
        }
        Ok(seen)
    }

    /// A built-in environment, or a custom one of the vault; 404 otherwise.
    pub(crate) async fn known_environment(&self, vault: &Vault, slug: &str) -> Result<()> {
        self.known_environments(vault, std::slice::from_ref(&slug.to_owned())).await
    }

    /// Every one of `slugs` is a built-in environment or a custom one of the vault (one store
    /// read, and none when all are built-in); 404 naming the first that is not.
    pub(crate) async fn known_environments(&self, vault: &Vault, slugs: &[String]) -> Result<()> {
        let custom: Vec<&String> = slugs.iter().filter(|slug| !BUILTIN_ENVIRONMENTS.contains(&slug.as_str())).collect();
        if custom.is_empty() {
            return Ok(());
        }
        let existing = self.deps.store.vault_environments(vault.id).await?;
        match custom.into_iter().find(|slug| !existing.iter().any(|e| &e.slug == *slug)) {
            Some(slug) => Err(Error::NotFound(format!("No environment '{slug}' in this vault"))),
            None => Ok(()),
        }
    }

    /// The vault variable `key` names: the one of that environment (and branch) when named (the
    /// caller's right to `op` there is checked first, so a refusal says nothing about whether
    /// it exists); else the only one with that key and no branch among those the caller may
    /// `op` in some environment (the others answer as if absent).
    async fn find(
        &self,
        caller: &Caller,
        access: &VaultWithPolicies,
        tag: Option<&str>,
        key: &str,
        select: EnvSelector<'_>,
        op: Operation,
    ) -> Result<EnvVar> {
        let key = checked_key(key)?;
        let branch = select.git_branch.map(checked_branch).transpose()?;
        if let Some(environment) = select.environment {
            self.known_environment(&access.vault, environment).await?;
            self.require(caller, access, tag, &[environment.to_owned()], &key, op).await?;
        }
        let now = self.deps.clock.now();
        let mut matching: Vec<EnvVar> = self
            .deps
            .store
            .env_vars(EnvScope::Vault(access.vault.id))
            .await?
            .into_iter()
            .filter(|v| v.key == key && v.git_branch == branch)
            .filter(|v| select.environment.is_none_or(|e| v.applies_to(e)))
            .filter(|v| v.environments.iter().any(|e| may(caller, access, e, &key, op, now)))
            .collect();
        match matching.len() {
            0 => Err(Error::NotFound(match select.environment {
                Some(environment) => format!("No variable {key} in environment {environment}"),
                None => format!("No variable {key}"),
            })),
            1 => Ok(matching.remove(0)),
            _ => Err(Error::invalid_field(
                "environment",
                format!("{key} has a different value per environment; name one"),
            )),
        }
    }

    /// Refuses (and records the refusal) unless the caller may do `op` to `key` in every one
    /// of `environments` (and, for a tagged agent, each is its environment).
    async fn require(
        &self,
        caller: &Caller,
        access: &VaultWithPolicies,
        tag: Option<&str>,
        environments: &[String],
        key: &str,
        op: Operation,
    ) -> Result<()> {
        let now = self.deps.clock.now();
        for environment in environments {
            // A tagged agent reads and changes its own environment's variables only.
            if let Some(tag) = tag {
                held_to(tag, Some(environment))?;
            }
            let path = policy_path(environment, key)?;
            if let Err(refused) = evaluate(caller, &access.vault, &access.policies, &path, op, now) {
                let event = AuditEvent::by(caller, &format!("env_var.{}", op.as_str()), "env_var", now)
                    .detail("vault_id", access.vault.id.to_string())
                    .detail("key", key)
                    .detail("environment", environment.as_str())
                    .detail("reason", refused.to_string())
                    .outcome(Outcome::Denied);
                record_alone(self.deps.journal.as_ref(), event).await;
                return Err(refused);
            }
        }
        Ok(())
    }

    /// A variable's current value: a vault variable's from its secret, an org-shared one's
    /// from its sealed version.
    pub(crate) async fn open(&self, vault: &Vault, var: &EnvVar) -> Result<SecretString> {
        if var.vault_id.is_none() {
            return super::env_shared::open_shared(self.deps, var).await;
        }
        let path = value_path(var.id);
        let found = self
            .deps
            .store
            .secret_for_read(vault.id, path.as_str(), None)
            .await?
            .ok_or_else(|| Error::Internal(format!("variable {} has no stored value", var.id)))?;
        open_value(self.deps, binding(vault, &path, found.version.version), &found).await
    }
}

/// The audit record of a change to or read of a variable: names, never the value.
pub(crate) fn event(caller: &Caller, action: &str, var: &EnvVar, now: OffsetDateTime) -> AuditEvent {
    AuditEvent::by(caller, action, "env_var", now)
        .resource(var.id)
        .detail("vault_id", var.vault_id.map(|v| v.to_string()))
        .detail("key", var.key.clone())
        .detail("environments", var.environments.clone())
        .detail("git_branch", var.git_branch.clone())
        .detail("version", var.version)
}

/// Does the caller's policy set allow `op` on `key` in `environment`?
fn may(
    caller: &Caller,
    access: &VaultWithPolicies,
    environment: &str,
    key: &str,
    op: Operation,
    now: OffsetDateTime,
) -> bool {
    policy_path(environment, key)
        .is_ok_and(|path| evaluate(caller, &access.vault, &access.policies, &path, op, now).is_ok())
}

/// The environments a request names, or the default: all built-ins, or preview alone for a
/// branch override (which only preview may have).
pub(crate) fn environments_for(given: Option<Vec<String>>, branch_override: bool) -> Result<Vec<String>> {
    let environments = match given {
        Some(given) => checked_environments(given)?,
        None if branch_override => vec![BRANCH_ENVIRONMENT.to_owned()],
        None => BUILTIN_ENVIRONMENTS.iter().map(|e| (*e).to_owned()).collect(),
    };
    if branch_override && environments != [BRANCH_ENVIRONMENT] {
        return Err(Error::invalid_field("git_branch", "a branch override applies to the preview environment only"));
    }
    Ok(environments)
}

/// A tagged agent names no environment but its own.
fn held_to(tag: &str, named: Option<&str>) -> Result<()> {
    match named {
        Some(named) if named != tag => Err(Error::Forbidden(format!(
            "This agent works in the {tag} environment and may not use variables of {named}"
        ))),
        _ => Ok(()),
    }
}

/// The environments an operation on `var` touches: the one named, or all of the variable's.
fn checked_scope(var: &EnvVar, environment: Option<&str>) -> Vec<String> {
    match environment {
        Some(environment) => vec![environment.to_owned()],
        None => var.environments.clone(),
    }
}
