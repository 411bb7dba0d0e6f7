//! Vaults: the org-scoped containers of secrets.

use super::*;

/// Reads (and the few writes that need no transaction) of vaults.
#[async_trait]
pub trait VaultStore: Send + Sync {
    async fn vault(&self, org: OrgId, id: VaultId) -> Result<Option<Vault>>;
    /// A vault by id alone, for operator commands that act outside any org's request.
    async fn vault_by_id(&self, id: VaultId) -> Result<Option<Vault>>;
    async fn vaults(&self, org: OrgId) -> Result<Vec<Vault>>;
}

/// Changes to vaults, inside a write transaction.
#[async_trait]
pub trait VaultTx: Send {
    async fn insert_vault(&mut self, vault: &Vault, kek: &KekRef) -> Result<()>;
    /// Deletes a vault with its secrets and key references; false when there was none.
    async fn delete_vault(&mut self, org: OrgId, id: VaultId) -> Result<bool>;
}
