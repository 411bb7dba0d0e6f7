//! Properties of the access decision (`services::access::evaluate`) over generated callers,
//! vaults and policy sets: what must hold whatever the policies say. CI runs a seeded short
//! pass (PROPTEST_RNG_SEED, PROPTEST_CASES); docs/FUZZING.md has the long run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use oneclaw_core::Error;
use oneclaw_core::ids::{OrgId, UserId, VaultId};
use oneclaw_core::model::Vault;
use oneclaw_core::path::SecretPath;
use oneclaw_core::policy::{Effect, Operation, PathGlob, Permission, Policy, PolicySet};
use oneclaw_core::principal::{Caller, Principal, PrincipalKind, PrincipalRef, RequestMeta, Surface};
use oneclaw_core::services::access::evaluate;
use proptest::prelude::*;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const SEGMENTS: &[&str] = &["dev", "prod", "db", "a"];
const PATTERN_SEGMENTS: &[&str] = &["dev", "prod", "db", "a", "*", "**"];
const OPERATIONS: &[Operation] =
    &[Operation::Read, Operation::Write, Operation::Delete, Operation::Rotate, Operation::Execute];
const PERMISSIONS: &[Permission] =
    &[Permission::Read, Permission::Write, Permission::Delete, Permission::Rotate, Permission::Execute];

fn now() -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + Duration::days(20_000)
}

fn secret_path() -> impl Strategy<Value = SecretPath> {
    prop::collection::vec(prop::sample::select(SEGMENTS), 1..4).prop_map(|s| SecretPath::parse(&s.join("/")).unwrap())
}

fn pattern() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PATTERN_SEGMENTS), 1..3).prop_map(|s| s.join("/"))
}

/// How the caller stands to the vault.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Standing {
    Stranger,
    /// A human whose vault it is (they or their agent made it).
    HumanOwner,
    /// The agent that made it.
    AgentCreator,
}

#[derive(Debug, Clone)]
struct Case {
    caller: Caller,
    vault: Vault,
    policies: Vec<Policy>,
    path: SecretPath,
    operation: Operation,
}

fn policy_for(
    who: PrincipalRef,
    vault: VaultId,
    pattern: &str,
    permissions: Vec<Permission>,
    effect: Effect,
) -> Policy {
    let glob = PathGlob::parse(pattern).unwrap();
    Policy::new(vault, who, glob, permissions, effect, who, OffsetDateTime::UNIX_EPOCH)
}

fn case() -> impl Strategy<Value = Case> {
    let policy = (
        pattern(),
        prop::sample::subsequence(PERMISSIONS, 1..=4),
        prop::bool::ANY, // deny?
        prop::bool::ANY, // expired?
    );
    (
        prop::bool::ANY, // an agent?
        prop::sample::select(&[Standing::Stranger, Standing::HumanOwner, Standing::AgentCreator][..]),
        prop::collection::vec(pattern(), 0..3),
        0u8..3, // token vaults: none, this one, another
        prop::collection::vec(policy, 0..5),
        secret_path(),
        prop::sample::select(OPERATIONS),
    )
        .prop_map(|(agent, standing, scopes, vaults, drafts, path, operation)| {
            let kind = if agent { PrincipalKind::Agent } else { PrincipalKind::User };
            let who = PrincipalRef { kind, id: Uuid::new_v4() };
            let stranger = PrincipalRef::user(UserId::generate());
            let org = OrgId::generate();
            let vault_id = VaultId::generate();
            let (created_by, owner) = match (standing, kind) {
                (Standing::HumanOwner, PrincipalKind::User) => (who, UserId(who.id)),
                (Standing::AgentCreator, PrincipalKind::Agent) => (who, UserId::generate()),
                _ => (stranger, UserId(stranger.id)),
            };
            let vault = Vault {
                id: vault_id,
                org_id: org,
                name: "v".to_owned(),
                description: String::new(),
                created_by,
                owner_user_id: owner,
                created_at: OffsetDateTime::UNIX_EPOCH,
                kek_version: 1,
            };
            let policies = drafts
                .into_iter()
                .map(|(pattern, permissions, deny, expired)| {
                    let effect = if deny { Effect::Deny } else { Effect::Allow };
                    let mut policy = policy_for(who, vault_id, &pattern, permissions, effect);
                    policy.expires_at = expired.then(|| now() - Duration::seconds(1));
                    policy
                })
                .collect();
            let vault_ids = match vaults {
                0 => vec![],
                1 => vec![vault_id.0],
                _ => vec![Uuid::new_v4()],
            };
            let principal = Principal { scopes, vault_ids, ..Principal::bare(who, org, i64::MAX) };
            let caller = Caller::new(principal, RequestMeta::internal(Surface::Api));
            Case { caller, vault, policies, path, operation }
        })
}

