//! Group commit of request counts (billing): one writer task takes every count waiting, adds
//! each org's share with one atomic statement per org and month, commits once, and hands each
//! caller its own place in the total. Many requests share one fsync; with several processes on
//! one PostgreSQL every addition is still atomic, so no count is lost or doubled. A caller is
//! answered only after the commit that holds its count.

use async_trait::async_trait;
use oneclaw_core::ids::OrgId;
use oneclaw_core::ports::{RequestCounter, Store};
use oneclaw_core::{Error, Result};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// Most counts committed together.
const MAX_BATCH: usize = 1024;

type Waiter = (OrgId, String, oneshot::Sender<Result<i64>>);

/// The group-committing request counter over a store.
pub struct GroupCommitMeter {
    queue: crate::batch::Batcher<Waiter>,
    timeout: Duration,
}

impl GroupCommitMeter {
    /// Starts the writer task on the current runtime; `timeout` bounds a caller's wait.
    pub fn start(store: Arc<dyn Store>, timeout: Duration) -> Self {
        let queue = crate::batch::start(MAX_BATCH, crate::batch::Runs::OnTheRuntime, move |batch: Vec<Waiter>| {
            let store = Arc::clone(&store);
            async move { answer(store.as_ref(), batch).await }
        });
        Self { queue, timeout }
    }
}

async fn answer(store: &dyn Store, batch: Vec<Waiter>) {
    // Each (org, month) in the batch, with its callers in arrival order.
    let mut groups: BTreeMap<(uuid::Uuid, String), Vec<oneshot::Sender<Result<i64>>>> = BTreeMap::new();
    for (org, month, waiter) in batch {
        groups.entry((org.0, month)).or_default().push(waiter);
    }
    let totals = add_all(store, &groups).await;
    for ((org, month), waiters) in groups {
        let total = match &totals {
            Ok(totals) => totals.get(&(org, month)).copied().ok_or_else(|| Error::Internal("count missing".to_owned())),
            Err(err) => Err(Error::Unavailable(err.to_string())),
        };
        let n = i64::try_from(waiters.len()).unwrap_or(i64::MAX);
        for (i, waiter) in waiters.into_iter().enumerate() {
            // The group's callers take the last n places of the new total, in arrival order.
            let place = total.as_ref().map(|total| total - n + 1 + i64::try_from(i).unwrap_or(0)).map_err(clone_error);
            let _ = waiter.send(place);
        }
    }
}

fn clone_error(err: &Error) -> Error {
    Error::Unavailable(err.to_string())
}

async fn add_all(
    store: &dyn Store,
    groups: &BTreeMap<(uuid::Uuid, String), Vec<oneshot::Sender<Result<i64>>>>,
) -> Result<BTreeMap<(uuid::Uuid, String), i64>> {
    let mut tx = store.begin_batch().await?;
    let mut totals = BTreeMap::new();
    for ((org, month), waiters) in groups {
        let n = i64::try_from(waiters.len()).unwrap_or(i64::MAX);
        totals.insert((*org, month.clone()), tx.add_requests(OrgId(*org), month, n).await?);
    }
    tx.commit().await?;
    Ok(totals)
}

fn unavailable() -> Error {
    Error::Unavailable("The request could not be counted in time, so it was refused.".to_owned())
}

#[async_trait]
impl RequestCounter for GroupCommitMeter {
    fn stats(&self) -> Option<oneclaw_core::ports::BatchStats> {
        Some(self.queue.stats())
    }

    async fn count(&self, org: OrgId, month: &str) -> Result<i64> {
        let (done, answer) = oneshot::channel();
        self.queue.queue.send((org, month.to_owned(), done)).await.map_err(|_| unavailable())?;
        match tokio::time::timeout(self.timeout, answer).await {
            Ok(Ok(result)) => result,
            _ => Err(unavailable()),
        }
    }
}
