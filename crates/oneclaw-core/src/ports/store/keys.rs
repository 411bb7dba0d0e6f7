//! Vault KEKs, the data keys they wrap, and the sealed server secrets.

use super::*;

/// Reads (and the few writes that need no transaction) of keys.
#[async_trait]
pub trait KeyStore: Send + Sync {
    async fn vault_key(&self, vault: VaultId, version: i64) -> Result<Option<KekRef>>;
    /// Every KEK version the vault ever had, oldest first.
    async fn vault_keys(&self, vault: VaultId) -> Result<Vec<VaultKeyRecord>>;
    /// Vaults with an old KEK version not yet destroyed: rotations still to finish.
    async fn vaults_with_old_keys(&self) -> Result<Vec<VaultId>>;
    /// Vaults whose current KEK is not held by `provider` (what a migration must move).
    async fn vaults_off_provider(&self, provider: &str) -> Result<Vec<VaultId>>;
    /// Up to `limit` data keys of the vault still wrapped by KEK `kek_version`.
    async fn deks_under_kek(&self, vault: VaultId, kek_version: i64, limit: i64) -> Result<Vec<WrappedDekRow>>;
    /// A sealed server secret by purpose.
    async fn system_secret(&self, purpose: &str) -> Result<Option<Vec<u8>>>;
}

/// Changes to keys, inside a write transaction.
#[async_trait]
pub trait KeyTx: Send {
    /// The vault's current KEK, held against retirement until this transaction ends; `None`
    /// if the vault is gone (or, between two statements, its KEK was just rotated out).
    async fn current_kek(&mut self, vault: VaultId) -> Result<Option<KekRef>>;
    /// Records a new KEK version and makes it current, if `from_version` is still current.
    /// False (and nothing to commit) if another rotation got there first.
    async fn add_vault_key(&mut self, kek: &KekRef, from_version: i64, now: OffsetDateTime) -> Result<bool>;
    /// Replaces one wrapped data key, if it is still `old_wrapped`. False if it changed.
    async fn rewrap_dek(
        &mut self,
        secret_id: SecretId,
        version: i64,
        old_wrapped: &[u8],
        new_wrapped: &[u8],
        new_kek_version: i64,
    ) -> Result<bool>;
    /// Marks an old KEK version retired if no data key of the vault is wrapped by it any more
    /// (and it is not current). False if some still are.
    async fn retire_vault_key(&mut self, vault: VaultId, version: i64, now: OffsetDateTime) -> Result<bool>;
    /// Records that a retired KEK is gone from its provider. False if that was already recorded.
    async fn mark_vault_key_destroyed(&mut self, vault: VaultId, version: i64, now: OffsetDateTime) -> Result<bool>;
    /// Replaces a sealed server secret (after resealing it with another key provider).
    async fn replace_system_secret(&mut self, purpose: &str, sealed: &[u8]) -> Result<()>;
    /// Stores a sealed server secret unless one exists for the purpose (first writer wins).
    async fn insert_system_secret(&mut self, purpose: &str, sealed: &[u8], now: OffsetDateTime) -> Result<()>;
}
