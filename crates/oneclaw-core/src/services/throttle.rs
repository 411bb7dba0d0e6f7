//! Abuse limits on every credential check (passwords, second factors, API-key and agent-key
//! exchanges, share passphrases, sign-up, refresh): per client address in memory (governor),
//! and per account in the store, so an account's limit holds however many nodes an attacker
//! spreads guesses over. Refusals are 429 with `Retry-After`.

use super::Deps;
use crate::{Error, Result};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::net::IpAddr;
use std::num::NonZeroU32;

/// Credential checks one address may make in a burst, and how many it gets back each minute.
const PER_IP_BURST: u32 = 30;
const PER_IP_PER_MINUTE: u32 = 60;
/// Attempts on one account in one window; a success starts the count again.
const PER_ACCOUNT_ATTEMPTS: i64 = 10;
const ACCOUNT_WINDOW: time::Duration = time::Duration::minutes(15);

/// The limits, shared by every request of a node.
pub struct Throttle {
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
}

impl Default for Throttle {
    fn default() -> Self {
        let per_minute = NonZeroU32::new(PER_IP_PER_MINUTE).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(PER_IP_BURST).unwrap_or(NonZeroU32::MIN);
        Self { per_ip: DefaultKeyedRateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst)) }
    }
}

impl Throttle {
    /// Spends one credential check of the client's address; 429 when it has none left.
    /// Requests with no address (in-process callers) are not limited here.
    pub fn check_ip(&self, ip: Option<IpAddr>) -> Result<()> {
        let Some(ip) = ip else { return Ok(()) };
        // IPv4-mapped IPv6 counts as the IPv4 address, so one client has one budget.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.per_ip.check_key(&ip).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            too_many(i64::try_from(wait.as_secs()).unwrap_or(i64::MAX).max(1))
        })
    }

    /// Counts one attempt on `account` (e.g. `login:ada@example.com`); 429 past the limit.
    /// Counted before the check, so parallel guesses cannot slip past it.
    pub async fn count_account(&self, deps: &Deps, account: &str) -> Result<()> {
        let now = deps.clock.now();
        let attempts = deps.store.count_attempt(account, now - ACCOUNT_WINDOW, now).await?;
        if attempts > PER_ACCOUNT_ATTEMPTS {
            return Err(too_many(ACCOUNT_WINDOW.whole_seconds()));
        }
        Ok(())
    }

    /// A success: the account's count starts again.
    pub async fn clear_account(&self, deps: &Deps, account: &str) -> Result<()> {
        deps.store.clear_attempts(account).await
    }

    /// Forgets addresses that have their whole budget back (bounded memory under a flood of
    /// distinct addresses).
    pub fn prune(&self) {
        self.per_ip.retain_recent();
    }
}

fn too_many(retry_after_secs: i64) -> Error {
    Error::TooManyRequests { detail: "Too many attempts; wait before trying again".to_owned(), retry_after_secs }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_gets_its_burst_then_429_with_a_retry_time() {
        let throttle = Throttle::default();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        for _ in 0..PER_IP_BURST {
            throttle.check_ip(Some(ip)).unwrap();
        }
        match throttle.check_ip(Some(ip)) {
            Err(Error::TooManyRequests { retry_after_secs, .. }) => assert!(retry_after_secs >= 1),
            other => panic!("{other:?}"),
        }
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert!(throttle.check_ip(Some(mapped)).is_err(), "the mapped form shares the budget");
        assert!(throttle.check_ip(Some("192.0.2.8".parse().unwrap())).is_ok(), "another address has its own");
        assert!(throttle.check_ip(None).is_ok());
    }
}
