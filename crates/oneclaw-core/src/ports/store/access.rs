//! Access: policies, IP rules and shares.

use super::*;

/// Reads (and the few writes that need no transaction) of access.
/// What the access check needs about one vault, read at once.
#[derive(Debug, Clone)]
pub struct VaultAccess {
    pub vault: Vault,
    /// Counts the changes to the vault's policies: while it stays the same, so do they.
    pub policy_generation: i64,
    /// The policies naming the caller on the vault; `None` when the caller already holds them
    /// for this generation (it said so, and the generation has not moved).
    pub policies: Option<Vec<Policy>>,
}

#[async_trait]
pub trait AccessStore: Send + Sync {
    /// A vault of the org and the policies of one principal on it, in one read: everything
    /// the access check needs. `None` when the org has no such vault. The policies are left
    /// out when `held` (a policy generation) is the vault's current policy generation (the caller's
    /// cached copy is current); every policy change moves the generation in its transaction.
    async fn vault_access(
        &self,
        org: OrgId,
        vault: VaultId,
        who: PrincipalRef,
        held: Option<i64>,
    ) -> Result<Option<VaultAccess>>;
    /// The role of an active (not removed) member of the org; `None` for anyone else.
    async fn member_role(&self, org: OrgId, user: UserId) -> Result<Option<Role>>;
    /// The policies of one principal on one vault.
    async fn policies_for(&self, vault: VaultId, principal: PrincipalRef) -> Result<Vec<Policy>>;
    /// Every policy of a vault, highest priority first.
    async fn vault_policies(&self, vault: VaultId) -> Result<Vec<Policy>>;
    /// Every policy naming a principal, across vaults (for scopes and vault visibility).
    async fn principal_policies(&self, principal: PrincipalRef) -> Result<Vec<Policy>>;
    async fn ip_rules(&self, org: OrgId) -> Result<Vec<IpRule>>;
    async fn share(&self, id: ShareId) -> Result<Option<Share>>;
    /// The link share whose token has this keyed digest.
    async fn share_by_link_digest(&self, digest: &[u8]) -> Result<Option<Share>>;
    async fn shares_created_by(&self, principal: PrincipalRef) -> Result<Vec<Share>>;
    /// Shares addressed to a principal by id, or (for users) by email.
    async fn shares_received_by(&self, principal: PrincipalRef, email: Option<&str>) -> Result<Vec<Share>>;
}

/// Changes to access, inside a write transaction.
#[async_trait]
pub trait AccessTx: Send {
    async fn insert_policy(&mut self, policy: &Policy) -> Result<()>;
    async fn update_policy(&mut self, policy: &Policy) -> Result<()>;
    /// False when the vault has no such policy.
    async fn delete_policy(&mut self, vault: VaultId, id: PolicyId) -> Result<bool>;
    async fn insert_ip_rule(&mut self, rule: &IpRule) -> Result<()>;
    async fn delete_ip_rule(&mut self, org: OrgId, id: IpRuleId) -> Result<bool>;
    async fn insert_share(&mut self, share: &Share) -> Result<()>;
    /// Claims one passphrase attempt before it is checked: false while the share is locked.
    /// The `max`-th attempt since the last success (or lock) locks it until `lock_until`. One
    /// statement, so parallel guesses each count and at most `max` are ever checked per lock.
    async fn claim_share_attempt(
        &mut self,
        id: ShareId,
        max: i64,
        now: OffsetDateTime,
        lock_until: OffsetDateTime,
    ) -> Result<bool>;
    /// Forgets a share's attempts and lock (a right passphrase was given).
    async fn clear_share_failures(&mut self, id: ShareId) -> Result<()>;
    /// Revokes a live share; false when it was already revoked.
    async fn revoke_share(&mut self, id: ShareId, now: OffsetDateTime) -> Result<bool>;
    /// Accepts or declines a live share; false when it was revoked meanwhile.
    async fn respond_share(&mut self, id: ShareId, accept: bool, now: OffsetDateTime) -> Result<bool>;
    /// Revokes every live share a user created, and every live share made by the agents they
    /// registered (a removed member); how many.
    async fn revoke_shares_of_member(&mut self, member: UserId, now: OffsetDateTime) -> Result<u64>;
    /// Counts one access against the limit; false when it was used up, revoked or expired.
    async fn count_share_access(&mut self, id: ShareId, now: OffsetDateTime) -> Result<bool>;
}
