//! Request places leased to this node. Each metered request takes a place in its org's month
//! (the 1st, the 2nd, …): the places up to the tier's allowance are free, later ones are paid.
//! A node leases places in blocks from the shared counter (`lease_requests`, one atomic
//! statement), so no two requests on any node ever get the same place and the allowance is
//! exact across nodes; handing a place out is then a memory operation. A place given back (a
//! request that was not served) is handed out again first. Near the allowance the blocks
//! shrink to one place, so places a node does not use (it stopped without giving them back)
//! can cost an org at most a small part of its free requests, never a free request too many.
//! A busy org's blocks grow (each used up within a second doubles the next, up to
//! `MOST_LEASED`) and a quiet one's shrink back: while a node leases, that org's requests on
//! it wait for the store's commit, and with small blocks under load that wait came every few
//! milliseconds (billing on read at 0.83 of billing off with 256-place blocks).

use crate::Result;
use crate::ids::OrgId;
use crate::ports::{LeaseRule, Store};
use crate::services::change::Change;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

/// Places an org's first lease on this node takes (at most), and the fewest a quiet org's
/// leases shrink back to.
const FIRST_BLOCK: i64 = 256;
/// Most places leased at once.
const MOST_LEASED: i64 = 4096;
/// A lease used up sooner than this after it was taken doubles the next one; one that lasted
/// longer halves it.
const QUICKLY_USED: time::Duration = time::Duration::seconds(1);
/// Below the allowance, a lease takes at most this fraction of the free places left.
const SHARE_OF_FREE_LEFT: i64 = 64;
/// Orgs' months kept before the book forgets those of past months.
const MOST_KEPT: usize = 100_000;

/// One org's month on this node: places `next ..= end` not yet handed out, and places given
/// back; the month's requests served when the lease was taken, and places handed out since.
#[derive(Debug, Default)]
struct Places {
    next: i64,
    end: i64,
    given_back: BTreeSet<i64>,
    served_at_lease: i64,
    handed_since_lease: i64,
}

/// A place handed out, and about how many requests the month has had with it: the requests
/// served when the lease was taken and those this node let in since (what the quota headers
/// show past the allowance, where places of many servers' leases run ahead of the count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Handed {
    pub place: i64,
    pub about_used: i64,
}

impl Places {
    /// The next place of this node's, if it has one left.
    fn hand_out(&mut self) -> Option<Handed> {
        let place = match self.given_back.pop_first() {
            Some(place) => place,
            None if self.next == 0 || self.next > self.end => return None,
            None => {
                self.next += 1;
                self.next - 1
            }
        };
        self.handed_since_lease += 1;
        Some(Handed { place, about_used: self.served_at_lease + self.handed_since_lease })
    }
}

/// How big the org's next lease on this node is, and when its last one was taken.
#[derive(Debug)]
struct Pace {
    block: i64,
    last_leased: Option<time::OffsetDateTime>,
}

impl Default for Pace {
    fn default() -> Self {
        Self { block: FIRST_BLOCK, last_leased: None }
    }
}

impl Pace {
    /// The size of a lease taken `now`: double the last if that one was used up quickly, half
    /// of it if not, between `FIRST_BLOCK` and `MOST_LEASED`.
    fn next_block(&mut self, now: time::OffsetDateTime) -> i64 {
        if let Some(last) = self.last_leased {
            self.block = if now - last < QUICKLY_USED {
                (self.block * 2).min(MOST_LEASED)
            } else {
                (self.block / 2).max(FIRST_BLOCK)
            };
        }
        self.last_leased = Some(now);
        self.block
    }
}

/// An org's month on this node. Handing out a place takes only the short `places` lock (no
/// waiting in line behind other requests' tasks); one request at a time leases more, holding
/// `refill` (and with it the lease's pace) across the store's transaction while the others
/// wait for it.
#[derive(Debug, Default)]
struct Lease {
    places: Mutex<Places>,
    refill: tokio::sync::Mutex<Pace>,
}

impl Lease {
    fn places(&self) -> Result<std::sync::MutexGuard<'_, Places>> {
        self.places.lock().map_err(|_| crate::Error::Internal("the request lease lock is poisoned".to_owned()))
    }
}

type Key = (OrgId, String);

/// This node's leases.
#[derive(Default)]
pub struct LeaseBook {
    leases: Mutex<HashMap<Key, Arc<Lease>>>,
}

impl LeaseBook {
    /// The org's month's lease. `evict`: room may be made by forgetting past months' leases
    /// (only when taking a place, which is always for the current month).
    fn lease(&self, org: OrgId, month: &str, evict: bool) -> Arc<Lease> {
        let Ok(mut leases) = self.leases.lock() else {
            // A poisoned map (a panic elsewhere) still must not hand a place out twice: a
            // lease of its own takes its places from the store like any other.
            return Arc::default();
        };
        if let Some(lease) = leases.get(&(org, month.to_owned())) {
            return Arc::clone(lease);
        }
        if evict && leases.len() >= MOST_KEPT {
            // Past months' places are of no use any more; this month's are kept.
            leases.retain(|(_, kept), _| kept == month);
        }
        Arc::clone(leases.entry((org, month.to_owned())).or_default())
    }

