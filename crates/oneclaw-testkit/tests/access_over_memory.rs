//! The access check (`oneclaw_core::services::access::Access`) run over the in-memory store:
//! the order of its rules (org, token vaults, deny, ownership, allow within scopes) and who may
//! manage or see a vault, each shown without a database or a server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use oneclaw_core::Error;
use oneclaw_core::ids::{AgentId, OrgId, UserId, VaultId};
use oneclaw_core::model::{Role, Vault};
use oneclaw_core::path::SecretPath;
use oneclaw_core::policy::{Effect, Operation, PathGlob, Permission, Policy};
use oneclaw_core::principal::{Caller, Principal, PrincipalKind, PrincipalRef, RequestMeta, Surface};
use oneclaw_core::services::access::{Access, PolicyCache};
use oneclaw_testkit::TestClock;
use oneclaw_testkit::memory::MemoryStore;
use time::Duration;
use uuid::Uuid;

struct World {
    store: MemoryStore,
    clock: TestClock,
    org: OrgId,
}

impl World {
    fn new() -> Self {
        Self { store: MemoryStore::new(), clock: TestClock::default(), org: OrgId::generate() }
    }

    fn access(&self) -> Access<'_> {
        Access::over(&self.store, &self.store, &self.clock)
    }

    fn member(&self, role: Role) -> PrincipalRef {
        let user = UserId::generate();
        self.store.add_member(self.org, user, role);
        PrincipalRef::user(user)
    }

    fn agent(&self) -> PrincipalRef {
        PrincipalRef { kind: PrincipalKind::Agent, id: AgentId::generate().0 }
    }

    /// A vault of this org made by `creator`, answerable to `owner`.
    fn vault(&self, creator: PrincipalRef, owner: PrincipalRef) -> Vault {
        let vault = Vault {
            id: VaultId::generate(),
            org_id: self.org,
            name: "v".to_owned(),
            description: String::new(),
            created_by: creator,
            owner_user_id: UserId(owner.id),
            created_at: self.clock.now_utc(),
            kek_version: 1,
        };
        self.store.add_vault(vault.clone());
        vault
    }

    fn policy(&self, vault: &Vault, who: PrincipalRef, pattern: &str, effect: Effect) {
        self.store.add_policy(self.draft(vault, who, pattern, effect));
    }

    fn draft(&self, vault: &Vault, who: PrincipalRef, pattern: &str, effect: Effect) -> Policy {
        let permissions = vec![Permission::Read, Permission::Write];
        let glob = PathGlob::parse(pattern).unwrap();
        Policy::new(vault.id, who, glob, permissions, effect, who, self.clock.now_utc())
    }

    fn caller(&self, who: PrincipalRef) -> Caller {
        caller_in(self.org, who, &[], &[])
    }
}

fn caller_in(org: OrgId, who: PrincipalRef, scopes: &[&str], vault_ids: &[Uuid]) -> Caller {
    let scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
    let principal = Principal { scopes, vault_ids: vault_ids.to_vec(), ..Principal::bare(who, org, i64::MAX) };
    Caller::new(principal, RequestMeta::internal(Surface::Api))
}

/// An org with an owner and the owner's vault.
fn owners_vault() -> (World, PrincipalRef, Vault) {
    let world = World::new();
    let owner = world.member(Role::Owner);
    let vault = world.vault(owner, owner);
    (world, owner, vault)
}

/// Reads `at` in `vault` as `caller`.
async fn read(access: &Access<'_>, caller: &Caller, vault: &Vault, at: &str) -> oneclaw_core::Result<Vault> {
    access.secret(caller, vault.id, &path(at), Operation::Read).await
}

fn path(text: &str) -> SecretPath {
    SecretPath::parse(text).unwrap()
}

fn is_forbidden<T: std::fmt::Debug>(result: oneclaw_core::Result<T>) -> bool {
    matches!(result, Err(Error::Forbidden(_)))
}

#[tokio::test]
async fn another_orgs_vault_is_not_found_even_for_its_owner() {
    let (world, owner, vault) = owners_vault();
    let elsewhere = caller_in(OrgId::generate(), owner, &[], &[]);
    let result = read(&world.access(), &elsewhere, &vault, "a").await;
    assert!(matches!(result, Err(Error::NotFound(_))), "{result:?}");
    assert!(read(&world.access(), &world.caller(owner), &vault, "a").await.is_ok());
}

#[tokio::test]
async fn a_token_limited_to_other_vaults_is_refused_before_any_policy() {
    let (world, owner, vault) = owners_vault();
    let limited = caller_in(world.org, owner, &[], &[VaultId::generate().0]);
    assert!(is_forbidden(read(&world.access(), &limited, &vault, "a").await));
    assert!(is_forbidden(world.access().manage(&limited, &vault).await));
    assert!(!world.access().see(&limited, &vault).await.unwrap());
    let this_vault = caller_in(world.org, owner, &[], &[vault.id.0]);
    assert!(read(&world.access(), &this_vault, &vault, "a").await.is_ok());
}

#[tokio::test]
async fn a_deny_wins_even_over_ownership() {
    let world = World::new();
    let owner = world.member(Role::Member);
    let vault = world.vault(owner, owner);
    world.policy(&vault, owner, "prod/**", Effect::Deny);
    let access = world.access();
    let caller = world.caller(owner);
    assert!(is_forbidden(read(&access, &caller, &vault, "prod/db").await));
    assert!(read(&access, &caller, &vault, "dev/db").await.is_ok());
}

