//! KEK lifecycle: rotating a vault's KEK, finishing rotations that were interrupted, and moving
//! every vault to the active key provider (`oneclaw keys migrate`).
//!
//! A rotation is four steps, each safe to repeat after a crash:
//! 1. make KEK version n+1 in the provider and, in one transaction with its audit event, record
//!    it and make it current (new values are sealed under it from then on);
//! 2. re-wrap every data key still under an older version, a page per transaction, each row only
//!    if it is unchanged (readers always find a wrapped key and the KEK that opens it);
//! 3. retire the old version once no data key uses it (checked under a lock that in-flight
//!    writes hold, see `oneclaw-store`'s `sql_keys.rs`);
//! 4. destroy it in the provider, then record that with its audit event.
//!
//! What is left undone is visible in the store (an old version neither retired nor destroyed),
//! so any node, or `oneclaw keys rotate --resume`, finishes it.

use crate::audit::{AuditEvent, action};
use crate::ids::VaultId;
use crate::model::Vault;
use crate::ports::{KekRef, ValueBinding, VaultKeyRecord};
use crate::principal::{Caller, RequestMeta};
use crate::services::Deps;
use crate::services::access::Access;
use crate::services::change::Change;
use crate::system;
use crate::{Error, Result};

/// Data keys re-wrapped per transaction.
const REWRAP_PAGE: i64 = 200;
/// Sweeps before giving up on retiring a version that writers keep using (they cannot for
/// long: new writes seal under the new version).
const MAX_SWEEPS: usize = 20;

/// Who asked: a caller of the API, or the operator (CLI) / the server itself.
#[derive(Clone, Copy)]
pub enum KeyActor<'a> {
    Caller(&'a Caller),
    Operator(&'a RequestMeta),
}

impl KeyActor<'_> {
    fn event(&self, vault: &Vault, action: &str, now: time::OffsetDateTime) -> AuditEvent {
        match self {
            Self::Caller(caller) => AuditEvent::by(caller, action, "vault", now),
            Self::Operator(meta) => AuditEvent::system_in(vault.org_id, meta, action, "vault", now),
        }
        .resource(vault.id)
    }
}

/// What a rotation (or the finishing of one) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRotation {
    pub vault_id: VaultId,
    /// The KEK version in force now.
    pub kek_version: i64,
    /// The provider that holds it.
    pub provider: String,
    /// Data keys moved to it by this call.
    pub rewrapped: u64,
    /// Old versions destroyed by this call.
    pub destroyed_versions: Vec<i64>,
}

/// What `migrate_to_active` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyMigration {
    pub provider: String,
    pub vaults: Vec<KeyRotation>,
    pub system_secrets_resealed: usize,
}

/// The KEK lifecycle service.
pub struct KeyLifecycle<'a> {
    deps: &'a Deps,
    page: i64,
}

impl<'a> KeyLifecycle<'a> {
    pub(crate) fn new(deps: &'a Deps) -> Self {
        Self { deps, page: REWRAP_PAGE }
    }

    /// Re-wraps `page` data keys per transaction instead of the default 200 (smaller pages hold
    /// database locks for less time; larger ones finish sooner).
    pub fn with_page_size(self, page: i64) -> Self {
        Self { page: page.max(1), ..self }
    }

    /// Rotates a vault's KEK for a caller who may manage the vault (its owner or an org admin).
    pub async fn rotate(&self, caller: &Caller, vault_id: VaultId) -> Result<KeyRotation> {
        let access = Access::new(self.deps);
        let vault = access.vault(caller, vault_id).await?;
        access.manage(caller, &vault).await?;
        self.rotate_vault(vault, KeyActor::Caller(caller)).await
    }

    /// Rotates a vault's KEK on the operator's word (`oneclaw keys rotate`).
    pub async fn rotate_as_operator(&self, vault_id: VaultId, meta: &RequestMeta) -> Result<KeyRotation> {
        let vault = self.vault(vault_id).await?;
        self.rotate_vault(vault, KeyActor::Operator(meta)).await
    }

    /// Finishes every rotation that was started and not finished (a crash, a killed process).
    pub async fn finish_pending(&self, meta: &RequestMeta) -> Result<Vec<KeyRotation>> {
        let mut finished = Vec::new();
        for vault_id in self.deps.store.vaults_with_old_keys().await? {
            let Some(vault) = self.deps.store.vault_by_id(vault_id).await? else { continue };
            finished.push(self.finish(&vault, KeyActor::Operator(meta)).await?);
        }
        Ok(finished)
    }

