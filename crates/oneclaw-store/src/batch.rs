//! The writer task behind group commit: it takes every item waiting (up to a cap), hands the
//! batch to one handler call (one transaction, one fsync), then takes the next batch. The
//! journal and the request meter both run on it.

use oneclaw_core::ports::BatchStats;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc;

/// The writer's queue, and what it has done (for metrics).
pub(crate) struct Batcher<T> {
    pub queue: mpsc::Sender<T>,
    done: Arc<Counts>,
}

#[derive(Default)]
struct Counts {
    batches: AtomicU64,
    items: AtomicU64,
}

impl<T> Batcher<T> {
    /// Batches committed, items in them, and items waiting now.
    pub fn stats(&self) -> BatchStats {
        BatchStats {
            batches: self.done.batches.load(Ordering::Relaxed),
            items: self.done.items.load(Ordering::Relaxed),
            waiting: self.queue.max_capacity() - self.queue.capacity(),
        }
    }
}

/// Where the writer runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Runs {
    /// A task on the current runtime.
    OnTheRuntime,
    /// A thread of its own with a single-threaded runtime. Woken by a writer thread of its own
    /// (SQLite), a task of the server's runtime waits in that runtime's shared queue until a
    /// worker busy with requests looks there (every 61 tasks); meanwhile no batch is written,
    /// and every read waits on the next batch. On its own thread it is taken at once: reads
    /// +8-20% alternated on a 2-core machine. Only for work that registers no socket with the
    /// runtime it runs on (a PostgreSQL connection opened there would depend on that thread).
    OnItsOwnThread,
}

/// Starts the writer and returns where to send items.
pub(crate) fn start<T, F, Fut>(max_batch: usize, runs: Runs, mut handle: F) -> Batcher<T>
where
    T: Send + 'static,
    F: FnMut(Vec<T>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (queue, mut incoming) = mpsc::channel::<T>(max_batch * 4);
    let done = Arc::new(Counts::default());
    let counts = Arc::clone(&done);
    let writer = async move {
        while let Some(first) = incoming.recv().await {
            let mut batch = vec![first];
            while batch.len() < max_batch {
                match incoming.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            let size = u64::try_from(batch.len()).unwrap_or(u64::MAX);
            handle(batch).await;
            counts.batches.fetch_add(1, Ordering::Relaxed);
            counts.items.fetch_add(size, Ordering::Relaxed);
        }
    };
    if runs == Runs::OnItsOwnThread {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
        let spawned = runtime.map_err(|err| err.to_string()).and_then(|runtime| {
            std::thread::Builder::new()
                .name("oneclaw-batch".to_owned())
                // Ends when every sender is gone (the queue closes and the loop ends).
                .spawn(move || runtime.block_on(writer))
                .map(drop)
                .map_err(|err| err.to_string())
        });
        if let Err(err) = spawned {
            // The writer and its queue's receiver are gone with the failed start: every record
            // sent is refused (503), so nothing is answered unrecorded.
            tracing::error!(error = %err, "cannot start the batch writer's thread; requests that need it are refused");
        }
    } else {
        tokio::spawn(writer);
    }
    Batcher { queue, done }
}
