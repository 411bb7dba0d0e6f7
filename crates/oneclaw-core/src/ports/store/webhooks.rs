//! Event webhooks and their outbox of deliveries. Deliveries are enqueued by the store itself,
//! in the transaction that appends the audit event they announce (`AuditTx::append_audits`).

use super::*;
use crate::webhooks::Webhook;

/// A delivery as the worker sends it: the webhook's address and sealed secret, and the event.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub webhook_id: Uuid,
    pub url: String,
    pub secret_sealed: Vec<u8>,
    pub event: AuditEvent,
    pub event_type: String,
    pub attempts: i64,
    pub created_at: OffsetDateTime,
    /// When the worker claimed it (the claim's own time, to release it by).
    pub claimed_until: OffsetDateTime,
}

/// A delivery as the log shows it.
#[derive(Debug, Clone)]
pub struct DeliveryRecord {
    pub event_id: Uuid,
    pub event_type: String,
    pub status: String,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub next_attempt_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
    pub delivered_at: Option<OffsetDateTime>,
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub enum AttemptOutcome {
    Delivered {
        status: i64,
    },
    /// Retry at `next_attempt_at`, or give up (`give_up`) once its time is over.
    Failed {
        status: Option<i64>,
        error: String,
        next_attempt_at: OffsetDateTime,
        give_up: bool,
    },
}

#[async_trait]
pub trait WebhookStore: Send + Sync {
    async fn webhooks(&self, org: OrgId) -> Result<Vec<Webhook>>;
    async fn webhook(&self, org: OrgId, id: Uuid) -> Result<Option<Webhook>>;
    /// Deliveries still pending, due or retrying (the webhook outbox's depth, for metrics).
    async fn deliveries_waiting(&self) -> Result<i64>;
    async fn deliveries(&self, webhook: Uuid, limit: i64) -> Result<Vec<DeliveryRecord>>;
    /// Claims up to `limit` pending deliveries due at `now` until `claim_until` (one
    /// conditional update each, so two nodes never send the same attempt) and returns them.
    async fn claim_due_deliveries(
        &self,
        now: OffsetDateTime,
        claim_until: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<DueDelivery>>;
    /// Records an attempt of a claimed delivery.
    async fn record_attempt(
        &self,
        webhook: Uuid,
        event: Uuid,
        outcome: &AttemptOutcome,
        now: OffsetDateTime,
    ) -> Result<()>;
}

#[async_trait]
pub trait WebhookTx: Send {
    async fn insert_webhook(&mut self, webhook: &Webhook, secret_sealed: &[u8]) -> Result<()>;
    /// Changes URL, events, description and active flag; false when there is no such webhook.
    async fn update_webhook(&mut self, webhook: &Webhook) -> Result<bool>;
    async fn delete_webhook(&mut self, org: OrgId, id: Uuid, now: OffsetDateTime) -> Result<bool>;
}
