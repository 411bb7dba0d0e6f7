//! The one access check for vaults and secrets. Every surface reaches secrets through the
//! services, and every service asks here; nothing else decides who may touch a vault.
//!
//! Order for a secret operation (DESIGN.md):
//! 1. org: vaults are only ever loaded within the caller's org (another org's ids answer 404);
//! 2. the token's `vault_ids`, when it has any (403);
//! 3. the policy engine on the caller's policies for the vault: a deny in force wins (403),
//!    even over ownership;
//! 4. owner bypass: a human owns the vaults they created and those their agents created; an
//!    agent owns the vaults it created;
//! 5. otherwise an allow in force is needed (403 without one), and it must fall within the
//!    token's scopes: for agents the scopes are the ceiling of policy-granted access (fixed
//!    when the token was issued); for humans a scoped API-key token limits everything.
//!
//! Org admins and owners manage every vault (see, delete, write policies) but read values only
//! through ownership or a policy, which leaves an audit trail.

use super::Deps;
use crate::clock::Clock;
use crate::ids::VaultId;
use crate::model::{Role, Vault};
use crate::path::SecretPath;
use crate::policy::{Decision, Operation, PathGlob, Policy, PolicySet};
use crate::ports::SecretRead;
use crate::ports::store::{AccessStore, SecretStore, VaultAccess, VaultStore};
use crate::principal::{Caller, Principal, PrincipalKind, PrincipalRef};
use crate::{Error, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Most (vault, principal) policy sets kept in memory; past it the cache starts over.
const MAX_CACHED_POLICY_SETS: usize = 50_000;

/// The compiled policy sets of recent callers, each with the vault's policy generation it was
/// read at. The store answers every request's vault read with the current generation, so a
/// cached set is used only while it is exactly current, on every node: no expiry, no staleness.
#[derive(Default)]
pub struct PolicyCache {
    sets: Mutex<HashMap<(VaultId, PrincipalRef), GenerationAndSet>>,
}

/// A compiled policy set and the vault's policy generation it was read at.
type GenerationAndSet = (i64, Arc<PolicySet>);

impl PolicyCache {
    fn get(&self, vault: VaultId, who: PrincipalRef) -> Option<GenerationAndSet> {
        let sets = self.sets.lock().ok()?;
        sets.get(&(vault, who)).map(|(generation, set)| (*generation, Arc::clone(set)))
    }

    fn put(&self, vault: VaultId, who: PrincipalRef, generation: i64, set: Arc<PolicySet>) {
        if let Ok(mut sets) = self.sets.lock() {
            if sets.len() >= MAX_CACHED_POLICY_SETS {
                sets.clear();
            }
            sets.insert((vault, who), (generation, set));
        }
    }
}

/// A vault of the caller's org with the caller's policies on it.
pub struct VaultWithPolicies {
    pub vault: Vault,
    pub policies: Arc<PolicySet>,
}

pub(crate) fn vault_not_found() -> Error {
    Error::NotFound("Vault not found".to_owned())
}

/// True when the principal owns the vault.
pub(crate) fn is_owner(principal: &Principal, vault: &Vault) -> bool {
    match principal.who.kind {
        PrincipalKind::User => vault.owner_user_id.0 == principal.who.id,
        PrincipalKind::Agent => vault.created_by == principal.who,
    }
}

fn token_allows_vault(principal: &Principal, vault: VaultId) -> bool {
    principal.vault_ids.is_empty() || principal.vault_ids.contains(&vault.0)
}

fn scopes_cover(scopes: &[String], path: &SecretPath) -> bool {
    scopes.iter().any(|scope| PathGlob::parse(scope).is_ok_and(|glob| glob.matches(path)))
}

/// The decision for one operation on one path, given the caller's policies on the vault.
pub fn evaluate(
    caller: &Caller,
    vault: &Vault,
    policies: &PolicySet,
    path: &SecretPath,
    operation: Operation,
    now: time::OffsetDateTime,
) -> Result<()> {
    let principal = &caller.principal;
    if !token_allows_vault(principal, vault.id) {
        return Err(Error::Forbidden("This token is not valid for that vault".to_owned()));
    }
    let decision = policies.decide(path, operation, now, caller.meta.ip);
    if decision == Decision::Deny {
        return Err(Error::Forbidden(format!("A policy denies {} on '{path}'", operation.as_str())));
    }
    let user_ceiling_ok = principal.who.kind == PrincipalKind::Agent
        || principal.scopes.is_empty()
        || scopes_cover(&principal.scopes, path);
    if !user_ceiling_ok {
        return Err(Error::Forbidden(format!("This token's scopes do not cover '{path}'")));
    }
    if is_owner(principal, vault) {
        return Ok(());
    }
    match decision {
        Decision::Allow if principal.who.kind == PrincipalKind::User || scopes_cover(&principal.scopes, path) => Ok(()),
        Decision::Allow => Err(Error::Forbidden(format!(
            "This token's scopes do not cover '{path}'; exchange the agent key for a new token"
        ))),
        Decision::NeedsApproval(policy)
            if principal.who.kind == PrincipalKind::User || scopes_cover(&principal.scopes, path) =>
        {
            Err(Error::ApprovalRequired {
                detail: format!("A human must approve {} on '{path}' first", operation.as_str()),
                policy: Some(policy),
                request: None,
            })
        }
        Decision::NeedsApproval(_) => Err(Error::Forbidden(format!(
            "This token's scopes do not cover '{path}'; exchange the agent key for a new token"
        ))),
        _ => Err(Error::Forbidden(format!("No policy grants {} on '{path}' in this vault", operation.as_str()))),
    }
}

/// Access checks that need the store: only its vault and access capabilities, so a test can
/// run them over an in-memory store (`oneclaw_testkit::memory::MemoryStore`).
pub struct Access<'a> {
    vaults: &'a dyn VaultStore,
    access: &'a dyn AccessStore,
    clock: &'a dyn Clock,
    cache: Option<&'a PolicyCache>,
}

