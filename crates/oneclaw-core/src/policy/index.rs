//! `PolicySet`: a principal's policies on a vault, indexed by the literal segments their globs
//! begin with, so a decision tests only the policies that could match the path instead of every
//! policy the principal has (an agent may hold thousands).
//!
//! A glob such as `teams/alpha/*` can only match paths that begin `teams/alpha/`; it is filed at
//! the node `teams → alpha` of a trie over path segments. Deciding for `teams/alpha/db` walks
//! the trie along the path and gathers the policies filed at each node it passes (the root holds
//! globs that begin with a wildcard). Those candidates are then checked exactly as `decide`
//! checks every policy, so the answer is the same; only the work differs.

use super::{Decision, Operation, Policy, fold};
use crate::path::SecretPath;
use std::collections::HashMap;
use std::net::IpAddr;
use time::OffsetDateTime;

#[derive(Debug, Default)]
struct Node {
    /// Policies whose glob's literal prefix ends here.
    filed: Vec<usize>,
    children: HashMap<String, Node>,
}

/// A principal's policies on one vault, ready to decide on.
#[derive(Debug, Default)]
pub struct PolicySet {
    policies: Vec<Policy>,
    root: Node,
}

impl PolicySet {
    pub fn new(policies: Vec<Policy>) -> Self {
        let mut root = Node::default();
        for (index, policy) in policies.iter().enumerate() {
            let mut node = &mut root;
            for literal in policy.pattern.literal_prefix() {
                node = node.children.entry(literal.to_owned()).or_default();
            }
            node.filed.push(index);
        }
        Self { policies, root }
    }

    /// Every policy, in the order given.
    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }

    /// The policies whose globs could match `path` (a superset of those that do).
    /// The policy with this id, if the set holds it.
    pub fn get(&self, id: crate::ids::PolicyId) -> Option<&Policy> {
        self.policies.iter().find(|policy| policy.id == id)
    }

    fn candidates<'a>(&'a self, path: &'a SecretPath) -> impl Iterator<Item = &'a Policy> + 'a {
        let mut nodes = vec![&self.root];
        let mut node = &self.root;
        for segment in path.as_str().split('/') {
            match node.children.get(segment) {
                Some(child) => {
                    nodes.push(child);
                    node = child;
                }
                None => break,
            }
        }
        nodes.into_iter().flat_map(|node| node.filed.iter().map(|&index| &self.policies[index]))
    }

    /// The same decision as `policy::decide` over every policy of the set.
    pub fn decide(&self, path: &SecretPath, operation: Operation, now: OffsetDateTime, ip: Option<IpAddr>) -> Decision {
        fold(self.candidates(path), path, operation, now, ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::VaultId;
    use crate::policy::{Effect, PathGlob, Permission, decide};
    use crate::principal::{PrincipalKind, PrincipalRef};
    use proptest::prelude::*;
    use uuid::Uuid;

    fn policy(pattern: &str, permissions: Vec<Permission>, effect: Effect) -> Policy {
        let who = PrincipalRef { kind: PrincipalKind::Agent, id: Uuid::nil() };
        let glob = PathGlob::parse(pattern).unwrap();
        Policy::new(VaultId(Uuid::nil()), who, glob, permissions, effect, who, OffsetDateTime::UNIX_EPOCH)
    }

    const SEGMENTS: &[&str] = &["a", "b", "c", "*", "**"];
    const PERMISSIONS: &[Permission] =
        &[Permission::Read, Permission::Write, Permission::Delete, Permission::Rotate, Permission::Execute];
    const OPERATIONS: &[Operation] =
        &[Operation::Read, Operation::Write, Operation::Delete, Operation::Rotate, Operation::Execute];

    fn glob() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(SEGMENTS), 1..5).prop_map(|s| s.join("/"))
    }

    fn path() -> impl Strategy<Value = SecretPath> {
        prop::collection::vec(prop::sample::select(&["a", "b", "c"][..]), 1..5)
            .prop_map(|s| SecretPath::parse(&s.join("/")).unwrap())
    }

    fn policies() -> impl Strategy<Value = Vec<Policy>> {
        prop::collection::vec((glob(), prop::sample::subsequence(PERMISSIONS, 1..=4), prop::bool::ANY), 0..12).prop_map(
            |drafts| {
                drafts
                    .into_iter()
                    .map(|(glob, permissions, deny)| {
                        policy(&glob, permissions, if deny { Effect::Deny } else { Effect::Allow })
                    })
                    .collect()
            },
        )
    }

    proptest! {
        #[test]
        fn the_index_decides_exactly_as_the_scan(policies in policies(), path in path(), op in prop::sample::select(OPERATIONS)) {
            let now = OffsetDateTime::UNIX_EPOCH;
            let scanned = decide(&policies, &path, op, now, None);
            prop_assert_eq!(PolicySet::new(policies).decide(&path, op, now, None), scanned);
        }
    }

    #[test]
    fn only_policies_that_could_match_are_candidates() {
        let mut all: Vec<Policy> =
            (0..1000).map(|i| policy(&format!("agents/a{i}/**"), vec![Permission::Read], Effect::Allow)).collect();
        all.push(policy("**", vec![Permission::Write], Effect::Allow));
        let set = PolicySet::new(all);
        let path = SecretPath::parse("agents/a7/key").unwrap();
        assert_eq!(set.candidates(&path).count(), 2, "the root's `**` and agents/a7/**");
        let now = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(set.decide(&path, Operation::Read, now, None), Decision::Allow);
        let other = SecretPath::parse("agents/a7000/key").unwrap();
        assert_eq!(set.decide(&other, Operation::Read, now, None), Decision::NoMatch);
    }
}
