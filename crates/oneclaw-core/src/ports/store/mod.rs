//! The storage port, by capability: one trait per aggregate for reads (`VaultStore`, …) and one
//! for changes (`VaultTx`, …), so a service or a test fake names only what it uses. `Store` and
//! `StoreTx` are all of them together. Reads go straight to the store; every change goes through
//! a `StoreTx`, which services only commit together with the audit events that record it (see
//! `services::Change`).

mod access;
mod agents;
mod approvals;
mod audit;
mod billing;
mod devices;
mod env_vars;
mod identity;
mod intents;
mod keys;
mod mail;
mod secrets;
mod vaults;
mod webhooks;

pub use access::*;
pub use agents::*;
pub use approvals::*;
pub use audit::*;
pub use billing::*;
pub use devices::*;
pub use env_vars::*;
pub use identity::*;
pub use intents::*;
pub use keys::*;
pub use mail::*;
pub use secrets::*;
pub use vaults::*;
pub use webhooks::*;

use crate::Result;
use crate::audit::AuditEvent;
use crate::audit::chain::Head;
use crate::audit::verify::Checkpoint;
use crate::billing::{CreditEntry, OverageMethod, PaidRequest, PaymentNonce, ResourceCounts, Tier};
use crate::ids::{AgentId, ApiKeyId, IpRuleId, OrgId, PolicyId, SecretId, SessionId, ShareId, UserId, VaultId};
use crate::model::{Agent, ApiKey, Invite, IpRule, Org, Role, SealedValue, SecretVersion, Session, Share, User, Vault};
use crate::path::PathPrefix;
use crate::policy::Policy;
use crate::ports::keys::KekRef;
use crate::principal::PrincipalRef;
use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

/// A version to read, with what is needed to decrypt it.
#[derive(Debug, Clone)]
pub struct SecretRead {
    pub version: SecretVersion,
    pub sealed: SealedValue,
    pub kek: KekRef,
}

/// One KEK version of a vault as the store records it. Retired: no data key is wrapped by it
/// any more; destroyed: gone from its key provider too.
#[derive(Debug, Clone)]
pub struct VaultKeyRecord {
    pub kek: KekRef,
    pub created_at: OffsetDateTime,
    pub retired_at: Option<OffsetDateTime>,
    pub destroyed_at: Option<OffsetDateTime>,
}

/// A data key wrapped by some KEK version, with the path that (with the version) binds it.
#[derive(Debug, Clone)]
pub struct WrappedDekRow {
    pub secret_id: SecretId,
    pub version: i64,
    pub path: String,
    pub wrapped_dek: Vec<u8>,
}

/// A user's TOTP state as stored (sealed by the key provider).
#[derive(Debug, Clone, Default)]
pub struct MfaState {
    pub totp_sealed: Option<Vec<u8>>,
    pub pending_sealed: Option<Vec<u8>>,
    pub last_step: Option<i64>,
}

/// Records audit events of actions that change nothing else (reads, refusals). `record`
/// returns once the event is durable, so a caller never answers before its record exists;
/// implementations batch concurrent events into one commit.
#[async_trait]
pub trait AuditJournal: Send + Sync + 'static {
    async fn record(&self, event: AuditEvent) -> Result<()>;

    /// Records the event of a served request together with the request's count, when it has
    /// one still to make: both in one durable commit, and the ticket says so once it is. A
    /// journal that cannot do this records the event alone and leaves the ticket uncommitted
    /// (the surface then counts the request itself). The record may be left out if the caller
    /// is gone before it is written: the request was then never answered with what it read.
    async fn record_counted(&self, event: AuditEvent, count: Option<crate::ports::CountTicket>) -> Result<()> {
        drop(count);
        self.record(event).await
    }

    /// What the journal's group commit has done, for metrics; none if it does not batch.
    fn stats(&self) -> Option<BatchStats> {
        None
    }
}

/// A group commit's work so far: batches committed, the items in them, and items waiting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchStats {
    pub batches: u64,
    pub items: u64,
    pub waiting: usize,
}

/// A connection pool's use now: connections open, and of those idle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolUse {
    pub open: u32,
    pub idle: u32,
}

