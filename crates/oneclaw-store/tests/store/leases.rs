//! Request places leased to nodes (issue 15): a lease starts past every place counted or
//! leased before, a count never falls behind the places, and only the top of the month's
//! places can be given back. Runs on SQLite, and on PostgreSQL in CI.

use super::{seed, test_db};
use oneclaw_core::ids::OrgId;
use oneclaw_core::ports::{LeaseRule, Store};
use std::ops::RangeInclusive;
use std::sync::Arc;

async fn lease_by(store: &Arc<dyn Store>, org: OrgId, rule: LeaseRule) -> RangeInclusive<i64> {
    let mut tx = store.begin().await.unwrap();
    let leased = tx.lease_requests(org, "2026-12", rule).await.unwrap();
    tx.commit().await.unwrap();
    leased.places
}

/// A lease of exactly `n` places (no allowance), answering its last place.
async fn lease(store: &Arc<dyn Store>, org: OrgId, n: i64) -> i64 {
    let places = lease_by(store, org, LeaseRule { allowance: None, most: n, share_of_free_left: 64 }).await;
    assert_eq!(places.end() - places.start() + 1, n);
    *places.end()
}

async fn count(store: &Arc<dyn Store>, org: OrgId, n: i64) -> i64 {
    let mut tx = store.begin().await.unwrap();
    let total = tx.add_requests(org, "2026-12", n).await.unwrap();
    tx.commit().await.unwrap();
    total
}

async fn give_back(store: &Arc<dyn Store>, org: OrgId, end: i64, keep: i64) -> bool {
    let mut tx = store.begin().await.unwrap();
    let given = tx.return_requests_lease(org, "2026-12", end, keep).await.unwrap();
    tx.commit().await.unwrap();
    given
}

#[tokio::test]
async fn leases_never_overlap_and_only_the_top_of_the_month_goes_back() {
    let db = test_db().await;
    let store = oneclaw_store::open(&db.url).await.unwrap();
    let (org, _, _) = seed(&store).await;

    assert_eq!(lease(&store, org, 1).await, 1, "a first lease starts the month");
    assert_eq!(lease(&store, org, 10).await, 11, "places 2..=11");
    assert_eq!(lease(&store, org, 5).await, 16, "places 12..=16, after the first node's");
    // Places 2..=11 were handed out and counted by one node, 12..=16 by another.
    assert_eq!(count(&store, org, 3).await, 3);
    assert_eq!(store.requests_in(org, "2026-12").await.unwrap(), 3, "the count is requests served, not places");

    // The first node's lease is not the top any more: it cannot shrink the month.
    assert!(!give_back(&store, org, 11, 4).await);
    // The second node's is: its unused 14..=16 go back, and the next lease starts at 14.
    assert!(give_back(&store, org, 16, 13).await);
    assert_eq!(lease(&store, org, 2).await, 15);
    // Nothing goes back below the places counted.
    assert!(!give_back(&store, org, 15, 2).await);

    // Counts past every place leased (requests counted by a surface without a lease) push
    // later leases past them too.
    assert_eq!(count(&store, org, 20).await, 23);
    assert_eq!(lease(&store, org, 1).await, 24);
    // A lease says how many requests the month has served, which its places run ahead of.
    let mut tx = store.begin().await.unwrap();
    let one = LeaseRule { allowance: None, most: 1, share_of_free_left: 64 };
    assert_eq!(tx.lease_requests(org, "2026-12", one).await.unwrap().served, 23);
    tx.commit().await.unwrap();
    // The months and orgs are apart.
    let other = seed(&store).await.0;
    assert_eq!(lease(&store, other, 3).await, 3);
}

#[tokio::test]
async fn a_lease_is_sized_from_where_the_month_really_is() {
    let db = test_db().await;
    let store = oneclaw_store::open(&db.url).await.unwrap();
    let (org, _, _) = seed(&store).await;
    let rule = LeaseRule { allowance: Some(1_000), most: 256, share_of_free_left: 64 };

    assert_eq!(lease_by(&store, org, rule).await, 1..=15, "1/64 of the 1,000 free places left");
    // Another node takes the month to 990: the next lease, whoever takes it, is one place.
    assert_eq!(lease(&store, org, 975).await, 990);
    assert_eq!(lease_by(&store, org, rule).await, 991..=991);
    assert_eq!(lease(&store, org, 9).await, 1_000);
    assert_eq!(lease_by(&store, org, rule).await, 1_001..=1_256, "past the allowance, the most");
    let unlimited = LeaseRule { allowance: None, ..rule };
    assert_eq!(lease_by(&store, org, unlimited).await, 1_257..=1_512);
}