impl<'a> Access<'a> {
    pub(crate) fn new(deps: &'a Deps) -> Self {
        Self::over(deps.store.as_ref(), deps.store.as_ref(), deps.clock.as_ref()).with_cache(&deps.policy_sets)
    }

    /// The checks over any store with these two capabilities, and a clock.
    pub fn over(vaults: &'a dyn VaultStore, access: &'a dyn AccessStore, clock: &'a dyn Clock) -> Self {
        Self { vaults, access, clock, cache: None }
    }

    /// Keeps callers' compiled policy sets between requests.
    pub fn with_cache(self, cache: &'a PolicyCache) -> Self {
        Self { cache: Some(cache), ..self }
    }

    /// A vault of the caller's org (404 otherwise), without any permission check.
    pub async fn vault(&self, caller: &Caller, id: VaultId) -> Result<Vault> {
        self.vaults.vault(caller.org_id(), id).await?.ok_or_else(vault_not_found)
    }

    /// A vault of the caller's org (404 otherwise) with the caller's policies on it: one store
    /// read, everything `evaluate` needs. The policies come from the cache while the vault's
    /// policy generation says they are current, so the read carries no policy rows.
    pub async fn vault_access(&self, caller: &Caller, id: VaultId) -> Result<VaultWithPolicies> {
        let who = caller.principal.who;
        let held = self.cache.and_then(|cache| cache.get(id, who));
        let found =
            self.access.vault_access(caller.org_id(), id, who, held.as_ref().map(|(generation, _)| *generation));
        self.with_policies(id, who, found.await?.ok_or_else(vault_not_found)?, held)
    }

