//! The mail outbox.

use super::*;

/// Reads (and the few writes that need no transaction) of mail.
#[async_trait]
pub trait MailStore: Send + Sync {
    /// Mails due for a (first or next) attempt, oldest first.
    async fn due_mails(&self, now: OffsetDateTime, limit: i64) -> Result<Vec<crate::mail::OutboxMail>>;
    /// The outbox, newest first (sent and failed mails included), for operators.
    async fn outbox(&self, limit: i64) -> Result<Vec<crate::mail::OutboxMail>>;
    /// Mails neither sent nor given up on (the outbox's depth, for metrics).
    async fn mails_waiting(&self) -> Result<i64>;
}

/// Changes to mail, inside a write transaction.
#[async_trait]
pub trait MailTx: Send {
    /// Puts a mail in the outbox, to be sent once the transaction commits.
    async fn enqueue_mail(&mut self, mail: &crate::mail::OutboxMail) -> Result<()>;
    /// Takes a due mail for sending until `lease_until` (so no other node sends it meanwhile);
    /// false when it is not due any more (sent, failed, or taken by another node).
    async fn claim_mail(&mut self, id: Uuid, now: OffsetDateTime, lease_until: OffsetDateTime) -> Result<bool>;
    async fn mark_mail_sent(&mut self, id: Uuid, now: OffsetDateTime) -> Result<()>;
    /// Records a failed attempt: the next one at `next_attempt_at`, or none (`failed`).
    async fn mark_mail_attempt_failed(
        &mut self,
        id: Uuid,
        next_attempt_at: OffsetDateTime,
        failed_at: Option<OffsetDateTime>,
        error: &str,
    ) -> Result<()>;
}
