//! The audit log: hash-chained events and signed checkpoints.

use super::*;

/// Reads (and the few writes that need no transaction) of audit.
#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn audit_events(&self, org: OrgId, query: &AuditQuery) -> Result<Vec<AuditEvent>>;
    /// The org's audit chain head.
    async fn audit_head(&self, org: OrgId) -> Result<Head>;
    /// Every org's audit chain head (the nil org holds events of no org).
    async fn audit_heads(&self) -> Result<Vec<(OrgId, Head)>>;
    /// Up to `limit` events of the org's chain after `after_seq`, in chain order.
    async fn audit_chain(&self, org: OrgId, after_seq: i64, limit: i64) -> Result<Vec<AuditEvent>>;
    /// The (seq, hash) of the event at `seq`, as stored.
    async fn audit_link_at(&self, org: OrgId, seq: i64) -> Result<Option<Head>>;
    async fn audit_checkpoints(&self, org: OrgId) -> Result<Vec<Checkpoint>>;
    /// The seq of the org's last checkpoint (0 without one).
    async fn audit_last_checkpoint_seq(&self, org: OrgId) -> Result<i64>;
}

/// Changes to audit, inside a write transaction.
#[async_trait]
pub trait AuditTx: Send {
    /// Appends an event to its org's hash chain (locking the org's chain head).
    async fn append_audit(&mut self, event: &AuditEvent) -> Result<()>;
    /// Appends several events, in order (one head read and write per org).
    async fn append_audits(&mut self, events: &[AuditEvent]) -> Result<()>;
    async fn insert_checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<()>;
}