    /// Moves every vault whose KEK is held by another provider to the active one (a rotation
    /// each), and reseals the server secrets with it. Reads keep working throughout: the
    /// router still opens what the old provider holds until each data key has moved.
    pub async fn migrate_to_active(&self, meta: &RequestMeta) -> Result<KeyMigration> {
        let provider = self.deps.keys.kind().to_owned();
        let mut report = KeyMigration { provider: provider.clone(), ..KeyMigration::default() };
        report.vaults.extend(self.finish_pending(meta).await?);
        for vault_id in self.deps.store.vaults_off_provider(&provider).await? {
            let vault = self.vault(vault_id).await?;
            report.vaults.push(self.rotate_vault(vault, KeyActor::Operator(meta)).await?);
        }
        report.system_secrets_resealed = self.reseal_system_secrets(meta).await?;
        Ok(report)
    }

    /// Every KEK version a vault has had, for a caller who may manage it; with the current one.
    pub async fn history(&self, caller: &Caller, vault_id: VaultId) -> Result<(i64, Vec<VaultKeyRecord>)> {
        let access = Access::new(self.deps);
        let vault = access.vault(caller, vault_id).await?;
        access.manage(caller, &vault).await?;
        Ok((vault.kek_version, self.deps.store.vault_keys(vault.id).await?))
    }

    /// Every KEK version a vault has had (operator view).
    pub async fn history_as_operator(&self, vault_id: VaultId) -> Result<(i64, Vec<VaultKeyRecord>)> {
        let vault = self.vault(vault_id).await?;
        Ok((vault.kek_version, self.deps.store.vault_keys(vault.id).await?))
    }

    async fn vault(&self, vault_id: VaultId) -> Result<Vault> {
        self.deps.store.vault_by_id(vault_id).await?.ok_or_else(|| Error::NotFound("Vault not found".to_owned()))
    }

    async fn rotate_vault(&self, vault: Vault, actor: KeyActor<'_>) -> Result<KeyRotation> {
        let from_version = vault.kek_version;
        let kek = self.deps.keys.create_kek(vault.id, from_version + 1).await?;
        let now = self.deps.clock.now();
        let event = actor
            .event(&vault, action::VAULT_KEY_ROTATE, now)
            .detail("from_version", from_version)
            .detail("to_version", kek.version)
            .detail("key_provider", kek.provider.clone());
        let recorded = async {
            let mut change = Change::begin(self.deps.store.as_ref()).await?;
            if !change.tx().add_vault_key(&kek, from_version, now).await? {
                return Ok(false);
            }
            change.commit([event]).await?;
            Ok::<_, Error>(true)
        }
        .await;
        match recorded {
            Ok(true) => {}
            other => {
                // Not recorded, so the new KEK guards nothing: do not leave it behind.
                if let Err(err) = self.deps.keys.destroy_kek(&kek).await {
                    tracing::warn!(error = %err, vault_id = %vault.id, "could not destroy an unused new KEK");
                }
                other?;
                return Err(Error::Conflict("This vault's key is being rotated already; try again".to_owned()));
            }
        }
        // From here on the rotation is recorded: if this call is cut short, `finish_pending`
        // (run by every server at start and periodically) completes it.
        let vault = Vault { kek_version: kek.version, ..vault };
        self.finish(&vault, actor).await
    }

    /// Steps 2 to 4 for every old version of the vault's KEK.
    async fn finish(&self, vault: &Vault, actor: KeyActor<'_>) -> Result<KeyRotation> {
        let keys = self.deps.store.vault_keys(vault.id).await?;
        let current = keys
            .iter()
            .find(|record| record.kek.version == vault.kek_version)
            .map(|record| record.kek.clone())
            .ok_or_else(|| Error::Internal(format!("vault {} has no current KEK record", vault.id)))?;
        let mut report = KeyRotation {
            vault_id: vault.id,
            kek_version: current.version,
            provider: current.provider.clone(),
            rewrapped: 0,
            destroyed_versions: Vec::new(),
        };
        for old in keys.iter().filter(|record| record.kek.version < current.version && record.destroyed_at.is_none()) {
            if old.retired_at.is_none() {
                report.rewrapped += self.move_data_keys(vault, &old.kek, &current).await?;
            }
            if self.destroy(vault, &old.kek, actor).await? {
                report.destroyed_versions.push(old.kek.version);
            }
        }
        Ok(report)
    }

