//! Periodic background work: one helper runs a task every period for as long as the server
//! serves, so each periodic job is written as what it does, not as another hand-made loop.

use std::future::Future;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

/// When a periodic task first runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstRun {
    /// At once, then every period (work a crash may have left behind).
    Now,
    /// One period after start (work start-up has just done).
    AfterOnePeriod,
}

/// Periodic tasks that stop together when the server stops (or this is dropped).
#[derive(Default)]
pub struct Scheduler {
    tasks: Vec<JoinHandle<()>>,
}

impl Scheduler {
    /// Runs `task` every `period`. A run that overruns its period delays the next one rather than
    /// bunching runs up; runs never overlap.
    pub fn every<F, Fut>(&mut self, period: Duration, first: FirstRun, mut task: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.tasks.push(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            // The first tick of an interval is immediate.
            if first == FirstRun::AfterOnePeriod {
                ticks.tick().await;
            }
            loop {
                ticks.tick().await;
                task().await;
            }
        }));
    }
}

impl Scheduler {
    /// Runs `task` (a loop of its own) until the server stops.
    pub fn keep_running(&mut self, task: impl Future<Output = ()> + Send + 'static) {
        self.tasks.push(tokio::spawn(task));
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(start_paused = true)]
    async fn runs_at_start_or_after_a_period_and_stops_when_dropped() {
        let now = Arc::new(AtomicUsize::new(0));
        let later = Arc::new(AtomicUsize::new(0));
        let mut scheduler = Scheduler::default();
        let (n, l) = (now.clone(), later.clone());
        scheduler.every(Duration::from_secs(10), FirstRun::Now, move || {
            let n = n.clone();
            async move {
                n.fetch_add(1, Ordering::SeqCst);
            }
        });
        scheduler.every(Duration::from_secs(10), FirstRun::AfterOnePeriod, move || {
            let l = l.clone();
            async move {
                l.fetch_add(1, Ordering::SeqCst);
            }
        });
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!((now.load(Ordering::SeqCst), later.load(Ordering::SeqCst)), (1, 0));
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!((now.load(Ordering::SeqCst), later.load(Ordering::SeqCst)), (2, 1));
        drop(scheduler);
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!((now.load(Ordering::SeqCst), later.load(Ordering::SeqCst)), (2, 1));
    }
}
