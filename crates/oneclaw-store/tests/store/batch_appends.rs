//! The audit journal's batches (`Store::append_audit_batch`) with other writers and other
//! nodes appending to the same chain in between. On PostgreSQL a batch goes in one statement
//! on the head its node last wrote (`pg_chain_appends.rs`), and falls back to the locking way
//! when that head has moved; every event and every count lands once, on one chain.

use super::{assert_batch_chained, seed, test_db};
use oneclaw_core::audit::AuditEvent;
use oneclaw_core::clock::{Clock, SystemClock};
use oneclaw_core::ids::OrgId;
use oneclaw_core::ports::{RequestCount, Store};
use oneclaw_core::principal::{RequestMeta, Surface};
use oneclaw_store::postgres::PgStore;
use std::sync::Arc;

const MONTH: &str = "2026-12";

/// Appends `test.batch` events numbered from `*next`, with their requests' count.
async fn batch(store: &dyn Store, org: OrgId, next: &mut i64, size: i64) {
    let meta = RequestMeta::internal(Surface::Cli);
    let events: Vec<AuditEvent> = (*next..*next + size)
        .map(|n| AuditEvent::system_in(org, &meta, "test.batch", "org", SystemClock.now()).detail("n", n))
        .collect();
    *next += size;
    let counts = vec![RequestCount { org, month: MONTH.to_owned(), n: size }];
    store.append_audit_batch(events, counts).await.unwrap();
}

/// Another writer's transaction appends an event of its own (a secret write's record, say).
async fn transaction_appends(store: &dyn Store, org: OrgId, next: &mut i64) {
    let meta = RequestMeta::internal(Surface::Cli);
    let mut tx = store.begin().await.unwrap();
    tx.append_audits(&[AuditEvent::system_in(org, &meta, "test.batch", "org", SystemClock.now()).detail("n", *next)])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    *next += 1;
}

#[tokio::test]
async fn batches_stay_one_chain_with_other_writers_and_nodes_appending_in_between() {
    let db = test_db().await;
    if db.schema.is_none() {
        // SQLite: one node; the same sequence through its batch writer.
        let store = oneclaw_store::open(&db.url).await.unwrap();
        let (org, _, _) = seed(&store).await;
        let mut next = 0;
        batch(store.as_ref(), org, &mut next, 3).await;
        transaction_appends(store.as_ref(), org, &mut next).await;
        batch(store.as_ref(), org, &mut next, 4).await;
        assert_batch_chained(&store, &[(org, 8)]).await;
        assert_eq!(store.requests_in(org, MONTH).await.unwrap(), 7);
        return;
    }
    let first = Arc::new(PgStore::open(&db.url).await.unwrap());
    let second = Arc::new(PgStore::open(&db.url).await.unwrap());
    let (one, other): (Arc<dyn Store>, Arc<dyn Store>) = (first.clone(), second.clone());
    let (org, _, _) = seed(&one).await;
    let mut next = 0;

    // The org's first batch creates its head: the locking way.
    batch(one.as_ref(), org, &mut next, 3).await;
    assert_eq!(first.one_statement_audit_batches(), 0);
    // Then in one statement: on the head read afresh, then on the one remembered.
    batch(one.as_ref(), org, &mut next, 4).await;
    batch(one.as_ref(), org, &mut next, 5).await;
    assert_eq!(first.one_statement_audit_batches(), 2);

    // Another transaction on this node moves the head: the next batch finds its memory
    // wrong, writes nothing that way and goes the locking way; the one after reads afresh.
    transaction_appends(one.as_ref(), org, &mut next).await;
    batch(one.as_ref(), org, &mut next, 2).await;
    assert_eq!(first.one_statement_audit_batches(), 2, "the moved head sent the batch the locking way");
    batch(one.as_ref(), org, &mut next, 2).await;
    assert_eq!(first.one_statement_audit_batches(), 3);

    // Another node appends to the same chain, then this one again.
    batch(other.as_ref(), org, &mut next, 6).await;
    assert_eq!(second.one_statement_audit_batches(), 1);
    batch(one.as_ref(), org, &mut next, 1).await;
    assert_eq!(first.one_statement_audit_batches(), 3, "the other node's batch moved the head");
    batch(one.as_ref(), org, &mut next, 1).await;
    assert_eq!(first.one_statement_audit_batches(), 4);

    assert_batch_chained(&one, &[(org, usize::try_from(next).unwrap())]).await;
    assert_eq!(
        one.requests_in(org, MONTH).await.unwrap(),
        next - 1,
        "every batch's count once (not the transaction's)"
    );
}

/// Two nodes' batches of the same two orgs, each meeting the orgs in the opposite order, run
/// at once the locking way (a transaction that reads and locks each head): every batch
/// commits. Heads are locked in org order whatever order a batch meets them in; in the order
/// met, the two nodes deadlocked (red-team: about once a second under load, each a 503).
#[tokio::test]
async fn batches_meeting_the_same_orgs_in_opposite_orders_on_two_nodes_never_deadlock() {
    let db = test_db().await;
    let one = oneclaw_store::open(&db.url).await.unwrap();
    let other = oneclaw_store::open(&db.url).await.unwrap();
    let (first, _, _) = seed(&one).await;
    let (second, _, _) = seed(&one).await;
    const ROUNDS: usize = 40;
    // Errors are returned, not unwrapped inside the join: a panicking branch would leave the
    // other's transaction open and the schema's cleanup waiting on it.
    let run = |store: Arc<dyn Store>, orgs: [OrgId; 2]| async move {
        let meta = RequestMeta::internal(Surface::Cli);
        for _ in 0..ROUNDS {
            let batch = orgs.map(|org| AuditEvent::system_in(org, &meta, "test.order", "org", SystemClock.now()));
            let mut tx = store.begin().await?;
            tx.append_audits(&batch).await?;
            tx.commit().await?;
        }
        Ok::<(), oneclaw_core::Error>(())
    };
    let (a, b) = tokio::join!(run(one.clone(), [first, second]), run(other.clone(), [second, first]));
    assert!(a.is_ok() && b.is_ok(), "both nodes' batches commit: {a:?}, {b:?}");
    for org in [first, second] {
        let chain = one.audit_chain(org, 0, 1_000).await.unwrap();
        assert_eq!(chain.iter().filter(|event| event.action == "test.order").count(), 2 * ROUNDS);
    }
}