    /// Re-wraps every data key under `old` to `current`, then retires `old`.
    async fn move_data_keys(&self, vault: &Vault, old: &KekRef, current: &KekRef) -> Result<u64> {
        let mut moved = 0;
        for _ in 0..MAX_SWEEPS {
            loop {
                let page = self.deps.store.deks_under_kek(vault.id, old.version, self.page).await?;
                if page.is_empty() {
                    break;
                }
                let mut rewrapped = Vec::with_capacity(page.len());
                for row in &page {
                    let binding = ValueBinding {
                        org_id: vault.org_id,
                        vault_id: vault.id,
                        path: &row.path,
                        version: row.version,
                    };
                    match self.deps.cipher.rewrap(old, current, binding, &row.wrapped_dek).await {
                        Ok(wrapped) => rewrapped.push(wrapped),
                        // Another node finishing the same rotation may have moved everything and
                        // destroyed the old KEK under our feet: then there is nothing left to do.
                        Err(_) if self.retired(vault, old).await? => return Ok(moved),
                        Err(err) => return Err(err),
                    }
                }
                let mut change = Change::begin(self.deps.store.as_ref()).await?;
                for (row, new_wrapped) in page.iter().zip(&rewrapped) {
                    // A row that changed meanwhile (another node moved it) is simply skipped.
                    if change
                        .tx()
                        .rewrap_dek(row.secret_id, row.version, &row.wrapped_dek, new_wrapped, current.version)
                        .await?
                    {
                        moved += 1;
                    }
                }
                // Part of the rotation its `vault.key_rotate` event records; no event per page.
                change.commit([]).await?;
            }
            let mut change = Change::begin(self.deps.store.as_ref()).await?;
            if change.tx().retire_vault_key(vault.id, old.version, self.deps.clock.now()).await? {
                change.commit([]).await?;
                return Ok(moved);
            }
        }
        Err(Error::Unavailable(format!(
            "KEK version {} of vault {} is still in use after {MAX_SWEEPS} sweeps; the rotation will be resumed",
            old.version, vault.id
        )))
    }

    async fn retired(&self, vault: &Vault, old: &KekRef) -> Result<bool> {
        let keys = self.deps.store.vault_keys(vault.id).await?;
        Ok(keys.iter().any(|record| record.kek.version == old.version && record.retired_at.is_some()))
    }

    /// Destroys a retired KEK in its provider and records it. False if another node did.
    async fn destroy(&self, vault: &Vault, old: &KekRef, actor: KeyActor<'_>) -> Result<bool> {
        self.deps.keys.destroy_kek(old).await?;
        let now = self.deps.clock.now();
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if !change.tx().mark_vault_key_destroyed(vault.id, old.version, now).await? {
            return Ok(false);
        }
        let event = actor
            .event(vault, action::VAULT_KEY_DESTROY, now)
            .detail("version", old.version)
            .detail("key_provider", old.provider.clone());
        change.commit([event]).await?;
        Ok(true)
    }

    /// Reseals each server secret with the active provider (harmless for one it already holds).
    async fn reseal_system_secrets(&self, meta: &RequestMeta) -> Result<usize> {
        let mut resealed = 0;
        for purpose in [system::JWT_SIGNING_SEED, system::CREDENTIAL_PEPPER, system::AUDIT_CHECKPOINT_SEED] {
            let Some(sealed) = self.deps.store.system_secret(purpose).await? else { continue };
            let secret = self.deps.keys.unseal_system_secret(purpose, &sealed).await?;
            let resealed_blob = self.deps.keys.seal_system_secret(purpose, &secret).await?;
            let now = self.deps.clock.now();
            let mut change = Change::begin(self.deps.store.as_ref()).await?;
            change.tx().replace_system_secret(purpose, &resealed_blob).await?;
            let event = AuditEvent::system(meta, action::SYSTEM_KEY_RESEAL, "system_key", now)
                .resource(purpose)
                .detail("key_provider", self.deps.keys.kind());
            change.commit([event]).await?;
            resealed += 1;
        }
        Ok(resealed)
    }
}