#[tokio::test]
async fn a_human_owns_the_vaults_their_agents_made_and_an_agent_owns_only_its_own() {
    let world = World::new();
    let human = world.member(Role::Member);
    let agent = world.agent();
    let other_agent = world.agent();
    let made_by_agent = world.vault(agent, human);
    let access = world.access();
    for who in [human, agent] {
        assert!(access.secret(&world.caller(who), made_by_agent.id, &path("k"), Operation::Write).await.is_ok());
        assert!(access.manage(&world.caller(who), &made_by_agent).await.is_ok());
    }
    let stranger = world.caller(other_agent);
    assert!(is_forbidden(access.secret(&stranger, made_by_agent.id, &path("k"), Operation::Read).await));
    assert!(is_forbidden(access.manage(&stranger, &made_by_agent).await));
}

#[tokio::test]
async fn an_agents_allow_counts_only_within_its_token_scopes() {
    let (world, _, vault) = owners_vault();
    let agent = world.agent();
    world.policy(&vault, agent, "**", Effect::Allow);
    let access = world.access();
    let unscoped = world.caller(agent);
    assert!(is_forbidden(read(&access, &unscoped, &vault, "dev/db").await));
    let scoped = caller_in(world.org, agent, &["dev/*"], &[]);
    assert!(read(&access, &scoped, &vault, "dev/db").await.is_ok());
    assert!(is_forbidden(read(&access, &scoped, &vault, "prod/db").await));
}

#[tokio::test]
async fn a_scoped_human_token_is_limited_even_on_the_humans_own_vault() {
    let (world, owner, vault) = owners_vault();
    let scoped = caller_in(world.org, owner, &["ci/*"], &[]);
    let access = world.access();
    assert!(read(&access, &scoped, &vault, "ci/token").await.is_ok());
    assert!(is_forbidden(read(&access, &scoped, &vault, "prod/db").await));
}

#[tokio::test]
async fn a_policy_stops_counting_when_it_expires() {
    let (world, _, vault) = owners_vault();
    let reader = world.member(Role::Member);
    let expires_at = Some(world.clock.now_utc() + Duration::hours(1));
    world.store.add_policy(Policy { expires_at, ..world.draft(&vault, reader, "**", Effect::Allow) });
    let access = world.access();
    let caller = world.caller(reader);
    assert!(read(&access, &caller, &vault, "a").await.is_ok());
    assert!(access.see(&caller, &vault).await.unwrap());
    world.clock.advance(Duration::hours(2));
    assert!(is_forbidden(read(&access, &caller, &vault, "a").await));
    assert!(!access.see(&caller, &vault).await.unwrap());
}

#[tokio::test]
async fn admins_manage_every_vault_but_read_only_through_a_policy() {
    let world = World::new();
    let owner = world.member(Role::Member);
    let vault = world.vault(owner, owner);
    let admin = world.member(Role::Admin);
    let plain = world.member(Role::Member);
    let access = world.access();
    assert!(access.manage(&world.caller(admin), &vault).await.is_ok());
    assert!(access.see(&world.caller(admin), &vault).await.unwrap());
    assert!(is_forbidden(read(&access, &world.caller(admin), &vault, "a").await));
    assert!(is_forbidden(access.manage(&world.caller(plain), &vault).await));
    assert!(!access.see(&world.caller(plain), &vault).await.unwrap());
}

#[tokio::test]
async fn a_removed_admin_manages_nothing() {
    let (world, _, vault) = owners_vault();
    let admin = world.member(Role::Admin);
    let access = world.access();
    assert!(access.is_admin(&world.caller(admin)).await.unwrap());
    world.store.remove_member(world.org, UserId(admin.id));
    assert!(!access.is_admin(&world.caller(admin)).await.unwrap());
    assert!(is_forbidden(access.manage(&world.caller(admin), &vault).await));
}

#[tokio::test]
async fn a_deny_only_policy_does_not_reveal_the_vault() {
    let (world, _, vault) = owners_vault();
    let agent = world.agent();
    world.policy(&vault, agent, "**", Effect::Deny);
    assert!(!world.access().see(&world.caller(agent), &vault).await.unwrap());
    world.policy(&vault, agent, "dev/*", Effect::Allow);
    assert!(world.access().see(&world.caller(agent), &vault).await.unwrap());
}

#[tokio::test]
async fn another_principals_policies_grant_nothing() {
    let (world, _, vault) = owners_vault();
    let granted = world.member(Role::Member);
    let other = world.member(Role::Member);
    world.policy(&vault, granted, "**", Effect::Allow);
    let access = world.access();
    assert!(read(&access, &world.caller(granted), &vault, "a").await.is_ok());
    assert!(is_forbidden(read(&access, &world.caller(other), &vault, "a").await));
}

#[tokio::test]
async fn cached_policies_serve_while_the_generation_holds_and_a_change_is_seen_at_once() {
    let (world, _, vault) = owners_vault();
    let agent = world.agent();
    world.policy(&vault, agent, "**", Effect::Allow);
    let cache = PolicyCache::default();
    let access = Access::over(&world.store, &world.store, &world.clock).with_cache(&cache);
    let caller = caller_in(world.org, agent, &["**"], &[]);
    assert!(read(&access, &caller, &vault, "a").await.is_ok());

    // A deny the store does not announce: the cached set (read at the old generation) serves.
    world.store.add_policy_unannounced(world.draft(&vault, agent, "**", Effect::Deny));
    assert!(read(&access, &caller, &vault, "a").await.is_ok(), "served from the cache");
    let uncached = Access::over(&world.store, &world.store, &world.clock);
    assert!(is_forbidden(read(&uncached, &caller, &vault, "a").await));

    // Any announced change moves the generation, and the very next check reads afresh.
    world.policy(&vault, agent, "unrelated/*", Effect::Allow);
    assert!(is_forbidden(read(&access, &caller, &vault, "a").await));
}
