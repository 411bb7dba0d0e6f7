//! Secrets: versions at paths, read with what decrypts them.

use super::*;

/// Reads (and the few writes that need no transaction) of secrets.
#[async_trait]
pub trait SecretStore: Send + Sync {
    /// A version to read (the latest when `version` is `None`), outside any transaction.
    async fn secret_for_read(&self, vault: VaultId, path: &str, version: Option<i64>) -> Result<Option<SecretRead>>;
    /// `AccessStore::vault_access` and `secret_for_read` in one store read: all a secret read
    /// needs before its audit record. `None` when the org has no such vault; the secret is
    /// `None` when the path (or that version of it) does not exist.
    #[allow(clippy::too_many_arguments)] // the two reads' arguments, side by side
    async fn vault_access_with_secret(
        &self,
        org: OrgId,
        vault: VaultId,
        who: PrincipalRef,
        held: Option<i64>,
        path: &str,
        version: Option<i64>,
    ) -> Result<Option<(VaultAccess, Option<SecretRead>)>>;
    /// The newest version number a path has had (deleted ones included), if it ever had one.
    async fn secret_current_version(&self, vault: VaultId, path: &str) -> Result<Option<i64>>;
    /// The latest version of every live secret in a vault whose path starts with `prefix`.
    async fn latest_secrets(&self, vault: VaultId, prefix: &PathPrefix) -> Result<Vec<SecretVersion>>;
    /// The newest version of the secret at `path` (deleted or not), in one indexed read
    /// whatever the history: what a write needs to know whether the path is new.
    async fn latest_secret_version(&self, vault: VaultId, path: &str) -> Result<Option<SecretVersion>>;
    /// Every version of the secret at `path`, oldest first.
    async fn secret_versions(&self, vault: VaultId, path: &str) -> Result<Vec<SecretVersion>>;
    /// (vault, path) of a live secret of the org by its id.
    async fn secret_location(&self, org: OrgId, secret: SecretId) -> Result<Option<(VaultId, String)>>;
}

/// Changes to secrets, inside a write transaction.
#[async_trait]
pub trait SecretTx: Send {
    /// Takes the next version number for a path, creating the secret (or reviving a deleted one).
    async fn next_secret_version(&mut self, vault: VaultId, path: &str, now: OffsetDateTime)
    -> Result<(SecretId, i64)>;
    async fn insert_secret_version(&mut self, version: &SecretVersion, sealed: &SealedValue) -> Result<()>;
    /// A version to read: the latest when `version` is `None`.
    async fn secret_for_read(&mut self, vault: VaultId, path: &str, version: Option<i64>)
    -> Result<Option<SecretRead>>;
    /// Counts one read against `max_access_count`; false when the limit was already reached.
    async fn count_secret_access(&mut self, secret: SecretId, version: i64) -> Result<bool>;
    /// Soft-deletes every version at a path; false when there was no live secret.
    /// Also revokes the secret's shares: a path made again later is a new secret to them.
    async fn soft_delete_secret(&mut self, vault: VaultId, path: &str, now: OffsetDateTime) -> Result<bool>;
    /// Disables one version; false when it does not exist.
    async fn disable_secret_version(&mut self, vault: VaultId, path: &str, version: i64) -> Result<bool>;
}
