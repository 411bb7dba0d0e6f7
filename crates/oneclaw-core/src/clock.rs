//! Time as a port, so token expiry, secret expiry and audit times can be tested.

use time::OffsetDateTime;

/// Where "now" comes from.
pub trait Clock: Send + Sync + 'static {
    /// The current time, UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The real clock, at millisecond precision (what the store keeps), so a record reads back
/// exactly as it was written.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    // The one place the server reads the system time.
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> OffsetDateTime {
        truncate_to_millis(OffsetDateTime::now_utc())
    }
}

/// Drops sub-millisecond precision.
pub fn truncate_to_millis(at: OffsetDateTime) -> OffsetDateTime {
    let millis = at.nanosecond() / 1_000_000;
    at.replace_nanosecond(millis * 1_000_000).unwrap_or(at)
}
