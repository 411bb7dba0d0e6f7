//! The policy engine: path globs, conditions, and the decision for one request.
//!
//! A policy grants (or denies) a principal permissions on the paths of one vault that match its
//! glob, while its conditions hold and until it expires. `decide` folds the policies that apply
//! into one answer; deny always wins over allow.

mod conditions;
mod glob;
mod index;

pub use conditions::{
    ApprovalRule, Conditions, MAX_APPROVAL_WINDOW_SECONDS, TimeWindow, ip_in, parse_net as conditions_net,
};
pub use glob::PathGlob;
pub use index::PolicySet;

use crate::ids::{PolicyId, VaultId};
use crate::path::SecretPath;
use crate::principal::PrincipalRef;
use crate::{Error, Result};
use std::net::IpAddr;
use time::OffsetDateTime;

/// What a policy can allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// Read values, and see paths in lists and version lists.
    Read,
    /// Store new versions, disable versions, rotate, and delete (1claw compatibility).
    Write,
    /// Delete secrets.
    Delete,
    /// Rotate secrets to a server-generated value.
    Rotate,
    /// Use a binding (path `bindings/<name>`): the server makes the call with its credential;
    /// the credential itself is never read.
    Execute,
}

impl Permission {
    /// Parses `read`, `write`, `delete`, `rotate` or `execute`.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "read" => Ok(Self::Read),
            "write" => Ok(Self::Write),
            "delete" => Ok(Self::Delete),
            "rotate" => Ok(Self::Rotate),
            "execute" => Ok(Self::Execute),
            other => Err(Error::invalid_field(
                "permissions",
                format!("unknown permission {other:?}; use read, write, delete, rotate or execute"),
            )),
        }
    }

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Delete => "delete",
            Self::Rotate => "rotate",
            Self::Execute => "execute",
        }
    }
}

/// What a request does to a secret; each operation is allowed by some permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Read,
    Write,
    Delete,
    Rotate,
    /// Execute a binding.
    Execute,
}

impl Operation {
    /// The permissions that allow this operation.
    pub fn allowed_by(self) -> &'static [Permission] {
        match self {
            Self::Read => &[Permission::Read],
            Self::Write => &[Permission::Write],
            Self::Delete => &[Permission::Delete, Permission::Write],
            Self::Rotate => &[Permission::Rotate, Permission::Write],
            Self::Execute => &[Permission::Execute],
        }
    }

    /// The word used in messages: the name of the permission made for it.
    pub fn as_str(self) -> &'static str {
        self.allowed_by()[0].as_str()
    }
}

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

impl Effect {
    /// Parses `allow` or `deny`.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "allow" => Ok(Self::Allow),
            "deny" => Ok(Self::Deny),
            _ => Err(Error::invalid_field("effect", "must be allow or deny")),
        }
    }

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Deny => "deny",
        }
    }
}

/// A stored policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub id: PolicyId,
    pub vault_id: VaultId,
    pub principal: PrincipalRef,
    pub pattern: PathGlob,
    pub permissions: Vec<Permission>,
    pub conditions: Conditions,
    pub expires_at: Option<OffsetDateTime>,
    pub effect: Effect,
    pub priority: i64,
    pub created_by: PrincipalRef,
    pub created_at: OffsetDateTime,
    pub policy_schema_version: i64,
}

impl Policy {
    /// A policy with no conditions, no expiry and priority 0, by `created_by` at `created_at`.
    pub fn new(
        vault_id: VaultId,
        principal: PrincipalRef,
        pattern: PathGlob,
        permissions: Vec<Permission>,
        effect: Effect,
        created_by: PrincipalRef,
        created_at: OffsetDateTime,
    ) -> Self {
        Self {
            id: PolicyId::generate(),
            vault_id,
            principal,
            pattern,
            permissions,
            conditions: Conditions::default(),
            expires_at: None,
            effect,
            priority: 0,
            created_by,
            created_at,
            policy_schema_version: oneclaw_types::policies::DEFAULT_POLICY_SCHEMA_VERSION,
        }
    }

    /// True when the policy is in force for this request: not expired, conditions hold.
    pub fn in_force(&self, now: OffsetDateTime, ip: Option<IpAddr>) -> bool {
        self.expires_at.is_none_or(|at| at > now) && self.conditions.hold(now, ip)
    }

    /// True when this (allow) policy lets `operation` through only with a human's approval.
    pub fn needs_approval(&self, operation: Operation) -> bool {
        self.conditions.require_approval.as_ref().is_some_and(|rule| rule.applies_to(operation, &self.permissions))
    }

    fn covers(&self, path: &SecretPath, operation: Operation) -> bool {
        self.pattern.matches(path) && operation.allowed_by().iter().any(|p| self.permissions.contains(p))
    }
}

/// The answer of the policy engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// An allow policy in force covers the request and no deny does.
    Allow,
    /// Only allow policies that require a human's approval for this operation cover it (the
    /// first of them named), and no deny does.
    NeedsApproval(PolicyId),
    /// A deny policy in force covers the request.
    Deny,
    /// No policy in force covers it.
    NoMatch,
}

