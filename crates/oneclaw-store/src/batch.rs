//! The writer task behind group commit: it takes every item waiting (up to a cap), hands the
//! batch to one handler call (one transaction, one fsync), then takes the next batch. The
//! journal and the request meter both run on it.

use std::future::Future;
use tokio::sync::mpsc;

/// Starts the writer on the current runtime and returns where to send items.
pub(crate) fn start<T, F, Fut>(max_batch: usize, mut handle: F) -> mpsc::Sender<T>
where
    T: Send + 'static,
    F: FnMut(Vec<T>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let (queue, mut incoming) = mpsc::channel::<T>(max_batch * 4);
    tokio::spawn(async move {
        while let Some(first) = incoming.recv().await {
            let mut batch = vec![first];
            while batch.len() < max_batch {
                match incoming.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            handle(batch).await;
        }
    });
    queue
}
