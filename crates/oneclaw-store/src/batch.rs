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

/// Starts the writer on the current runtime and returns where to send items.
pub(crate) fn start<T, F, Fut>(max_batch: usize, mut handle: F) -> Batcher<T>
where
    T: Send + 'static,
    F: FnMut(Vec<T>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let (queue, mut incoming) = mpsc::channel::<T>(max_batch * 4);
    let done = Arc::new(Counts::default());
    let counts = Arc::clone(&done);
    tokio::spawn(async move {
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
    });
    Batcher { queue, done }
}