fn allowed(case: &Case, policies: &[Policy]) -> bool {
    let set = PolicySet::new(policies.to_vec());
    match evaluate(&case.caller, &case.vault, &set, &case.path, case.operation, now()) {
        Ok(()) => true,
        Err(Error::Forbidden(_)) => false,
        Err(other) => panic!("evaluate answers only allow or forbidden, not {other:?}"),
    }
}

fn owns(case: &Case) -> bool {
    let who = case.caller.principal.who;
    match who.kind {
        PrincipalKind::User => case.vault.owner_user_id.0 == who.id,
        PrincipalKind::Agent => case.vault.created_by == who,
    }
}

fn scopes_cover(case: &Case) -> bool {
    case.caller.principal.scopes.iter().any(|scope| PathGlob::parse(scope).unwrap().matches(&case.path))
}

fn covers(policy: &Policy, case: &Case) -> bool {
    policy.pattern.matches(&case.path) && case.operation.allowed_by().iter().any(|p| policy.permissions.contains(p))
}

proptest! {
    #[test]
    fn a_deny_in_force_that_covers_the_request_always_refuses(case in case()) {
        let mut policies = case.policies.clone();
        let who = case.caller.principal.who;
        policies.push(policy_for(who, case.vault.id, "**", PERMISSIONS.to_vec(), Effect::Deny));
        prop_assert!(!allowed(&case, &policies));
    }

    #[test]
    fn a_token_for_other_vaults_is_always_refused(case in case()) {
        let vaults = &case.caller.principal.vault_ids;
        if !vaults.is_empty() && !vaults.contains(&case.vault.id.0) {
            prop_assert!(!allowed(&case, &case.policies));
        }
    }

    #[test]
    fn expired_policies_change_nothing(case in case()) {
        let in_force: Vec<Policy> =
            case.policies.iter().filter(|p| p.expires_at.is_none_or(|at| at > now())).cloned().collect();
        prop_assert_eq!(allowed(&case, &case.policies), allowed(&case, &in_force));
    }

    #[test]
    fn the_order_of_the_policies_does_not_matter(case in case()) {
        let mut reversed = case.policies.clone();
        reversed.reverse();
        prop_assert_eq!(allowed(&case, &case.policies), allowed(&case, &reversed));
    }

    #[test]
    fn a_non_owner_needs_an_allow_in_force_that_covers_the_request(case in case()) {
        let has_allow = case.policies.iter().any(|p| {
            p.effect == Effect::Allow && p.expires_at.is_none_or(|at| at > now()) && covers(p, &case)
        });
        if allowed(&case, &case.policies) && !owns(&case) {
            prop_assert!(has_allow);
        }
    }

    #[test]
    fn an_agent_never_reaches_beyond_its_scopes_unless_it_owns_the_vault(case in case()) {
        if case.caller.principal.who.kind == PrincipalKind::Agent && !owns(&case) && allowed(&case, &case.policies) {
            prop_assert!(scopes_cover(&case));
        }
    }

    #[test]
    fn a_scoped_human_token_never_reaches_beyond_its_scopes(case in case()) {
        let principal = &case.caller.principal;
        if principal.who.kind == PrincipalKind::User && !principal.scopes.is_empty() && allowed(&case, &case.policies) {
            prop_assert!(scopes_cover(&case));
        }
    }

    #[test]
    fn an_owner_with_an_unlimited_token_and_no_deny_is_allowed(case in case()) {
        let principal = &case.caller.principal;
        let unlimited = principal.vault_ids.is_empty() && principal.scopes.is_empty();
        let denied = case.policies.iter().any(|p| {
            p.effect == Effect::Deny && p.expires_at.is_none_or(|at| at > now()) && covers(p, &case)
        });
        if owns(&case) && unlimited && !denied {
            prop_assert!(allowed(&case, &case.policies));
        }
    }

    #[test]
    fn dropping_a_scope_never_widens_a_humans_access(case in case()) {
        let principal = &case.caller.principal;
        if principal.who.kind == PrincipalKind::User && principal.scopes.len() > 1 {
            let mut narrower = case.clone();
            narrower.caller.principal.scopes.pop();
            if allowed(&narrower, &narrower.policies) {
                prop_assert!(allowed(&case, &case.policies));
            }
        }
    }
}
