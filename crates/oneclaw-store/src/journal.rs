//! Group commit of audit records that come with no other change (secret reads, lists,
//! refusals): one writer task takes every event waiting, appends them to their chains in one
//! transaction and commits once, so under load many reads share one fsync. Each caller is
//! answered only after the commit that holds its event: no read is answered before its record
//! is durable. If the batch cannot be written, every caller in it gets the error (fail closed).
//! A served request's count (billing) rides in the same transaction as its record, one
//! statement per org and month in the batch, so a metered read costs one durable commit.
//! A served request whose caller is gone before its batch is taken (its time limit passed,
//! its client left) was never answered with the value: its record and count are left out, so
//! the log and the bill never show a read that was answered 503. A refusal is recorded
//! whether or not its caller is still there.

use async_trait::async_trait;
use oneclaw_core::audit::AuditEvent;
use oneclaw_core::ports::{AuditJournal, CountTicket, RequestCount, Store};
use oneclaw_core::{Error, Result};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// Most events committed together.
const MAX_BATCH: usize = 512;

/// One caller's record, waiting for its batch.
struct Waiter {
    event: AuditEvent,
    /// The served request's count, committed with its record.
    count: Option<CountTicket>,
    /// The record of a request being served, whose answer follows the record: if the caller
    /// has gone, nothing was served and nothing is recorded.
    served: bool,
    done: oneshot::Sender<Result<()>>,
}

impl Waiter {
    /// Still to be written: a refusal always; a served request only while its caller waits.
    fn wanted(&self) -> bool {
        !self.served || !self.done.is_closed()
    }
}

/// The group-committing journal over a store.
pub struct GroupCommitJournal {
    queue: crate::batch::Batcher<Waiter>,
    timeout: Duration,
}

impl GroupCommitJournal {
    /// Starts the writer: on SQLite on a thread of its own (see `batch::Runs`), on PostgreSQL
    /// as a task of the current runtime (its connections belong to that runtime). `timeout`
    /// bounds how long a caller waits for its record (a stalled database answers 503, not a
    /// hang).
    pub fn start(store: Arc<dyn Store>, timeout: Duration) -> Self {
        let runs = match store.backend() {
            "sqlite" => crate::batch::Runs::OnItsOwnThread,
            _ => crate::batch::Runs::OnTheRuntime,
        };
        let queue = crate::batch::start(MAX_BATCH, runs, move |batch: Vec<Waiter>| {
            let store = Arc::clone(&store);
            async move {
                let (batch, gone): (Vec<Waiter>, Vec<Waiter>) = batch.into_iter().partition(Waiter::wanted);
                for Waiter { count, .. } in gone {
                    // Never counted now: its place goes back to the org's month.
                    if let Some(count) = count {
                        count.released();
                    }
                }
                if batch.is_empty() {
                    return;
                }
                // The events move into the batch; each caller keeps its count and its answer.
                let (events, waiting): (Vec<AuditEvent>, Vec<_>) =
                    batch.into_iter().map(|Waiter { event, count, done, .. }| (event, (count, done))).unzip();
                let result = write(store.as_ref(), events, &waiting).await;
                for (count, done) in waiting {
                    let answer = match &result {
                        Ok(()) => {
                            if let Some(count) = count {
                                count.committed();
                            }
                            Ok(())
                        }
                        Err(err) => Err(Error::Unavailable(err.to_string())),
                    };
                    let _ = done.send(answer);
                }
            }
        });
        Self { queue, timeout }
    }
}

async fn write(
    store: &dyn Store,
    events: Vec<AuditEvent>,
    waiting: &[(Option<CountTicket>, oneshot::Sender<Result<()>>)],
) -> Result<()> {
    let mut counts: BTreeMap<(uuid::Uuid, &str), i64> = BTreeMap::new();
    for (org, month) in waiting.iter().filter_map(|(count, _)| count.as_ref()?.org_and_month()) {
        *counts.entry((org.0, month)).or_default() += 1;
    }
    let counts: Vec<RequestCount> = counts
        .into_iter()
        .map(|((org, month), n)| RequestCount { org: oneclaw_core::ids::OrgId(org), month: month.to_owned(), n })
        .collect();
    store.append_audit_batch(events, counts).await
}

fn unavailable() -> Error {
    Error::Unavailable("The audit log could not record this request in time, so it was refused.".to_owned())
}

#[async_trait]
impl AuditJournal for GroupCommitJournal {
    fn stats(&self) -> Option<oneclaw_core::ports::BatchStats> {
        Some(self.queue.stats())
    }

