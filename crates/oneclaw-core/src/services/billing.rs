//! Billing rules: one request counter per org and calendar month (UTC) across every surface,
//! the tiers' request and resource limits, prepaid credits spent before x402 is asked, and
//! the record of every paid request. The HTTP side (402s, quota headers, x402 settlement)
//! lives in `oneclaw-server/src/billing`.

use crate::audit::{AuditEvent, action};
use crate::billing::{
    CreditEntry, OverageMethod, PaidOperation, PaidRequest, Resource, ResourceCounts, Tier, month_of,
};
use crate::ids::OrgId;
use crate::principal::{Caller, PrincipalRef, RequestMeta};
use crate::services::Deps;
use crate::services::access::Access;
use crate::services::change::Change;
use crate::services::request_leases::LeaseBook;
use crate::{Error, Result};
use uuid::Uuid;

/// What a refused paid operation says when nothing could pay for it.
pub const ALLOWANCE_USED_UP: &str =
    "This month's request allowance is used up. Ask an org owner to add prepaid credits or upgrade the plan.";

/// Billing switches, fixed at start-up.
#[derive(Debug, Clone)]
pub struct BillingSettings {
    /// Off: nothing is metered, limited or charged (a private deployment).
    pub enabled: bool,
    /// Requests a month in the free tier.
    pub free_requests: i64,
}

impl Default for BillingSettings {
    fn default() -> Self {
        Self { enabled: true, free_requests: 1_000 }
    }
}

/// An org's consumption this month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub tier: Tier,
    pub overage_method: OverageMethod,
    pub used: i64,
    /// `None`: unlimited.
    pub limit: Option<i64>,
}

impl Usage {
    /// Past the monthly allowance: paid operations must be paid for.
    pub fn over_allowance(&self) -> bool {
        self.limit.is_some_and(|limit| self.used > limit)
    }

    /// Whole percent of the allowance used.
    pub fn percent(&self) -> Option<i64> {
        self.limit.map(|limit| if limit <= 0 { 100 } else { self.used.saturating_mul(100) / limit })
    }
}

/// What `GET /v1/billing/subscription` shows.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub usage: Usage,
    pub resources: ResourceCounts,
    pub credit_balance_micros: i64,
}

/// How long a node trusts what it read of an org's plan: a tier or overage-method change
/// made on another node (or by `oneclaw org set-tier`) applies within this time.
const PLAN_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// Recently read plans, so the metered hot path does not read the org row on every request.
#[derive(Default)]
pub struct PlanCache {
    plans: std::sync::Mutex<std::collections::HashMap<OrgId, (Tier, OverageMethod, std::time::Instant)>>,
}

impl PlanCache {
    fn get(&self, org: OrgId) -> Option<(Tier, OverageMethod)> {
        let plans = self.plans.lock().ok()?;
        plans.get(&org).filter(|(_, _, at)| at.elapsed() < PLAN_TTL).map(|(tier, method, _)| (*tier, *method))
    }

    fn put(&self, org: OrgId, plan: (Tier, OverageMethod)) {
        if let Ok(mut plans) = self.plans.lock() {
            if plans.len() > 100_000 {
                plans.clear();
            }
            plans.insert(org, (plan.0, plan.1, std::time::Instant::now()));
        }
    }

    fn forget(&self, org: OrgId) {
        if let Ok(mut plans) = self.plans.lock() {
            plans.remove(&org);
        }
    }
}

/// A metered request's place in its org's month, taken before it is served.
#[derive(Debug, Clone)]
pub struct Reservation {
    pub org: OrgId,
    /// `YYYY-MM`, the month the request counts in.
    pub month: String,
    /// The request's place in the month: within the allowance, it is free.
    pub place: i64,
    /// The month's usage as the quota headers show it: the place within the allowance, about
    /// the requests so far past it.
    pub usage: Usage,
}

