//! Group commit of audit records that come with no other change (secret reads, lists,
//! refusals): one writer task takes every event waiting, appends them to their chains in one
//! transaction and commits once, so under load many reads share one fsync. Each caller is
//! answered only after the commit that holds its event: no read is answered before its record
//! is durable. If the batch cannot be written, every caller in it gets the error (fail closed).
//! A served request's count (billing) rides in the same transaction as its record, one
//! statement per org and month in the batch, so a metered read costs one durable commit.

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

type Waiter = (AuditEvent, Option<CountTicket>, oneshot::Sender<Result<()>>);

/// The group-committing journal over a store.
pub struct GroupCommitJournal {
    queue: crate::batch::Batcher<Waiter>,
    timeout: Duration,
}

impl GroupCommitJournal {
    /// Starts the writer task on the current runtime. `timeout` bounds how long a caller waits
    /// for its record (a stalled database answers 503, not a hang).
    pub fn start(store: Arc<dyn Store>, timeout: Duration) -> Self {
        let queue = crate::batch::start(MAX_BATCH, move |batch: Vec<Waiter>| {
            let store = Arc::clone(&store);
            async move {
                let result = write(store.as_ref(), &batch).await;
                for (_, count, waiter) in batch {
                    let answer = match &result {
                        Ok(()) => {
                            if let Some(count) = count {
                                count.committed();
                            }
                            Ok(())
                        }
                        Err(err) => Err(Error::Unavailable(err.to_string())),
                    };
                    let _ = waiter.send(answer);
                }
            }
        });
        Self { queue, timeout }
    }
}

async fn write(store: &dyn Store, batch: &[Waiter]) -> Result<()> {
    let events: Vec<AuditEvent> = batch.iter().map(|(event, _, _)| event.clone()).collect();
    let mut counts: BTreeMap<(uuid::Uuid, &str), i64> = BTreeMap::new();
    for (org, month) in batch.iter().filter_map(|(_, count, _)| count.as_ref()?.org_and_month()) {
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
        self.record_counted(event, None).await
    }

    async fn record_counted(&self, event: AuditEvent, count: Option<CountTicket>) -> Result<()> {
        let (done, answer) = oneshot::channel();
        self.queue.queue.send((event, count, done)).await.map_err(|_| unavailable())?;
        match tokio::time::timeout(self.timeout, answer).await {
            Ok(Ok(result)) => result,
            _ => Err(unavailable()),
        }
    }
}