    /// Hands out the org's next place in `month`, leasing more from the store when this
    /// node has none left. `allowance` is the org's free requests a month (`None`: unlimited);
    /// `now` paces the leases.
    pub(crate) async fn take(
        &self,
        store: &dyn Store,
        org: OrgId,
        month: &str,
        allowance: Option<i64>,
        now: time::OffsetDateTime,
    ) -> Result<Handed> {
        let lease = self.lease(org, month, true);
        if let Some(place) = lease.places()?.hand_out() {
            return Ok(place);
        }
        let mut pace = lease.refill.lock().await;
        // Another request may have leased while this one waited.
        if let Some(place) = lease.places()?.hand_out() {
            return Ok(place);
        }
        let rule = LeaseRule { allowance, most: pace.next_block(now), share_of_free_left: SHARE_OF_FREE_LEFT };
        let mut change = Change::begin(store).await?;
        let leased = change.tx().lease_requests(org, month, rule).await?;
        change.commit([]).await?;
        let mut places = lease.places()?;
        (places.next, places.end) = (*leased.places.start(), *leased.places.end());
        (places.served_at_lease, places.handed_since_lease) = (leased.served, 0);
        places.hand_out().ok_or_else(|| crate::Error::Internal("a lease came back empty".to_owned()))
    }

    /// Takes back a place handed out for a request that was not served.
    pub(crate) fn give_back(&self, org: OrgId, month: &str, place: i64) {
        let lease = self.lease(org, month, false);
        if let Ok(mut places) = lease.places() {
            places.given_back.insert(place);
            // It was never let in: the estimate of requests so far goes back down too.
            places.handed_since_lease = places.handed_since_lease.saturating_sub(1);
        }
    }

    /// Gives the store back the unused top of every lease (at shutdown), in one transaction,
    /// where no other node leased after it. This node stops handing those places out first,
    /// whatever the store answers: a place is never this node's and another's. What cannot be
    /// given back is only places no request will have.
    pub async fn give_all_back(&self, store: &dyn Store) -> Result<()> {
        let leases: Vec<(Key, Arc<Lease>)> = match self.leases.lock() {
            Ok(leases) => leases.iter().map(|(key, lease)| (key.clone(), Arc::clone(lease))).collect(),
            Err(_) => return Ok(()),
        };
        let mut unused = Vec::new();
        for ((org, month), lease) in leases {
            let _refilling = lease.refill.lock().await;
            let Ok(mut places) = lease.places() else { continue };
            let lease = &mut *places;
            // Places given back at the very top of the handed-out range are unused too.
            while lease.next > 0 && lease.given_back.remove(&(lease.next - 1)) {
                lease.next -= 1;
            }
            if lease.next == 0 || lease.next > lease.end {
                continue;
            }
            unused.push((org, month, lease.end, lease.next - 1));
            lease.end = lease.next - 1;
        }
        if unused.is_empty() {
            return Ok(());
        }
        // In the order every other writer of these rows takes them (the journal's and the
        // meter's batches go by org and month), so two nodes' transactions cannot deadlock.
        unused.sort_by(|a, b| (a.0.0, &a.1).cmp(&(b.0.0, &b.1)));
        let mut change = Change::begin(store).await?;
        for (org, month, end, keep) in &unused {
            change.tx().return_requests_lease(*org, month, *end, *keep).await?;
        }
        change.commit([]).await
    }
}

#[cfg(test)]
mod tests {
    use super::{FIRST_BLOCK, Handed, LeaseBook, MOST_LEASED, Pace};
    use crate::ids::OrgId;
    use time::{Duration, OffsetDateTime};

    const MONTH: &str = "2026-12";

    /// A book holding places `next ..= end` of `org`'s month, leased when `served` requests
    /// had been served.
    fn book_with(org: OrgId, next: i64, end: i64, served: i64) -> LeaseBook {
        let book = LeaseBook::default();
        let lease = book.lease(org, MONTH, true);
        let mut places = lease.places().unwrap();
        (places.next, places.end, places.served_at_lease) = (next, end, served);
        drop(places);
        book
    }

    fn hand_out(book: &LeaseBook, org: OrgId) -> Option<Handed> {
        book.lease(org, MONTH, false).places().unwrap().hand_out()
    }

    #[test]
    fn places_go_out_in_order_given_back_ones_first_and_the_estimate_counts_only_those_let_in() {
        let org = OrgId::generate();
        let book = book_with(org, 10, 12, 100);
        assert_eq!(hand_out(&book, org), Some(Handed { place: 10, about_used: 101 }));
        assert_eq!(hand_out(&book, org), Some(Handed { place: 11, about_used: 102 }));
        // A refused request gives its place back: it goes out again next, and the estimate of
        // requests so far does not count the refusal.
        book.give_back(org, MONTH, 10);
        assert_eq!(hand_out(&book, org), Some(Handed { place: 10, about_used: 102 }));
        assert_eq!(hand_out(&book, org), Some(Handed { place: 12, about_used: 103 }));
        assert_eq!(hand_out(&book, org), None, "the lease is used up");
        // Another org's month is apart.
        assert_eq!(hand_out(&book, OrgId::generate()), None);
    }

    #[test]
    fn leases_used_up_quickly_grow_to_the_most_and_slow_ones_shrink_back_to_the_first_size() {
        let mut pace = Pace::default();
        let start = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let mut now = start;
        assert_eq!(pace.next_block(now), FIRST_BLOCK, "an org's first lease");
        let mut sizes = Vec::new();
        for _ in 0..6 {
            now += Duration::milliseconds(300);
            sizes.push(pace.next_block(now));
        }
        assert_eq!(sizes, [512, 1024, 2048, 4096, 4096, 4096], "doubled while used up within a second, capped");
        assert_eq!(*sizes.last().unwrap(), MOST_LEASED);
        let mut sizes = Vec::new();
        for _ in 0..6 {
            now += Duration::seconds(5);
            sizes.push(pace.next_block(now));
        }
        assert_eq!(sizes, [2048, 1024, 512, 256, 256, 256], "halved while a lease lasts longer, floored");
    }
}
