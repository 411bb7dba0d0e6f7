//! Billing: request counts, tiers, credits and x402 payments.

use super::*;

/// Reads (and the few writes that need no transaction) of billing.
#[async_trait]
pub trait BillingStore: Send + Sync {
    /// Requests of the org counted in `month`.
    async fn requests_in(&self, org: OrgId, month: &str) -> Result<i64>;
    /// The org's tier and overage method (`None` when there is no such org). A stored value
    /// this build does not know is an error, never read as a default.
    async fn org_billing(&self, org: OrgId) -> Result<Option<(Tier, OverageMethod)>>;
    /// What the org holds now: vaults, live secrets, active agents.
    async fn resource_counts(&self, org: OrgId) -> Result<ResourceCounts>;
    /// The org's prepaid credit balance in micro-dollars.
    async fn credit_balance(&self, org: OrgId) -> Result<i64>;
    /// The org's credit movements, newest first.
    async fn credit_ledger(&self, org: OrgId, limit: i64, offset: i64) -> Result<Vec<CreditEntry>>;
    /// The org's paid requests, newest first; with `by`, only that principal's.
    async fn paid_requests(
        &self,
        org: OrgId,
        by: Option<crate::principal::PrincipalRef>,
        limit: i64,
    ) -> Result<Vec<PaidRequest>>;
    /// How many paid requests the org made from `since` (inclusive) to `until` (exclusive),
    /// and what they cost in micro-dollars, all of them.
    async fn paid_between(&self, org: OrgId, since: OffsetDateTime, until: OffsetDateTime) -> Result<(i64, i64)>;
}

/// How many request places a lease takes: `most` at or past the allowance (`None`: unlimited),
/// else the free places left divided by `share_of_free_left`, between 1 and `most`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseRule {
    pub allowance: Option<i64>,
    pub most: i64,
    pub share_of_free_left: i64,
}

/// A lease of request places, and how many requests the month had served when it was taken
/// (the count every server adds to, which places can run ahead of).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeasedPlaces {
    pub places: std::ops::RangeInclusive<i64>,
    pub served: i64,
}

/// Changes to billing, inside a write transaction.
#[async_trait]
pub trait BillingTx: Send {
    /// Adds `n` requests to the org's count for `month` (`YYYY-MM`) and returns the new total:
    /// one atomic statement, correct with many processes on one database.
    async fn add_requests(&mut self, org: OrgId, month: &str, n: i64) -> Result<i64>;
    /// Leases the org's next places in `month` to this node: past every place counted or
    /// leased before, by any node, as many as `rule` gives for where the month is. Answers
    /// the places, and the requests served so far. One atomic statement.
    async fn lease_requests(&mut self, org: OrgId, month: &str, rule: LeaseRule) -> Result<LeasedPlaces>;
    /// Gives back the unused places `keep + 1 ..= end` of a lease, if no later lease was taken
    /// (the month's last place is still `end`). False, and nothing changed, otherwise.
    async fn return_requests_lease(&mut self, org: OrgId, month: &str, end: i64, keep: i64) -> Result<bool>;
    /// Sets the org's tier. False if there is no such org.
    async fn set_org_tier(&mut self, org: OrgId, tier: Tier) -> Result<bool>;
    /// Sets how the org pays past its allowance.
    async fn set_overage_method(&mut self, org: OrgId, method: OverageMethod) -> Result<()>;
    /// Moves credits (`amount` > 0 grants, < 0 spends) and records the movement; `None`, and
    /// nothing changed, if a spend would take the balance below zero.
    async fn move_credits(&mut self, entry: &CreditEntry) -> Result<Option<i64>>;
    /// Spends an x402 authorization: true the first time (chain, asset, payer, nonce) is seen.
    async fn consume_payment_nonce(&mut self, spent: &PaymentNonce, now: OffsetDateTime) -> Result<bool>;
    /// Records a paid request.
    async fn insert_paid_request(&mut self, paid: &PaidRequest) -> Result<()>;
}
