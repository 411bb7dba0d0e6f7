//! Org-shared environment variables (managed by org admins, linked into vaults, the first
//! layer of `resolve`) and vaults' custom environments.
//!
//! An org-shared variable belongs to no vault, so its versions are sealed by the key provider's
//! system key (HSM or keyring), bound to the variable and version, like the mail outbox. Who
//! may read one is decided per vault it is linked into, by that vault's policies (`resolve`).

use super::Deps;
use super::access::Access;
use super::change::Change;
use super::env_vars::{EnvVars, environments_for, event};
use crate::audit::{AuditEvent, action};
use crate::billing::PaidOperation;
use crate::env_vars::{
    BUILTIN_ENVIRONMENTS, EnvScope, EnvVar, MAX_CUSTOM_ENVIRONMENTS, VaultEnvironment, checked_comment, checked_key,
    checked_slug,
};
use crate::ids::{EnvVarId, EnvironmentId, VaultId};
use crate::principal::Caller;
use crate::{Error, Result};
use oneclaw_types::SecretString;

use super::env_vars::{EnvVarChange, NewEnvVar};

/// The key-provider purpose a shared variable's version is sealed under (its AAD).
fn purpose(id: EnvVarId, version: i64) -> String {
    format!("env-var:{id}:{version}")
}

/// Opens an org-shared variable's current value.
pub(crate) async fn open_shared(deps: &Deps, var: &EnvVar) -> Result<SecretString> {
    let sealed = deps
        .store
        .shared_env_value(var.id, var.version)
        .await?
        .ok_or_else(|| Error::Internal(format!("shared variable {} has no stored value", var.id)))?;
    let plain = deps.keys.unseal_system_secret(&purpose(var.id, var.version), &sealed).await?;
    let text = std::str::from_utf8(&plain).map_err(|_| Error::Internal("a shared value is not UTF-8".to_owned()))?;
    Ok(SecretString::from(text.to_owned()))
}

/// A custom environment as listed, or a built-in one.
#[derive(Debug, Clone)]
pub struct EnvironmentView {
    pub id: uuid::Uuid,
    pub slug: String,
    pub description: Option<String>,
    pub is_builtin: bool,
    pub copied_from: Option<String>,
    pub created_at: Option<time::OffsetDateTime>,
}

/// Org-shared variables and vault environments.
pub struct SharedEnv<'a> {
    deps: &'a Deps,
}

impl<'a> SharedEnv<'a> {
    pub(crate) fn new(deps: &'a Deps) -> Self {
        Self { deps }
    }

    /// Every org-shared variable with the vaults it is linked to. Never values. Admins only.
    pub async fn list(&self, caller: &Caller) -> Result<Vec<EnvVar>> {
        self.admin(caller).await?;
        self.deps.store.env_vars(EnvScope::Org(caller.org_id())).await
    }

    /// Creates an org-shared variable (linked into no vault yet).
    pub async fn create(&self, caller: &Caller, new: NewEnvVar) -> Result<EnvVar> {
        self.admin(caller).await?;
        if new.git_branch.is_some() {
            return Err(Error::invalid_field("git_branch", "org-shared variables have no branch overrides"));
        }
        let now = self.deps.clock.now();
        let var = EnvVar {
            id: EnvVarId::generate(),
            org_id: caller.org_id(),
            vault_id: None,
            key: checked_key(&new.key)?,
            environments: environments_for(new.environments, false)?,
            git_branch: None,
            sensitive: new.sensitive,
            comment: checked_comment(new.comment)?,
            version: 1,
            secret_id: None,
            created_by: caller.principal.who,
            created_at: now,
            updated_at: now,
            linked_vaults: Vec::new(),
        };
        self.store(caller, &var, Some(&new.value), true, action::ENV_VAR_CREATE).await?;
        Ok(var)
    }

    /// Updates the org-shared variable `key` (the one of `environment` when several share it).
    pub async fn update(
        &self,
        caller: &Caller,
        key: &str,
        environment: Option<&str>,
        change: EnvVarChange,
    ) -> Result<EnvVar> {
        self.admin(caller).await?;
        let key = checked_key(key)?;
        let mut matching: Vec<EnvVar> = self
            .deps
            .store
            .env_vars(EnvScope::Org(caller.org_id()))
            .await?
            .into_iter()
            .filter(|v| v.key == key && environment.is_none_or(|e| v.applies_to(e)))
            .collect();
        let var = match matching.len() {
            0 => return Err(Error::NotFound(format!("No shared variable {key}"))),
            1 => matching.remove(0),
            _ => return Err(Error::invalid_field("environment", format!("{key} has several; name the environment"))),
        };
        let now = self.deps.clock.now();
        let environments = match change.environments {
            Some(environments) => environments_for(Some(environments), false)?,
            None => var.environments.clone(),
        };
        let comment = match change.comment {
            Some(comment) => checked_comment(Some(comment))?,
            None => var.comment.clone(),
        };
        let version = var.version + i64::from(change.value.is_some());
        let updated = EnvVar {
            environments,
            sensitive: change.sensitive.unwrap_or(var.sensitive),
            comment,
            version,
            updated_at: now,
            ..var
        };
        self.store(caller, &updated, change.value.as_ref(), false, action::ENV_VAR_UPDATE).await?;
        Ok(updated)
    }

