//! Vaults: each with its own key-encryption key, created in the key provider with the vault.

use super::Deps;
use super::access::{Access, vault_not_found};
use super::change::Change;
use crate::audit::{AuditEvent, action};
use crate::ids::{UserId, VaultId};
use crate::model::Vault;
use crate::principal::Caller;
use crate::{Error, Result};

const MAX_NAME_CHARS: usize = 100;
const MAX_DESCRIPTION_CHARS: usize = 1000;
/// The first KEK version of a vault.
const FIRST_KEK_VERSION: i64 = 1;

/// Vault service.
pub struct Vaults<'a> {
    deps: &'a Deps,
}

impl<'a> Vaults<'a> {
    pub(crate) fn new(deps: &'a Deps) -> Self {
        Self { deps }
    }

    /// Creates a vault owned by the caller, with a fresh KEK.
    pub async fn create(&self, caller: &Caller, name: &str, description: Option<&str>) -> Result<Vault> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(Error::invalid_field("name", format!("must be 1 to {MAX_NAME_CHARS} printable characters")));
        }
        let description = description.unwrap_or_default().trim();
        // A NUL is never text a person meant, and PostgreSQL refuses it (a 500 before).
        if description.chars().count() > MAX_DESCRIPTION_CHARS || description.contains('\0') {
            return Err(Error::invalid_field(
                "description",
                format!("must be at most {MAX_DESCRIPTION_CHARS} characters, with no NUL"),
            ));
        }
        super::Billing::new(self.deps).check_resource(caller.org_id(), crate::billing::Resource::Vaults).await?;
        let now = self.deps.clock.now();
        let owner_user_id = match caller.principal.agent_id() {
            None => UserId(caller.principal.who.id),
            Some(agent) => {
                let agent = self.deps.store.agent(caller.org_id(), agent).await?;
                agent
                    .map(|a| a.created_by)
                    .ok_or_else(|| Error::Unauthenticated("The agent no longer exists".to_owned()))?
            }
        };
        let vault = Vault {
            id: VaultId::generate(),
            org_id: caller.org_id(),
            name: name.to_owned(),
            description: description.to_owned(),
            created_by: caller.principal.who,
            owner_user_id,
            created_at: now,
            kek_version: FIRST_KEK_VERSION,
        };
        let kek = self.deps.keys.create_kek(vault.id, FIRST_KEK_VERSION).await?;
        let result = async {
            let mut change = Change::begin(self.deps.store.as_ref()).await?;
            change.tx().insert_vault(&vault, &kek).await?;
            let event = AuditEvent::by(caller, action::VAULT_CREATE, "vault", now)
                .resource(vault.id)
                .detail("name", vault.name.clone())
                .detail("key_provider", kek.provider.clone());
            change.commit([event]).await
        }
        .await;
        if let Err(err) = result {
            // The vault was never stored, so its new KEK guards nothing: do not leave it behind.
            if let Err(destroy_err) = self.deps.keys.destroy_kek(&kek).await {
                tracing::warn!(error = %destroy_err, vault_id = %vault.id, "could not destroy the KEK of a vault that failed to store");
            }
            return Err(err);
        }
        Ok(vault)
    }

    /// The vaults the caller may use.
    pub async fn list(&self, caller: &Caller) -> Result<Vec<Vault>> {
        let access = Access::new(self.deps);
        let mut visible = Vec::new();
        for vault in self.deps.store.vaults(caller.org_id()).await? {
            if access.see(caller, &vault).await? {
                visible.push(vault);
            }
        }
        Ok(visible)
    }

    /// One vault, if the caller may see it (403 in the org, 404 outside it).
    pub async fn get(&self, caller: &Caller, id: VaultId) -> Result<Vault> {
        let access = Access::new(self.deps);
        let vault = access.vault(caller, id).await?;
        if !access.see(caller, &vault).await? {
            // As if it did not exist: whether it does is itself something to protect.
            return Err(Error::NotFound("Vault not found".to_owned()));
        }
        Ok(vault)
    }

    /// Deletes a vault and every secret in it, then destroys its keys (crypto-shredding).
    pub async fn delete(&self, caller: &Caller, id: VaultId) -> Result<()> {
        let access = Access::new(self.deps);
        let vault = access.vault(caller, id).await?;
        access.manage(caller, &vault).await?;
        // Every version not destroyed yet: an unfinished rotation may have left an old one.
        let keks: Vec<_> = self
            .deps
            .store
            .vault_keys(vault.id)
            .await?
            .into_iter()
            .filter(|record| record.destroyed_at.is_none())
            .map(|record| record.kek)
            .collect();
        let now = self.deps.clock.now();
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if !change.tx().delete_vault(caller.org_id(), id).await? {
            return Err(vault_not_found());
        }
        let event = AuditEvent::by(caller, action::VAULT_DELETE, "vault", now)
            .resource(vault.id)
            .detail("name", vault.name.clone());
        change.commit([event]).await?;
        for kek in keks {
            if let Err(err) = self.deps.keys.destroy_kek(&kek).await {
                tracing::warn!(error = %err, vault_id = %vault.id, version = kek.version, "vault deleted but a KEK could not be destroyed");
            }
        }
        Ok(())
    }
}
