//! The in-process queue of write transactions for a backend that takes one writer at a time.
//!
//! SQLite serialises writers on its file lock. Left to itself, a writer that finds the lock
//! taken sleeps in the busy handler (1, 2, 5 … 100 ms steps) and retries, so under a few dozen
//! concurrent writers the unlucky ones wait hundreds of milliseconds while the lock sits idle
//! between sleeps. Queueing writers here instead (a fair, FIFO semaphore of one) hands the lock
//! straight to the next writer when a transaction ends. The busy timeout still covers another
//! process (an operator command) holding the file. PostgreSQL locks rows, so its gate is open.

use oneclaw_core::{Error, Result};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a writer waits for its turn before the request is refused as unavailable: the
/// same bound as SQLite's own busy timeout.
const WAIT_FOR_TURN: Duration = Duration::from_secs(5);

/// Admits write transactions: one at a time, or all at once.
///
/// Ordinary writers queue twice, first among themselves (`ordinary`), then for the lock itself;
/// a group commit (`priority_turn`) queues only for the lock. So at most one ordinary writer is
/// ever ahead of a group commit, however many are waiting: reads' audit records and request
/// counts are not stuck behind a flood of writes.
pub(crate) struct WriteGate(Option<Queues>);

struct Queues {
    lock: Arc<Semaphore>,
    ordinary: Arc<Semaphore>,
}

/// A writer's turn; the next writer goes when it is dropped (after commit or rollback).
pub(crate) struct WriteTurn {
    _lock: Option<OwnedSemaphorePermit>,
    _place: Option<OwnedSemaphorePermit>,
}

impl WriteGate {
    /// One writer at a time, in arrival order (SQLite).
    pub(crate) fn one_at_a_time() -> Self {
        Self(Some(Queues { lock: Arc::new(Semaphore::new(1)), ordinary: Arc::new(Semaphore::new(1)) }))
    }

    /// No queue: the database orders writers itself (PostgreSQL).
    pub(crate) fn open() -> Self {
        Self(None)
    }

    /// Waits for an ordinary writer's turn.
    pub(crate) async fn turn(&self) -> Result<WriteTurn> {
        let Some(queues) = &self.0 else {
            return Ok(WriteTurn { _lock: None, _place: None });
        };
        let waiting = async {
            let place = Arc::clone(&queues.ordinary).acquire_owned().await?;
            let lock = Arc::clone(&queues.lock).acquire_owned().await?;
            Ok::<_, tokio::sync::AcquireError>(WriteTurn { _lock: Some(lock), _place: Some(place) })
        };
        within_bound(waiting).await
    }

    /// Waits for a group commit's turn: behind at most one ordinary writer.
    pub(crate) async fn priority_turn(&self) -> Result<WriteTurn> {
        let Some(queues) = &self.0 else {
            return Ok(WriteTurn { _lock: None, _place: None });
        };
        let waiting = async {
            let lock = Arc::clone(&queues.lock).acquire_owned().await?;
            Ok::<_, tokio::sync::AcquireError>(WriteTurn { _lock: Some(lock), _place: None })
        };
        within_bound(waiting).await
    }
}

async fn within_bound(
    waiting: impl std::future::Future<Output = std::result::Result<WriteTurn, tokio::sync::AcquireError>>,
) -> Result<WriteTurn> {
    match tokio::time::timeout(WAIT_FOR_TURN, waiting).await {
        Ok(Ok(turn)) => Ok(turn),
        Ok(Err(_closed)) => Err(Error::Unavailable("the store is shutting down".to_owned())),
        Err(_elapsed) => Err(Error::Unavailable("the database is busy with other writes; try again".to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[tokio::test(start_paused = true)]
    async fn writers_take_turns_in_arrival_order() {
        let gate = Arc::new(WriteGate::one_at_a_time());
        let order = Arc::new(Mutex::new(Vec::new()));
        let first = gate.turn().await.unwrap();
        let mut writers = Vec::new();
        for writer in 0..4 {
            let (gate, order) = (Arc::clone(&gate), Arc::clone(&order));
            writers.push(tokio::spawn(async move {
                let _turn = gate.turn().await.unwrap();
                order.lock().unwrap().push(writer);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }));
            // Let this writer join the queue before the next one arrives.
            tokio::task::yield_now().await;
        }
        assert!(order.lock().unwrap().is_empty(), "nobody writes while the first turn is held");
        drop(first);
        for writer in writers {
            writer.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_writer_gives_up_after_the_wait_bound_and_the_open_gate_never_waits() {
        let gate = WriteGate::one_at_a_time();
        let _held = gate.turn().await.unwrap();
        let started = tokio::time::Instant::now();
        assert!(matches!(gate.turn().await, Err(Error::Unavailable(_))));
        assert_eq!(started.elapsed(), WAIT_FOR_TURN);
        let open = WriteGate::open();
        let (_a, _b) = (open.turn().await.unwrap(), open.turn().await.unwrap());
    }

    #[tokio::test(start_paused = true)]
    async fn a_group_commit_waits_behind_at_most_one_ordinary_writer() {
        let gate = Arc::new(WriteGate::one_at_a_time());
        let order = Arc::new(Mutex::new(Vec::new()));
        let first = gate.turn().await.unwrap();
        let mut writers = Vec::new();
        for writer in 0..5 {
            let (gate, order) = (Arc::clone(&gate), Arc::clone(&order));
            writers.push(tokio::spawn(async move {
                let _turn = gate.turn().await.unwrap();
                order.lock().unwrap().push(format!("writer {writer}"));
                tokio::time::sleep(Duration::from_millis(10)).await;
            }));
            tokio::task::yield_now().await;
        }
        let (gate_for_batch, order_for_batch) = (Arc::clone(&gate), Arc::clone(&order));
        let batch = tokio::spawn(async move {
            let _turn = gate_for_batch.priority_turn().await.unwrap();
            order_for_batch.lock().unwrap().push("batch".to_owned());
        });
        tokio::task::yield_now().await;
        drop(first);
        batch.await.unwrap();
        for writer in writers {
            writer.await.unwrap();
        }
        let order = order.lock().unwrap().clone();
        let batch_at = order.iter().position(|entry| entry == "batch").unwrap();
        assert!(batch_at <= 1, "the batch went after {batch_at} of 5 queued writers: {order:?}");
    }
}