    /// Deletes an org-shared variable (and its links and every version).
    pub async fn delete(&self, caller: &Caller, id: EnvVarId) -> Result<()> {
        self.admin(caller).await?;
        let var = self.shared(caller, id).await?;
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        change.tx().delete_env_var(caller.org_id(), id).await?;
        change.commit([event(caller, action::ENV_VAR_DELETE, &var, self.deps.clock.now())]).await
    }

    /// Links an org-shared variable into a vault of the org (idempotent).
    pub async fn link(&self, caller: &Caller, id: EnvVarId, vault_id: VaultId) -> Result<()> {
        self.admin(caller).await?;
        let var = self.shared(caller, id).await?;
        let vault = Access::new(self.deps).vault(caller, vault_id).await?;
        let now = self.deps.clock.now();
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if !change.tx().link_env_var(var.id, vault.id, now).await? {
            return Ok(());
        }
        let event = event(caller, action::ENV_VAR_LINK, &var, now).detail("linked_vault_id", vault.id.to_string());
        change.commit([event]).await
    }

    /// Unlinks an org-shared variable from a vault; 404 when it was not linked.
    pub async fn unlink(&self, caller: &Caller, id: EnvVarId, vault_id: VaultId) -> Result<()> {
        self.admin(caller).await?;
        let var = self.shared(caller, id).await?;
        let now = self.deps.clock.now();
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if !change.tx().unlink_env_var(var.id, vault_id).await? {
            return Err(Error::NotFound("That variable is not linked to that vault".to_owned()));
        }
        let event = event(caller, action::ENV_VAR_UNLINK, &var, now).detail("linked_vault_id", vault_id.to_string());
        change.commit([event]).await
    }

    /// The built-in environments and the vault's custom ones, for anyone who can see it.
    pub async fn environments(&self, caller: &Caller, vault_id: VaultId) -> Result<Vec<EnvironmentView>> {
        let access = Access::new(self.deps);
        let seen = access.vault_access(caller, vault_id).await?;
        if !access.see_with(caller, &seen.vault, seen.policies.policies()).await? {
            return Err(Error::Forbidden("You have no access to this vault".to_owned()));
        }
        let mut all: Vec<EnvironmentView> = BUILTIN_ENVIRONMENTS
            .iter()
            .map(|slug| EnvironmentView {
                id: builtin_id(vault_id, slug),
                slug: (*slug).to_owned(),
                description: None,
                is_builtin: true,
                copied_from: None,
                created_at: None,
            })
            .collect();
        all.extend(self.deps.store.vault_environments(vault_id).await?.into_iter().map(|e| EnvironmentView {
            id: e.id.0,
            slug: e.slug,
            description: e.description,
            is_builtin: false,
            copied_from: e.copied_from,
            created_at: Some(e.created_at),
        }));
        Ok(all)
    }