    /// `vault_access`, and in the same store read the version of `path` a secret read asks for
    /// (`None` when there is none): a hot read's only store read before its audit record.
    pub async fn vault_access_with_secret(
        &self,
        secrets: &dyn SecretStore,
        caller: &Caller,
        id: VaultId,
        path: &SecretPath,
        version: Option<i64>,
    ) -> Result<(VaultWithPolicies, Option<SecretRead>)> {
        let who = caller.principal.who;
        let held = self.cache.and_then(|cache| cache.get(id, who));
        let held_generation = held.as_ref().map(|(generation, _)| *generation);
        let found = secrets.vault_access_with_secret(caller.org_id(), id, who, held_generation, path.as_str(), version);
        let (access, secret) = found.await?.ok_or_else(vault_not_found)?;
        Ok((self.with_policies(id, who, access, held)?, secret))
    }

    /// The caller's compiled policies: fresh from the store (and cached), or the held ones when
    /// the store left them out because their generation is still the vault's.
    fn with_policies(
        &self,
        id: VaultId,
        who: PrincipalRef,
        found: VaultAccess,
        held: Option<(i64, Arc<PolicySet>)>,
    ) -> Result<VaultWithPolicies> {
        let VaultAccess { vault, policy_generation, policies } = found;
        let policies = match (policies, held) {
            (Some(fresh), _) => {
                let set = Arc::new(PolicySet::new(fresh));
                if let Some(cache) = self.cache {
                    cache.put(id, who, policy_generation, Arc::clone(&set));
                }
                set
            }
            (None, Some((_, current))) => current,
            (None, None) => return Err(Error::Internal("the store left out policies nobody holds".to_owned())),
        };
        Ok(VaultWithPolicies { vault, policies })
    }

    /// Loads the vault with the caller's policies on it and checks one operation on one path.
    pub async fn secret(&self, caller: &Caller, id: VaultId, path: &SecretPath, op: Operation) -> Result<Vault> {
        let VaultWithPolicies { vault, policies } = self.vault_access(caller, id).await?;
        evaluate(caller, &vault, &policies, path, op, self.clock.now())?;
        Ok(vault)
    }

    /// The caller's role when it is a human member (None for agents and removed members).
    pub async fn role(&self, caller: &Caller) -> Result<Option<Role>> {
        match caller.principal.user_id() {
            Some(user) => self.access.member_role(caller.org_id(), user).await,
            None => Ok(None),
        }
    }

    /// True for org owners and admins.
    pub async fn is_admin(&self, caller: &Caller) -> Result<bool> {
        Ok(matches!(self.role(caller).await?, Some(Role::Owner | Role::Admin)))
    }

    /// May the caller manage the vault (delete it, write its policies)? Its owner, or an org
    /// admin; an agent only on vaults it owns.
    pub async fn manage(&self, caller: &Caller, vault: &Vault) -> Result<()> {
        if !token_allows_vault(&caller.principal, vault.id) {
            return Err(Error::Forbidden("This token is not valid for that vault".to_owned()));
        }
        if is_owner(&caller.principal, vault) || self.is_admin(caller).await? {
            return Ok(());
        }
        Err(Error::Forbidden(match caller.principal.who.kind {
            PrincipalKind::Agent => "Agents may only manage vaults they created".to_owned(),
            PrincipalKind::User => "Only the vault's owner or an org admin may manage it".to_owned(),
        }))
    }

    /// May the caller see the vault at all? Owners, org admins, and principals with a policy in
    /// force on it.
    pub async fn see(&self, caller: &Caller, vault: &Vault) -> Result<bool> {
        let policies = self.access.policies_for(vault.id, caller.principal.who).await?;
        self.see_with(caller, vault, &policies).await
    }

    /// `see`, for a caller whose policies on the vault are already loaded.
    pub async fn see_with(&self, caller: &Caller, vault: &Vault, policies: &[Policy]) -> Result<bool> {
        if !token_allows_vault(&caller.principal, vault.id) {
            return Ok(false);
        }
        let now = self.clock.now();
        Ok(is_owner(&caller.principal, vault)
            // Only an allow shows a vault: a deny-only policy must not reveal that it exists.
            || policies.iter().any(|p| p.effect == crate::policy::Effect::Allow && p.in_force(now, caller.meta.ip))
            || self.is_admin(caller).await?)
    }
}
