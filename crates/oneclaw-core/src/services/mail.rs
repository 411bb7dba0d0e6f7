//! The outbox: mails are sealed and written in the transaction of the change that causes them
//! (`prepare` before, `StoreTx::enqueue_mail` inside), and `deliver_due` sends them with
//! retries. A mail server that is down loses nothing (the mail waits, backing off up to five
//! minutes); one that refuses for good is tried three times, then the mail is marked failed,
//! logged, and listed by `oneclaw mail status`. A crash between sending and recording sends it
//! again at most, under the same Message-ID.

use super::Deps;
use super::change::Change;
use crate::mail::{MailKind, MailSender, Message, OutboxMail};
use crate::{Error, Result};
use time::Duration;
use uuid::Uuid;

/// How long a node keeps a mail it is sending before another node may try it.
const LEASE: Duration = Duration::seconds(60);
/// Mails taken per round.
const BATCH: i64 = 50;
/// Refusals for good (5xx) before a mail is given up.
const PERMANENT_TRIES: i64 = 3;
/// The longest wait between two tries of a mail server that is away.
const MAX_BACKOFF: Duration = Duration::minutes(5);

/// What one round of delivery did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
}

/// The outbox service.
pub struct Mailer<'a> {
    deps: &'a Deps,
}

fn purpose(id: Uuid) -> String {
    format!("mail:{id}")
}

/// The wait before try `attempt + 1`: 5 s, 10 s, 20 s … up to five minutes.
fn backoff(attempt: i64) -> Duration {
    let exponent = u32::try_from(attempt.clamp(1, 16) - 1).unwrap_or(0);
    Duration::seconds(5 * 2_i64.pow(exponent)).min(MAX_BACKOFF)
}

impl<'a> Mailer<'a> {
    pub(crate) fn new(deps: &'a Deps) -> Self {
        Self { deps }
    }

    /// True when the server sends mail (SMTP is configured).
    pub fn enabled(&self) -> bool {
        self.deps.settings.mail_enabled
    }

    /// Seals a message for the outbox (before the transaction that enqueues it: sealing is a
    /// key-provider call). `None` when mail is off: nothing is queued that nobody would send.
    pub async fn prepare(&self, to: &str, kind: MailKind, message: &Message) -> Result<Option<OutboxMail>> {
        if !self.enabled() {
            return Ok(None);
        }
        let id = Uuid::now_v7();
        let json = zeroize::Zeroizing::new(
            serde_json::to_vec(message).map_err(|err| Error::Internal(format!("mail encoding: {err}")))?,
        );
        let sealed = self.deps.keys.seal_system_secret(&purpose(id), &json).await?;
        let now = self.deps.clock.now();
        Ok(Some(OutboxMail {
            id,
            recipient: to.to_owned(),
            kind: kind.as_str().to_owned(),
            sealed,
            created_at: now,
            attempts: 0,
            next_attempt_at: now,
            sent_at: None,
            failed_at: None,
            last_error: None,
        }))
    }

    /// Sends what is due: each mail is claimed (so two nodes do not both send it), opened,
    /// handed to `sender`, and recorded as sent, to retry, or failed.
    pub async fn deliver_due(&self, sender: &dyn MailSender) -> Result<Delivery> {
        let mut report = Delivery::default();
        let now = self.deps.clock.now();
        for mail in self.deps.store.due_mails(now, BATCH).await? {
            let mut change = Change::begin(self.deps.store.as_ref()).await?;
            if !change.tx().claim_mail(mail.id, now, now + LEASE).await? {
                continue;
            }
            change.commit([]).await?;
            let attempt = mail.attempts + 1;
            let outcome = match self.open(&mail).await {
                Ok(message) => sender.send(mail.id, &mail.recipient, &message).await,
                Err(err) => Err(crate::mail::MailError { permanent: true, reason: err.to_string() }),
            };
            let mut change = Change::begin(self.deps.store.as_ref()).await?;
            let done = self.deps.clock.now();
            match outcome {
                Ok(()) => {
                    change.tx().mark_mail_sent(mail.id, done).await?;
                    report.sent += 1;
                }
                Err(refusal) if refusal.permanent && attempt >= PERMANENT_TRIES => {
                    tracing::warn!(mail_id = %mail.id, kind = %mail.kind, reason = %refusal.reason,
                        "a mail was refused for good and will not be sent; see `oneclaw mail status`");
                    change.tx().mark_mail_attempt_failed(mail.id, done, Some(done), &refusal.reason).await?;
                    report.failed += 1;
                }
                Err(refusal) => {
                    tracing::info!(mail_id = %mail.id, attempt, reason = %refusal.reason, "mail not sent yet; will retry");
                    let next = done + backoff(attempt);
                    change.tx().mark_mail_attempt_failed(mail.id, next, None, &refusal.reason).await?;
                    report.retrying += 1;
                }
            }
            change.commit([]).await?;
        }
        Ok(report)
    }

    /// The newest mails of the outbox, for operators (never their contents).
    pub async fn status(&self, limit: i64) -> Result<Vec<OutboxMail>> {
        self.deps.store.outbox(limit).await
    }

    async fn open(&self, mail: &OutboxMail) -> Result<Message> {
        let json = self.deps.keys.unseal_system_secret(&purpose(mail.id), &mail.sealed).await?;
        serde_json::from_slice(&json).map_err(|err| Error::Internal(format!("mail decoding: {err}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        assert_eq!(backoff(1), Duration::seconds(5));
        assert_eq!(backoff(2), Duration::seconds(10));
        assert_eq!(backoff(4), Duration::seconds(40));
        assert_eq!(backoff(12), Duration::minutes(5));
        assert_eq!(backoff(1_000), Duration::minutes(5));
    }
}
