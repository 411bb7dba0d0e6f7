//! A clock tests can move forward.

use oneclaw_core::clock::{Clock, truncate_to_millis};
use std::sync::Mutex;
use time::{Duration, OffsetDateTime};

/// Starts at the real time; only moves when told to.
#[derive(Debug)]
pub struct TestClock {
    now: Mutex<OffsetDateTime>,
}

impl Default for TestClock {
    // A test clock starts at the real time, then moves only when told to.
    #[allow(clippy::disallowed_methods)]
    fn default() -> Self {
        Self { now: Mutex::new(truncate_to_millis(OffsetDateTime::now_utc())) }
    }
}

impl TestClock {
    /// The test's current time.
    pub fn now_utc(&self) -> OffsetDateTime {
        *self.now.lock().unwrap()
    }

    /// Moves time forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap();
        *now += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap()
    }
}