/// Counts requests per org and month. `count` returns once the count is durable, with the
/// month's total including this request; implementations batch concurrent requests into one
/// commit (`oneclaw-store`'s `GroupCommitMeter`).
#[async_trait]
pub trait RequestCounter: Send + Sync + 'static {
    async fn count(&self, org: OrgId, month: &str) -> Result<i64>;

    /// What the meter's group commit has done, for metrics; none if it does not batch.
    fn stats(&self) -> Option<BatchStats> {
        None
    }
}

/// A filter over one org's audit events, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub resource_id: Option<String>,
    pub actor_id: Option<Uuid>,
    /// Only events this principal did or that are about it (its actor or its resource).
    pub about: Option<Uuid>,
    pub action: Option<String>,
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    pub limit: i64,
    pub offset: i64,
}

/// Persistent state: every capability. Implementations: SQLite and PostgreSQL in `oneclaw-store`.
#[async_trait]
pub trait Store:
    VaultStore
    + SecretStore
    + KeyStore
    + AccessStore
    + AuditStore
    + BillingStore
    + IdentityStore
    + AgentStore
    + MailStore
    + EnvStore
    + DeviceStore
    + ApprovalStore
    + WebhookStore
    + BindingStore
    + Send
    + Sync
    + 'static
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Checks the database answers.
    async fn ping(&self) -> Result<()>;
    /// The connection pool's use now, for metrics; none for a store without a pool.
    fn pool_use(&self) -> Option<PoolUse> {
        None
    }
    /// Starts a write transaction.
    async fn begin(&self) -> Result<Box<dyn StoreTx>>;
    /// Starts the write transaction of a group commit (the audit journal's batch of reads'
    /// records, the request meter's counts): ahead of queued ordinary writers where the backend
    /// queues writers, so a flood of writes cannot hold reads' answers back.
    async fn begin_batch(&self) -> Result<Box<dyn StoreTx>> {
        self.begin().await
    }
    /// Appends the audit journal's batch (`events`, records with no other change) and adds
    /// `counts`, served requests per org and month, in one transaction of the group commit's
    /// kind (`begin_batch`). A backend may write such a batch by a faster way of its own.
    async fn append_audit_batch(&self, events: Vec<AuditEvent>, counts: Vec<RequestCount>) -> Result<()> {
        append_audit_batch_in_tx(self, &events, &counts).await
    }
}

/// Served requests of one org in one month (`YYYY-MM`), to add to its count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestCount {
    pub org: OrgId,
    pub month: String,
    pub n: i64,
}

/// [`Store::append_audit_batch`] through a `begin_batch` transaction: the way every backend
/// can take.
pub async fn append_audit_batch_in_tx<S: Store + ?Sized>(
    store: &S,
    events: &[AuditEvent],
    counts: &[RequestCount],
) -> Result<()> {
    let mut tx = store.begin_batch().await?;
    tx.append_audits(events).await?;
    for count in counts {
        tx.add_requests(count.org, &count.month, count.n).await?;
    }
    tx.commit().await
}

/// One write transaction: every capability. Dropping it without `commit` rolls everything back.
#[async_trait]
pub trait StoreTx:
    VaultTx
    + SecretTx
    + KeyTx
    + AccessTx
    + AuditTx
    + BillingTx
    + IdentityTx
    + AgentTx
    + MailTx
    + EnvTx
    + DeviceTx
    + ApprovalTx
    + WebhookTx
    + BindingTx
    + Send
{
    /// Commits. Only `services::Change` calls this, after appending the audit events.
    async fn commit(self: Box<Self>) -> Result<()>;

    /// The next version number for a path (as `next_secret_version`) and the vault's current
    /// KEK (as `current_kek`), in one round trip where the backend can: a secret write needs
    /// both, inside the write lock.
    async fn next_secret_version_under_current_kek(
        &mut self,
        vault: crate::ids::VaultId,
        path: &str,
        now: time::OffsetDateTime,
    ) -> Result<((crate::ids::SecretId, i64), Option<crate::ports::KekRef>)> {
        let next = self.next_secret_version(vault, path, now).await?;
        Ok((next, self.current_kek(vault).await?))
    }
}
