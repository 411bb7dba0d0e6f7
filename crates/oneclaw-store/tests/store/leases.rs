//! Request places leased to nodes (issue 15): a lease starts past every place counted or
//! leased before, a count never falls behind the places, and only the top of the month's
//! places can be given back. Runs on SQLite, and on PostgreSQL in CI.

use super::{seed, test_db};
use oneclaw_core::ids::OrgId;
use oneclaw_core::ports::Store;
use std::sync::Arc;

async fn lease(store: &Arc<dyn Store>, org: OrgId, n: i64) -> i64 {
    let mut tx = store.begin().await.unwrap();
    let end = tx.lease_requests(org, "2026-12", n).await.unwrap();
    tx.commit().await.unwrap();
    end
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
    // The months and orgs are apart.
    let other = seed(&store).await.0;
    assert_eq!(lease(&store, other, 3).await, 3);
}
