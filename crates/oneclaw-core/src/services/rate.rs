//! A sliding-window limit per org, in memory (per node): at most `max` events per `window`.

use crate::ids::OrgId;
use crate::{Error, Result};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use time::{Duration, OffsetDateTime};

/// Counts recent events per org.
#[derive(Debug)]
pub struct OrgRateLimit {
    max: usize,
    window: Duration,
    recent: Mutex<HashMap<OrgId, VecDeque<OffsetDateTime>>>,
}

impl OrgRateLimit {
    /// At most `max` events per `window` per org.
    pub fn new(max: usize, window: Duration) -> Self {
        Self { max, window, recent: Mutex::new(HashMap::new()) }
    }

    /// Counts one event at `now`, or refuses it (429) when the org is at its limit.
    pub fn take(&self, org: OrgId, now: OffsetDateTime, what: &str) -> Result<()> {
        let mut recent = self.recent.lock().map_err(|_| Error::Internal("rate limit lock poisoned".to_owned()))?;
        let times = recent.entry(org).or_default();
        while times.front().is_some_and(|at| *at <= now - self.window) {
            times.pop_front();
        }
        if times.len() >= self.max {
            let oldest = times.front().copied().unwrap_or(now);
            let retry_after_secs = (oldest + self.window - now).whole_seconds().max(1);
            return Err(Error::TooManyRequests {
                detail: format!(
                    "At most {} {what} per {} seconds per organization",
                    self.max,
                    self.window.whole_seconds()
                ),
                retry_after_secs,
            });
        }
        times.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_slides() {
        let limit = OrgRateLimit::new(2, Duration::minutes(1));
        let org = OrgId::generate();
        let t0 = OffsetDateTime::UNIX_EPOCH;
        assert!(limit.take(org, t0, "x").is_ok());
        assert!(limit.take(org, t0 + Duration::seconds(10), "x").is_ok());
        match limit.take(org, t0 + Duration::seconds(20), "x") {
            Err(Error::TooManyRequests { retry_after_secs, .. }) => assert_eq!(retry_after_secs, 40),
            other => panic!("{other:?}"),
        }
        assert!(limit.take(OrgId::generate(), t0, "x").is_ok(), "per org");
        assert!(limit.take(org, t0 + Duration::seconds(61), "x").is_ok());
    }
}