/// The billing service.
pub struct Billing<'a> {
    deps: &'a Deps,
    plans: Option<&'a PlanCache>,
    leases: Option<&'a LeaseBook>,
}

impl<'a> Billing<'a> {
    /// Without a plan cache (resource checks on creation, which are rare) and without leases.
    pub(crate) fn new(deps: &'a Deps) -> Self {
        Self { deps, plans: None, leases: None }
    }

    pub(crate) fn with_cache(deps: &'a Deps, plans: &'a PlanCache, leases: &'a LeaseBook) -> Self {
        Self { deps, plans: Some(plans), leases: Some(leases) }
    }

    /// Whether billing is on at all.
    pub fn enabled(&self) -> bool {
        self.deps.settings.billing.enabled
    }

    pub(crate) async fn plan(&self, org: OrgId) -> Result<(Tier, OverageMethod)> {
        if let Some(plan) = self.plans.and_then(|plans| plans.get(org)) {
            return Ok(plan);
        }
        let plan = self.deps.store.org_billing(org).await?.unwrap_or((Tier::Free, OverageMethod::Credits));
        if let Some(plans) = self.plans {
            plans.put(org, plan);
        }
        Ok(plan)
    }

    fn usage_of(&self, tier: Tier, overage_method: OverageMethod, used: i64) -> Usage {
        let limit = tier.limits(self.deps.settings.billing.free_requests).requests_per_month;
        Usage { tier, overage_method, used, limit }
    }

    /// Takes the request's place in its org's month (from this node's lease; the store only
    /// when the lease is used up), without counting it: the surface counts it once served
    /// (`count_served`), or the audit journal does with the request's record, or it gives the
    /// place back (`give_back`).
    pub async fn reserve(&self, org: OrgId) -> Result<Reservation> {
        let (tier, method) = self.plan(org).await?;
        let now = self.deps.clock.now();
        let month = month_of(now);
        let limit = tier.limits(self.deps.settings.billing.free_requests).requests_per_month;
        // Only the core's own billing service (`Core::billing`) meters: a lease book of its
        // own would lease a block for each request and waste it.
        let leases = self.leases.ok_or_else(|| Error::Internal("metering needs the node's lease book".to_owned()))?;
        let handed = leases.take(self.deps.store.as_ref(), org, &month, limit, now).await?;
        // Within the allowance the place itself is shown (it decides what is free); past it,
        // about how many requests the month has had, never less than the allowance and one.
        let shown = match limit {
            Some(limit) if handed.place <= limit => handed.place,
            Some(limit) => handed.about_used.max(limit + 1),
            None => handed.about_used,
        };
        Ok(Reservation { org, month, place: handed.place, usage: self.usage_of(tier, method, shown) })
    }

    /// Counts a reserved request now, durably (batched with other requests' counts).
    pub async fn count_served(&self, reservation: &Reservation) -> Result<()> {
        self.deps.counter.count(reservation.org, &reservation.month).await.map(drop)
    }

    /// Gives back the place of a reserved request that was not served and not counted, for
    /// the next request: refusals do not use up the allowance.
    pub fn give_back(&self, reservation: &Reservation) {
        if let Some(leases) = self.leases {
            leases.give_back(reservation.org, &reservation.month, reservation.place);
        }
    }

    /// Takes back the count of a counted request that was not served (refused, not found,
    /// failed), and its place: only answered requests use the allowance, so an agent with no
    /// access cannot use up its org's month with refusals.
    pub async fn uncount(&self, reservation: &Reservation) -> Result<()> {
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        change.tx().add_requests(reservation.org, &reservation.month, -1).await?;
        change.commit([]).await?;
        self.give_back(reservation);
        Ok(())
    }

