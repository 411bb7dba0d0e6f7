//! `MemoryStore`: vaults, members and access held in memory, for tests of the access check
//! without a database. It implements only the two capabilities `Access` needs (`VaultStore`
//! and `AccessStore`), with the meaning the SQL store gives them (documented on the traits);
//! the store contract tests hold the SQL store to that same meaning.

use async_trait::async_trait;
use oneclaw_core::Result;
use oneclaw_core::ids::{OrgId, ShareId, UserId, VaultId};
use oneclaw_core::model::{IpRule, RecipientType, Role, Share, Vault};
use oneclaw_core::policy::Policy;
use oneclaw_core::ports::store::{AccessStore, VaultAccess, VaultStore};
use oneclaw_core::principal::{PrincipalKind, PrincipalRef};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

#[derive(Default)]
struct Contents {
    vaults: Vec<Vault>,
    /// Each vault's policy generation: moved by every policy change, as the SQL store does.
    policy_generations: HashMap<VaultId, i64>,
    /// Active members: (org, user) → role. Removing a member drops the entry.
    members: HashMap<(OrgId, UserId), Role>,
    policies: Vec<Policy>,
    ip_rules: Vec<IpRule>,
    shares: Vec<Share>,
}

/// An in-memory store of vaults, members, policies, IP rules and shares.
#[derive(Default)]
pub struct MemoryStore {
    contents: Mutex<Contents>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn contents(&self) -> MutexGuard<'_, Contents> {
        // A test that panicked while holding the lock has already failed; read on.
        self.contents.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn add_vault(&self, vault: Vault) {
        self.contents().vaults.push(vault);
    }

    pub fn add_member(&self, org: OrgId, user: UserId, role: Role) {
        self.contents().members.insert((org, user), role);
    }

    /// A removed member: no role any more.
    pub fn remove_member(&self, org: OrgId, user: UserId) {
        self.contents().members.remove(&(org, user));
    }

    pub fn add_policy(&self, policy: Policy) {
        let mut contents = self.contents();
        *contents.policy_generations.entry(policy.vault_id).or_default() += 1;
        contents.policies.push(policy);
    }

    /// Adds a policy without moving its vault's policy generation: a store breaking its
    /// contract, so a test can tell whether a cached policy set was used.
    pub fn add_policy_unannounced(&self, policy: Policy) {
        self.contents().policies.push(policy);
    }

    pub fn add_ip_rule(&self, rule: IpRule) {
        self.contents().ip_rules.push(rule);
    }

    pub fn add_share(&self, share: Share) {
        self.contents().shares.push(share);
    }

    fn policies_where(&self, keep: impl Fn(&Policy) -> bool) -> Vec<Policy> {
        self.contents().policies.iter().filter(|policy| keep(policy)).cloned().collect()
    }

    fn shares_where(&self, keep: impl Fn(&Share) -> bool) -> Vec<Share> {
        let mut shares: Vec<Share> = self.contents().shares.iter().filter(|share| keep(share)).cloned().collect();
        shares.sort_by_key(|share| std::cmp::Reverse(share.created_at));
        shares
    }
}

#[async_trait]
impl VaultStore for MemoryStore {
    async fn vault(&self, org: OrgId, id: VaultId) -> Result<Option<Vault>> {
        Ok(self.contents().vaults.iter().find(|vault| vault.id == id && vault.org_id == org).cloned())
    }

    async fn vault_by_id(&self, id: VaultId) -> Result<Option<Vault>> {
        Ok(self.contents().vaults.iter().find(|vault| vault.id == id).cloned())
    }

    async fn vaults(&self, org: OrgId) -> Result<Vec<Vault>> {
        Ok(self.contents().vaults.iter().filter(|vault| vault.org_id == org).cloned().collect())
    }
}

#[async_trait]
impl AccessStore for MemoryStore {
    async fn vault_access(
        &self,
        org: OrgId,
        vault: VaultId,
        who: PrincipalRef,
        held: Option<i64>,
    ) -> Result<Option<VaultAccess>> {
        let Some(vault) = self.vault(org, vault).await? else {
            return Ok(None);
        };
        let policy_generation = self.contents().policy_generations.get(&vault.id).copied().unwrap_or(0);
        let policies =
            if held == Some(policy_generation) { None } else { Some(self.policies_for(vault.id, who).await?) };
        Ok(Some(VaultAccess { vault, policy_generation, policies }))
    }

    async fn member_role(&self, org: OrgId, user: UserId) -> Result<Option<Role>> {
        Ok(self.contents().members.get(&(org, user)).copied())
    }

    async fn policies_for(&self, vault: VaultId, principal: PrincipalRef) -> Result<Vec<Policy>> {
        Ok(self.policies_where(|policy| policy.vault_id == vault && policy.principal == principal))
    }

    async fn vault_policies(&self, vault: VaultId) -> Result<Vec<Policy>> {
        let mut policies = self.policies_where(|policy| policy.vault_id == vault);
        policies
            .sort_by(|a, b| b.priority.cmp(&a.priority).then(a.created_at.cmp(&b.created_at)).then(a.id.cmp(&b.id)));
        Ok(policies)
    }

    async fn principal_policies(&self, principal: PrincipalRef) -> Result<Vec<Policy>> {
        Ok(self.policies_where(|policy| policy.principal == principal))
    }

    async fn ip_rules(&self, org: OrgId) -> Result<Vec<IpRule>> {
        Ok(self.contents().ip_rules.iter().filter(|rule| rule.org_id == org).cloned().collect())
    }

    async fn share(&self, id: ShareId) -> Result<Option<Share>> {
        Ok(self.contents().shares.iter().find(|share| share.id == id).cloned())
    }

    async fn share_by_link_digest(&self, digest: &[u8]) -> Result<Option<Share>> {
        Ok(self.contents().shares.iter().find(|share| share.link_digest.as_deref() == Some(digest)).cloned())
    }

    async fn shares_created_by(&self, principal: PrincipalRef) -> Result<Vec<Share>> {
        Ok(self.shares_where(|share| share.created_by == principal))
    }

    async fn shares_received_by(&self, principal: PrincipalRef, email: Option<&str>) -> Result<Vec<Share>> {
        let addressed_by_id = |share: &Share| {
            share.recipient_id == Some(principal.id)
                && match principal.kind {
                    PrincipalKind::User => matches!(share.recipient_type, RecipientType::User | RecipientType::Creator),
                    PrincipalKind::Agent => share.recipient_type == RecipientType::Agent,
                }
        };
        let addressed_by_email = |share: &Share| {
            share.recipient_type == RecipientType::ExternalEmail
                && email.is_some()
                && share.recipient_email.as_deref() == email
        };
        Ok(self.shares_where(|share| addressed_by_id(share) || addressed_by_email(share)))
    }
}