/// Folds the principal's policies on a vault into one decision. Deny wins over allow whatever
/// the priorities; priority orders policies for display and is kept for compatibility.
pub fn decide(
    policies: &[Policy],
    path: &SecretPath,
    operation: Operation,
    now: OffsetDateTime,
    ip: Option<IpAddr>,
) -> Decision {
    fold(policies.iter(), path, operation, now, ip)
}

/// The decision over `candidates`: every policy that could cover the request (all of them,
/// or those the index found).
fn fold<'a>(
    candidates: impl Iterator<Item = &'a Policy>,
    path: &SecretPath,
    operation: Operation,
    now: OffsetDateTime,
    ip: Option<IpAddr>,
) -> Decision {
    let mut allowed = false;
    let mut gated = None;
    for policy in candidates.filter(|p| p.in_force(now, ip) && p.covers(path, operation)) {
        match policy.effect {
            Effect::Deny => return Decision::Deny,
            Effect::Allow if policy.needs_approval(operation) => {
                // Candidates come in no fixed order; the smallest id keeps the answer stable.
                gated = Some(gated.map_or(policy.id, |seen: PolicyId| seen.min(policy.id)));
            }
            Effect::Allow => allowed = true,
        }
    }
    match (allowed, gated) {
        (true, _) => Decision::Allow,
        (false, Some(policy)) => Decision::NeedsApproval(policy),
        (false, None) => Decision::NoMatch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::principal::PrincipalKind;
    use uuid::Uuid;

    fn policy(pattern: &str, permissions: &[Permission], effect: Effect) -> Policy {
        let who = PrincipalRef { kind: PrincipalKind::Agent, id: Uuid::nil() };
        let glob = PathGlob::parse(pattern).unwrap();
        Policy::new(VaultId::generate(), who, glob, permissions.to_vec(), effect, who, OffsetDateTime::UNIX_EPOCH)
    }

    fn path(text: &str) -> SecretPath {
        SecretPath::parse(text).unwrap()
    }

    #[test]
    fn deny_wins_over_allow_whatever_the_priority() {
        let now = crate::clock::SystemClock.now();
        let mut allow = policy("**", &[Permission::Read], Effect::Allow);
        allow.priority = 100;
        let deny = policy("prod/*", &[Permission::Read], Effect::Deny);
        let set = [allow, deny];
        assert_eq!(decide(&set, &path("dev/a"), Operation::Read, now, None), Decision::Allow);
        assert_eq!(decide(&set, &path("prod/a"), Operation::Read, now, None), Decision::Deny);
        assert_eq!(decide(&set, &path("prod/a"), Operation::Write, now, None), Decision::NoMatch);
    }

    #[test]
    fn permissions_map_to_operations() {
        let now = crate::clock::SystemClock.now();
        let write = [policy("**", &[Permission::Write], Effect::Allow)];
        for op in [Operation::Write, Operation::Delete, Operation::Rotate] {
            assert_eq!(decide(&write, &path("a"), op, now, None), Decision::Allow, "{op:?}");
        }
        assert_eq!(decide(&write, &path("a"), Operation::Read, now, None), Decision::NoMatch);
        let rotate = [policy("**", &[Permission::Rotate], Effect::Allow)];
        assert_eq!(decide(&rotate, &path("a"), Operation::Rotate, now, None), Decision::Allow);
        assert_eq!(decide(&rotate, &path("a"), Operation::Write, now, None), Decision::NoMatch);
        let delete = [policy("**", &[Permission::Delete], Effect::Allow)];
        assert_eq!(decide(&delete, &path("a"), Operation::Delete, now, None), Decision::Allow);
        assert_eq!(decide(&delete, &path("a"), Operation::Read, now, None), Decision::NoMatch);
    }

    #[test]
    fn an_approval_policy_gates_only_what_no_plain_allow_covers() {
        let now = crate::clock::SystemClock.now();
        let mut gated = policy("prod/**", &[Permission::Read, Permission::Write], Effect::Allow);
        gated.conditions =
            Conditions::parse(Some(&serde_json::json!({"require_approval": {"permissions": ["read"]}}))).unwrap();
        let set = [gated.clone()];
        assert_eq!(decide(&set, &path("prod/db"), Operation::Read, now, None), Decision::NeedsApproval(gated.id));
        // Narrowed to read: a write under the same policy needs no approval.
        assert_eq!(decide(&set, &path("prod/db"), Operation::Write, now, None), Decision::Allow);
        assert_eq!(decide(&set, &path("dev/db"), Operation::Read, now, None), Decision::NoMatch);
        // A plain allow beside it wins; a deny beside it wins over both.
        let plain = policy("prod/db", &[Permission::Read], Effect::Allow);
        assert_eq!(decide(&[gated.clone(), plain], &path("prod/db"), Operation::Read, now, None), Decision::Allow);
        let deny = policy("prod/*", &[Permission::Read], Effect::Deny);
        assert_eq!(decide(&[gated, deny], &path("prod/db"), Operation::Read, now, None), Decision::Deny);
    }

    #[test]
    fn expired_policies_do_not_apply() {
        let now = crate::clock::SystemClock.now();
        let mut expired = policy("**", &[Permission::Read], Effect::Allow);
        expired.expires_at = Some(now);
        assert_eq!(decide(&[expired], &path("a"), Operation::Read, now, None), Decision::NoMatch);
    }
}
