//! Approval requests: found by id, listed per org, and the pending request or usable approval
//! for one exact secret use.

use super::*;
use crate::approvals::{Approval, ApprovalStatus};
use crate::ids::ApprovalId;

/// One exact use of a secret by one principal: what a gate looks up.
#[derive(Debug, Clone, Copy)]
pub struct UseKey<'a> {
    pub org: OrgId,
    pub requester: PrincipalRef,
    pub vault: VaultId,
    pub path: &'a str,
    pub operation: &'a str,
    /// The policy asking: an approval another policy asked for (one since deleted) is not it.
    pub policy: crate::ids::PolicyId,
}

#[async_trait]
pub trait ApprovalStore: Send + Sync {
    async fn approval(&self, org: OrgId, id: ApprovalId) -> Result<Option<Approval>>;
    /// The org's requests, newest first; `status` filters by the stored status.
    async fn approvals(
        &self,
        org: OrgId,
        status: Option<ApprovalStatus>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Approval>>;
    /// The pending, unexpired request for exactly this use, if any.
    async fn pending_approval_for(&self, key: UseKey<'_>, now: OffsetDateTime) -> Result<Option<Approval>>;
    /// How many unexpired requests of `requester` are pending in the org.
    async fn pending_approvals_of(&self, org: OrgId, requester: PrincipalRef, now: OffsetDateTime) -> Result<i64>;
    /// An approval that still lets exactly this use through (a use left, or a window open).
    async fn usable_approval_for(&self, key: UseKey<'_>, now: OffsetDateTime) -> Result<Option<Approval>>;
    /// The (org, request, user) of an unused, unexpired one-click link, by its token's digest.
    async fn approval_link(&self, digest: &[u8], now: OffsetDateTime) -> Result<Option<(OrgId, ApprovalId, UserId)>>;
}

#[async_trait]
pub trait ApprovalTx: Send {
    async fn insert_approval(&mut self, approval: &Approval) -> Result<()>;
    /// Moves a pending, unexpired request to approved or rejected with what the decision says;
    /// false when it was not pending any more (decided, cancelled or expired first).
    async fn decide_approval(&mut self, decided: &Approval, now: OffsetDateTime) -> Result<bool>;
    /// Spends one use of a one-use approval, or checks a window is still open; false when
    /// another request spent it first or the window closed.
    async fn use_approval(&mut self, id: ApprovalId, now: OffsetDateTime) -> Result<bool>;
    /// Marks a pending request past its expiry as expired; false when it was not.
    async fn expire_approval(&mut self, id: ApprovalId, now: OffsetDateTime) -> Result<bool>;
    /// Stores a one-click link (by its token's digest) for `user` to decide `approval`.
    async fn insert_approval_link(
        &mut self,
        digest: &[u8],
        approval: &Approval,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<()>;
    /// Spends a link; false when it was used or expired first.
    async fn use_approval_link(&mut self, digest: &[u8], now: OffsetDateTime) -> Result<bool>;
}
