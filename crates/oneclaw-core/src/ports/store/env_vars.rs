//! Environment variables: their metadata, environments and links. A vault variable's value is
//! a secret (`SecretStore`); an org-shared one's versions are sealed here.

use super::*;
use crate::env_vars::{EnvScope, EnvVar, VaultEnvironment};
use crate::ids::EnvVarId;

/// Reads of environment variables (never values of vault variables).
#[async_trait]
pub trait EnvStore: Send + Sync {
    /// Every variable of a vault, or every org-shared one (with the vaults each is linked to).
    async fn env_vars(&self, scope: EnvScope) -> Result<Vec<EnvVar>>;
    async fn env_var(&self, org: OrgId, id: EnvVarId) -> Result<Option<EnvVar>>;
    /// The org-shared variables linked into a vault.
    async fn linked_env_vars(&self, vault: VaultId) -> Result<Vec<EnvVar>>;
    /// The sealed value of one version of an org-shared variable.
    async fn shared_env_value(&self, id: EnvVarId, version: i64) -> Result<Option<Vec<u8>>>;
    /// A vault's custom environments.
    async fn vault_environments(&self, vault: VaultId) -> Result<Vec<VaultEnvironment>>;
}

/// Changes to environment variables, inside a write transaction.
#[async_trait]
pub trait EnvTx: Send {
    /// Inserts a variable with its environments; a key already in one of them (on the same
    /// branch) is `Conflict`, a custom environment the vault no longer has `NotFound` (checked
    /// under the lock `delete_environment` takes, so neither can slip past the other).
    async fn insert_env_var(&mut self, var: &EnvVar) -> Result<()>;
    /// Writes back a variable's metadata, version and environments (same conflict rule).
    async fn update_env_var(&mut self, var: &EnvVar) -> Result<()>;
    async fn delete_env_var(&mut self, org: OrgId, id: EnvVarId) -> Result<bool>;
    async fn insert_shared_env_value(
        &mut self,
        id: EnvVarId,
        version: i64,
        sealed: &[u8],
        now: OffsetDateTime,
    ) -> Result<()>;
    /// Links an org-shared variable into a vault; false when it already was.
    async fn link_env_var(&mut self, id: EnvVarId, vault: VaultId, now: OffsetDateTime) -> Result<bool>;
    async fn unlink_env_var(&mut self, id: EnvVarId, vault: VaultId) -> Result<bool>;
    /// A custom environment; its slug taken already is `Conflict`, one past `max_custom` of the
    /// vault `Invalid` (counted under the vault's lock).
    async fn insert_environment(&mut self, environment: &VaultEnvironment, max_custom: usize) -> Result<()>;
    /// Deletes a custom environment; false when there was none, `Conflict` while a variable
    /// still applies to it (checked under the vault's lock).
    async fn delete_environment(&mut self, vault: VaultId, slug: &str) -> Result<bool>;
}