    /// Reserves and counts one request of the org at once (surfaces that cannot tell whether
    /// it was served: MCP, dashboard pages) and returns the month's usage with its place.
    pub async fn meter(&self, org: OrgId) -> Result<Usage> {
        let reservation = self.reserve(org).await?;
        // A count that failed may still commit (it timed out), so its place is not handed out
        // again: at worst the org has one free request fewer, never one too many.
        self.count_served(&reservation).await?;
        Ok(reservation.usage)
    }

    /// Gives the store back the places this node leased and did not use (at shutdown).
    pub async fn give_back_leases(&self) -> Result<()> {
        match self.leases {
            Some(leases) => leases.give_all_back(self.deps.store.as_ref()).await,
            None => Ok(()),
        }
    }

    /// The month's usage, without counting.
    pub async fn usage(&self, org: OrgId) -> Result<Usage> {
        self.usage_in(org, &month_of(self.deps.clock.now())).await
    }

    async fn usage_in(&self, org: OrgId, month: &str) -> Result<Usage> {
        let (tier, method) = self.plan(org).await?;
        let used = self.deps.store.requests_in(org, month).await?;
        Ok(self.usage_of(tier, method, used))
    }

    /// The caller's org's usage as the caller's own request sees it: including that request,
    /// which is counted once it is answered.
    pub async fn usage_for(&self, caller: &Caller) -> Result<Usage> {
        let month = month_of(self.deps.clock.now());
        let mut usage = self.usage_in(caller.org_id(), &month).await?;
        if caller.charge.pending_count_month() == Some(month.as_str()) {
            usage.used += 1;
        }
        Ok(usage)
    }

    /// Refuses (403 `resource_limit_exceeded`) one more of `resource` past the tier's limit.
    pub async fn check_resource(&self, org: OrgId, resource: Resource) -> Result<()> {
        if !self.enabled() {
            return Ok(());
        }
        let (tier, _) = self.plan(org).await?;
        let limits = tier.limits(self.deps.settings.billing.free_requests);
        let counts = self.deps.store.resource_counts(org).await?;
        let (have, limit, noun) = match resource {
            Resource::Vaults => (counts.vaults, limits.vaults, "Vault"),
            Resource::Secrets => (counts.secrets, limits.secrets, "Secret"),
            Resource::Agents => (counts.agents, limits.agents, "Agent"),
        };
        match limit {
            // Says what can be done, by whom: an owner cannot raise the tier in the product, the
            // server's operator can (and the org id it needs is in the message).
            Some(limit) if have >= limit => Err(Error::ResourceLimit(format!(
                "{noun} limit reached ({have}/{limit} on the {tier} tier). Delete one you no longer need, or have \
                 the server's operator raise the tier: oneclaw org set-tier --org {org} --tier pro",
                tier = tier.as_str()
            ))),
            _ => Ok(()),
        }
    }

    /// Gives back credits taken for an operation that was then not served (a read whose
    /// record could not be kept): only what is served is paid for.
    pub(crate) async fn refund_credits(
        &self,
        org: OrgId,
        who: PrincipalRef,
        meta: &RequestMeta,
        operation: PaidOperation,
        status: u16,
    ) -> Result<()> {
        let now = self.deps.clock.now();
        let price = operation.price_micros();
        let entry = CreditEntry {
            id: Uuid::now_v7(),
            org_id: org,
            kind: "refund".to_owned(),
            amount_micros: price,
            balance_after_micros: 0,
            description: format!("{} not served ({status})", operation.name()),
            created_at: now,
        };
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        change.tx().move_credits(&entry).await?;
        let event = AuditEvent::by_principal(who, org, meta, action::BILLING_REFUND, "billing", now)
            .detail("operation", operation.name())
            .detail("status", status)
            .detail("price_micros", price);
        change.commit([event]).await
    }

