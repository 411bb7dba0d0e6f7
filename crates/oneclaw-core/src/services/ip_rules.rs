//! Org IP rules: allow and deny CIDRs applied to every authenticated request of the org.
//!
//! A deny rule that matches refuses the request; when the org has allow rules, the address must
//! match one of them. Rules are cached per org in memory (no query per request) and the cache
//! is dropped whenever a rule changes here or the periodic sync runs.

use super::Deps;
use super::access::Access;
use super::change::Change;
use crate::audit::{AuditEvent, action};
use crate::ids::{IpRuleId, OrgId, UserId};
use crate::model::{IpRule, IpRuleType};
use crate::policy::conditions_net;
use crate::principal::{Caller, PrincipalKind};
use crate::{Error, Result};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

/// Rules per org, loaded on first use.
#[derive(Debug, Default)]
pub struct IpRuleCache {
    by_org: RwLock<HashMap<OrgId, Arc<Vec<IpRule>>>>,
}

impl IpRuleCache {
    /// Forgets everything (after a change, or on the periodic sync).
    pub fn clear(&self) {
        if let Ok(mut map) = self.by_org.write() {
            map.clear();
        }
    }

    fn get(&self, org: OrgId) -> Option<Arc<Vec<IpRule>>> {
        self.by_org.read().ok().and_then(|map| map.get(&org).cloned())
    }

    fn put(&self, org: OrgId, rules: Arc<Vec<IpRule>>) {
        if let Ok(mut map) = self.by_org.write() {
            map.insert(org, rules);
        }
    }
}

/// Whether the rules let a request from `ip` by a principal of `kind` through.
pub fn permits(rules: &[IpRule], ip: Option<IpAddr>, kind: PrincipalKind) -> bool {
    let applicable: Vec<&IpRule> = rules
        .iter()
        .filter(|rule| match rule.applies_to.as_str() {
            "users" => kind == PrincipalKind::User,
            "agents" => kind == PrincipalKind::Agent,
            _ => true,
        })
        .collect();
    if applicable.is_empty() {
        return true;
    }
    let Some(ip) = ip.map(|ip| ip.to_canonical()) else { return false };
    if applicable.iter().any(|r| r.rule_type == IpRuleType::Deny && r.cidr.contains(&ip)) {
        return false;
    }
    let allows: Vec<&&IpRule> = applicable.iter().filter(|r| r.rule_type == IpRuleType::Allow).collect();
    allows.is_empty() || allows.iter().any(|r| r.cidr.contains(&ip))
}

/// IP rule service.
pub struct IpRules<'a> {
    deps: &'a Deps,
    cache: &'a IpRuleCache,
}

impl<'a> IpRules<'a> {
    pub(crate) fn new(deps: &'a Deps, cache: &'a IpRuleCache) -> Self {
        Self { deps, cache }
    }

    /// The org's rules (cached).
    pub async fn of_org(&self, org: OrgId) -> Result<Arc<Vec<IpRule>>> {
        if let Some(rules) = self.cache.get(org) {
            return Ok(rules);
        }
        let rules = Arc::new(self.deps.store.ip_rules(org).await?);
        self.cache.put(org, rules.clone());
        Ok(rules)
    }

    /// Refuses a request the org's rules do not let through.
    pub async fn check(&self, org: OrgId, ip: Option<IpAddr>, kind: PrincipalKind) -> Result<()> {
        if permits(&self.of_org(org).await?, ip, kind) {
            Ok(())
        } else {
            Err(Error::Forbidden("Your IP address is not allowed by this organization's IP rules".to_owned()))
        }
    }

    /// Lists the rules (admins).
    pub async fn list(&self, caller: &Caller) -> Result<Vec<IpRule>> {
        self.require_admin(caller).await?;
        Ok(self.of_org(caller.org_id()).await?.as_ref().clone())
    }

    /// Adds a rule (admins). A rule that would lock the caller out is refused.
    pub async fn create(
        &self,
        caller: &Caller,
        rule_type: &str,
        cidr: &str,
        label: Option<&str>,
        applies_to: Option<&str>,
    ) -> Result<IpRule> {
        let admin = self.require_admin(caller).await?;
        let rule_type = match rule_type {
            "allow" => IpRuleType::Allow,
            "deny" => IpRuleType::Deny,
            _ => return Err(Error::invalid_field("rule_type", "must be allow or deny")),
        };
        let cidr = conditions_net(cidr).ok_or_else(|| Error::invalid_field("cidr", "is not an IP address or CIDR"))?;
        let applies_to = applies_to.unwrap_or("all");
        if !matches!(applies_to, "all" | "users" | "agents") {
            return Err(Error::invalid_field("applies_to", "must be all, users or agents"));
        }
        let label = label.unwrap_or_default().trim();
        if label.chars().count() > 200 || label.chars().any(char::is_control) {
            return Err(Error::invalid_field("label", "must be at most 200 printable characters"));
        }
        let now = self.deps.clock.now();
        let rule = IpRule {
            id: IpRuleId::generate(),
            org_id: caller.org_id(),
            rule_type,
            cidr,
            label: label.to_owned(),
            applies_to: applies_to.to_owned(),
            created_by: admin,
            created_at: now,
        };
        let mut after: Vec<IpRule> = self.of_org(caller.org_id()).await?.as_ref().clone();
        after.push(rule.clone());
        if !permits(&after, caller.meta.ip, PrincipalKind::User) {
            return Err(Error::invalid_field(
                "cidr",
                "this rule would block your own address and lock you out; add an allow rule for it first",
            ));
        }
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        change.tx().insert_ip_rule(&rule).await?;
        let event = AuditEvent::by(caller, action::IP_RULE_CREATE, "ip_rule", now)
            .resource(rule.id)
            .detail("rule_type", rule_type.as_str())
            .detail("cidr", rule.cidr.to_string())
            .detail("applies_to", rule.applies_to.clone());
        change.commit([event]).await?;
        self.cache.clear();
        Ok(rule)
    }

    /// Removes a rule (admins).
    pub async fn delete(&self, caller: &Caller, id: IpRuleId) -> Result<()> {
        self.require_admin(caller).await?;
        let now = self.deps.clock.now();
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if !change.tx().delete_ip_rule(caller.org_id(), id).await? {
            return Err(Error::NotFound("IP rule not found".to_owned()));
        }
        change.commit([AuditEvent::by(caller, action::IP_RULE_DELETE, "ip_rule", now).resource(id)]).await?;
        self.cache.clear();
        Ok(())
    }

    async fn require_admin(&self, caller: &Caller) -> Result<UserId> {
        let user =
            caller.principal.user_id().ok_or_else(|| Error::Forbidden("Only humans manage IP rules".to_owned()))?;
        if Access::new(self.deps).is_admin(caller).await? {
            Ok(user)
        } else {
            Err(Error::Forbidden("Only org owners and admins manage IP rules".to_owned()))
        }
    }
}