    async fn record(&self, event: AuditEvent) -> Result<()> {
        self.queue_and_wait(Waiter::new(event, None, false)).await
    }

    async fn record_counted(&self, event: AuditEvent, count: Option<CountTicket>) -> Result<()> {
        self.queue_and_wait(Waiter::new(event, count, true)).await
    }
}

impl Waiter {
    fn new(event: AuditEvent, count: Option<CountTicket>, served: bool) -> (Self, oneshot::Receiver<Result<()>>) {
        let (done, answer) = oneshot::channel();
        (Self { event, count, served, done }, answer)
    }
}

impl GroupCommitJournal {
    async fn queue_and_wait(&self, (waiter, answer): (Waiter, oneshot::Receiver<Result<()>>)) -> Result<()> {
        self.queue.queue.send(waiter).await.map_err(|_| unavailable())?;
        match tokio::time::timeout(self.timeout, answer).await {
            Ok(Ok(result)) => result,
            _ => Err(unavailable()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{GroupCommitJournal, Waiter};
    use crate::test_support::{assert_chain_whole, event, store_with_orgs};
    use oneclaw_core::ports::store::{AuditStore, BillingStore};
    use oneclaw_core::ports::{AuditJournal, Charge, Store};
    use std::sync::Arc;
    use std::time::Duration;

    const MONTH: &str = "2026-12";

    /// Another process holds the write lock (an operator command, a backup) for longer than
    /// the callers' time limit: the reads that gave up while their records waited were answered
    /// 503 and are neither in the log nor on the bill; a refusal that gave up is still recorded.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_whose_caller_gave_up_is_neither_recorded_nor_counted_and_a_refusal_is() {
        let (store, orgs, dir) = store_with_orgs(&["a"]).await;
        let org = orgs[0];
        let store = Arc::new(store);
        let journal = GroupCommitJournal::start(Arc::clone(&store) as Arc<dyn Store>, Duration::from_millis(300));
        let served = |action: &str| {
            let charge = Charge::metered(false, None, "GET", "/v1/x", Some((org, MONTH.to_owned())));
            let ticket = charge.take_count();
            (event(org, action), ticket, charge)
        };
        let places_back = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        // What the REST layer does when a metered read ends unserved or is dropped.
        let request_ends_unserved = |charge: &Charge| {
            let places_back = Arc::clone(&places_back);
            charge.when_uncounted(move || {
                places_back.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            });
        };

        let other_process = rusqlite::Connection::open(dir.path().join("oneclaw.db")).unwrap();
        other_process.execute_batch("BEGIN IMMEDIATE").unwrap();
        // Taken by the writer before anything else is queued, it waits in SQLite's busy handler
        // for the lock (queued by hand, so the test knows when it was taken).
        let (waiter, in_flight) = Waiter::new(event(org, "refused.in.flight"), None, false);
        journal.queue.queue.send(waiter).await.unwrap();
        while journal.queue.stats().waiting > 0 {
            tokio::task::yield_now().await;
        }
        // Taken, the record is not yet alone in its batch: right after it the batcher takes
        // whatever else is queued, so a read queued in that moment would join the stalled batch
        // and be written (this flaked once in CI, 2026-12-08). That moment is microseconds.
        tokio::time::sleep(Duration::from_millis(50)).await;
        // Queued behind it; both callers give up at 300 ms.
        let (read, ticket, given_up_charge) = served("read.given.up");
        let gave_up = journal.record_counted(read, ticket);
        let refused = journal.record(event(org, "refused.given.up"));
        let (gave_up, refused) = tokio::join!(gave_up, refused);
        assert!(gave_up.is_err() && refused.is_err(), "both were answered 503");
        request_ends_unserved(&given_up_charge);
        assert_eq!(places_back.load(std::sync::atomic::Ordering::SeqCst), 0, "its count is still queued");
        other_process.execute_batch("COMMIT").unwrap();
        assert!(in_flight.await.unwrap().is_ok(), "a record taken before the wait is written");

        let (read, ticket, answered_charge) = served("read.answered");
        journal.record_counted(read, ticket).await.unwrap();
        request_ends_unserved(&answered_charge);
        assert_eq!(
            places_back.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "the read left out gave its place back, the answered one did not"
        );
        let actions: Vec<String> =
            store.audit_chain(org, 0, 10).await.unwrap().into_iter().map(|event| event.action).collect();
        assert_eq!(actions, ["refused.in.flight", "refused.given.up", "read.answered"]);
        assert_eq!(store.requests_in(org, MONTH).await.unwrap(), 1, "only the answered read is billed");
        assert_chain_whole(&store, org, 3).await;
    }
}