    /// Sets an org's tier (operators: `oneclaw org set-tier`).
    pub async fn set_tier(&self, org: OrgId, tier: Tier, meta: &RequestMeta) -> Result<()> {
        let now = self.deps.clock.now();
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if !change.tx().set_org_tier(org, tier).await? {
            return Err(Error::NotFound("No such org".to_owned()));
        }
        let event = AuditEvent::system_in(org, meta, action::BILLING_TIER, "org", now)
            .resource(org)
            .detail("tier", tier.as_str());
        change.commit([event]).await?;
        if let Some(plans) = self.plans {
            plans.forget(org);
        }
        Ok(())
    }

    /// Grants prepaid credits (operators: `oneclaw billing grant-credits`).
    pub async fn grant_credits(&self, org: OrgId, micros: i64, description: &str, meta: &RequestMeta) -> Result<i64> {
        if micros <= 0 {
            return Err(Error::invalid("the amount of credits must be positive"));
        }
        let now = self.deps.clock.now();
        let entry = CreditEntry {
            id: Uuid::now_v7(),
            org_id: org,
            kind: "topup".to_owned(),
            amount_micros: micros,
            balance_after_micros: 0,
            description: description.to_owned(),
            created_at: now,
        };
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        let balance = change
            .tx()
            .move_credits(&entry)
            .await?
            .ok_or_else(|| Error::Internal("a grant of credits was refused".to_owned()))?;
        let event = AuditEvent::system_in(org, meta, action::BILLING_CREDITS, "org", now)
            .resource(org)
            .detail("amount_micros", micros)
            .detail("balance_micros", balance);
        change.commit([event]).await?;
        Ok(balance)
    }

    /// Chooses how the caller's org pays past its allowance (owners and admins).
    pub async fn set_overage_method(&self, caller: &Caller, method: OverageMethod) -> Result<()> {
        if !Access::new(self.deps).is_admin(caller).await? {
            return Err(Error::Forbidden("Only org owners and admins may change billing settings".to_owned()));
        }
        let now = self.deps.clock.now();
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        change.tx().set_overage_method(caller.org_id(), method).await?;
        let event = AuditEvent::by(caller, action::BILLING_OVERAGE_METHOD, "org", now)
            .resource(caller.org_id())
            .detail("overage_method", method.as_str());
        change.commit([event]).await?;
        if let Some(plans) = self.plans {
            plans.forget(caller.org_id());
        }
        Ok(())
    }

    /// The caller's org's plan, usage, resources and credits.
    pub async fn subscription(&self, caller: &Caller) -> Result<Subscription> {
        let org = caller.org_id();
        Ok(Subscription {
            usage: self.usage_for(caller).await?,
            resources: self.deps.store.resource_counts(org).await?,
            credit_balance_micros: self.deps.store.credit_balance(org).await?,
        })
    }

    /// The caller's org's credit movements, newest first.
    pub async fn credit_ledger(&self, caller: &Caller, limit: i64, offset: i64) -> Result<Vec<CreditEntry>> {
        self.deps.store.credit_ledger(caller.org_id(), limit.clamp(1, 200), offset.max(0)).await
    }

    /// The caller's org's paid requests, newest first.
    /// Paid requests, newest first: the org's for its owners and admins; anyone else's own only
    /// (each names its endpoint, which holds vault ids and secret paths the caller may not see).
    pub async fn history(&self, caller: &Caller, limit: i64) -> Result<Vec<PaidRequest>> {
        let limit = limit.clamp(1, 200);
        let admin = caller.principal.is_user()
            && !caller.principal.is_scoped_user()
            && crate::services::access::Access::new(self.deps).is_admin(caller).await?;
        let by = (!admin).then_some(caller.principal.who);
        self.deps.store.paid_requests(caller.org_id(), by, limit).await
    }

    /// The org's paid requests this month: how many and what they cost, in micro-dollars. Totals
    /// only (no endpoint), so any member may see them.
    pub async fn paid_this_month(&self, org: OrgId) -> Result<(i64, i64)> {
        let (since, until) = crate::billing::month_bounds(self.deps.clock.now())?;
        self.deps.store.paid_between(org, since, until).await
    }
}