    /// Adds a custom environment; with `copy_from`, every variable of that environment also
    /// applies to the new one (sharing its value until the variable is edited apart).
    pub async fn create_environment(
        &self,
        caller: &Caller,
        vault_id: VaultId,
        slug: &str,
        description: Option<String>,
        copy_from: Option<&str>,
    ) -> Result<VaultEnvironment> {
        let access = Access::new(self.deps);
        let vault = access.vault(caller, vault_id).await?;
        access.manage(caller, &vault).await?;
        let slug = checked_slug(slug)?;
        if BUILTIN_ENVIRONMENTS.contains(&slug.as_str()) {
            return Err(Error::Conflict(format!("{slug} is a built-in environment")));
        }
        let existing = self.deps.store.vault_environments(vault.id).await?;
        if existing.len() >= MAX_CUSTOM_ENVIRONMENTS {
            return Err(Error::invalid(format!("a vault has at most {MAX_CUSTOM_ENVIRONMENTS} custom environments")));
        }
        let description = checked_comment(description)
            .map_err(|_| Error::invalid_field("description", "must be at most 1024 printable characters"))?;
        let copied = match copy_from {
            Some(source) => {
                EnvVars::new(self.deps).known_environment(&vault, source).await?;
                let vars = self.deps.store.env_vars(EnvScope::Vault(vault.id)).await?;
                Some((source.to_owned(), vars.into_iter().filter(|v| v.applies_to(source)).collect::<Vec<_>>()))
            }
            None => None,
        };
        let now = self.deps.clock.now();
        let environment = VaultEnvironment {
            id: EnvironmentId::generate(),
            vault_id: vault.id,
            slug: slug.clone(),
            description,
            copied_from: copied.as_ref().map(|(source, _)| source.clone()),
            created_at: now,
        };
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        change.tx().insert_environment(&environment, MAX_CUSTOM_ENVIRONMENTS).await?;
        let mut events = vec![
            AuditEvent::by(caller, action::ENVIRONMENT_CREATE, "vault", now)
                .resource(vault.id)
                .detail("slug", slug.clone())
                .detail("copied_from", environment.copied_from.clone()),
        ];
        for var in copied.map(|(_, vars)| vars).unwrap_or_default() {
            let mut environments = var.environments.clone();
            environments.push(slug.clone());
            crate::env_vars::order_environments(&mut environments);
            let updated = EnvVar { environments, updated_at: now, ..var };
            change.tx().update_env_var(&updated).await?;
            events.push(event(caller, action::ENV_VAR_UPDATE, &updated, now));
        }
        change.commit(events).await?;
        Ok(environment)
    }

    /// Deletes a custom environment no variable uses any more.
    pub async fn delete_environment(&self, caller: &Caller, vault_id: VaultId, slug: &str) -> Result<()> {
        let access = Access::new(self.deps);
        let vault = access.vault(caller, vault_id).await?;
        access.manage(caller, &vault).await?;
        if BUILTIN_ENVIRONMENTS.contains(&slug) {
            return Err(Error::invalid_field("slug", "built-in environments cannot be deleted"));
        }
        let in_use =
            self.deps.store.env_vars(EnvScope::Vault(vault.id)).await?.iter().filter(|v| v.applies_to(slug)).count();
        if in_use > 0 {
            return Err(Error::Conflict(format!(
                "{in_use} variable(s) still apply to {slug}; delete them or take them out of it first"
            )));
        }
        let now = self.deps.clock.now();
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if !change.tx().delete_environment(vault.id, slug).await? {
            return Err(Error::NotFound(format!("No environment '{slug}' in this vault")));
        }
        let event =
            AuditEvent::by(caller, action::ENVIRONMENT_DELETE, "vault", now).resource(vault.id).detail("slug", slug);
        change.commit([event]).await
    }

    /// Seals the value (when given) as the variable's version and writes the row, paid like a
    /// secret write.
    async fn store(
        &self,
        caller: &Caller,
        var: &EnvVar,
        value: Option<&SecretString>,
        insert: bool,
        action: &str,
    ) -> Result<()> {
        let sealed = match value {
            Some(value) => {
                if value.len() > self.deps.settings.max_secret_bytes {
                    return Err(Error::invalid_field(
                        "value",
                        format!("is larger than {} bytes", self.deps.settings.max_secret_bytes),
                    ));
                }
                Some(self.deps.keys.seal_system_secret(&purpose(var.id, var.version), value.expose().as_bytes()).await?)
            }
            None => None,
        };
        let payment = super::charging::pay_before(self.deps, caller, PaidOperation::WriteSecret).await?;
        let now = self.deps.clock.now();
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if insert {
            change.tx().insert_env_var(var).await?;
        } else {
            change.tx().update_env_var(var).await?;
        }
        if let Some(sealed) = &sealed {
            change.tx().insert_shared_env_value(var.id, var.version, sealed, now).await?;
        }
        let event = event(caller, action, var, now).detail("shared", true);
        super::charging::commit_paid(self.deps, change, caller, PaidOperation::WriteSecret, payment, [event]).await
    }

    async fn shared(&self, caller: &Caller, id: EnvVarId) -> Result<EnvVar> {
        match self.deps.store.env_var(caller.org_id(), id).await? {
            Some(var) if var.vault_id.is_none() => Ok(var),
            _ => Err(Error::NotFound("No such shared variable".to_owned())),
        }
    }

    async fn admin(&self, caller: &Caller) -> Result<()> {
        if Access::new(self.deps).is_admin(caller).await? {
            return Ok(());
        }
        Err(Error::Forbidden("Only org owners and admins manage org-shared variables".to_owned()))
    }
}

/// A stable id for a built-in environment of a vault (they are not stored).
fn builtin_id(vault: VaultId, slug: &str) -> uuid::Uuid {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new().chain_update(vault.0.as_bytes()).chain_update(slug.as_bytes()).finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}
