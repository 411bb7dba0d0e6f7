//! Checks shared by the store's unit tests.

use crate::sqlite::SqliteStore;
use oneclaw_core::audit::chain::Head;
use oneclaw_core::ids::OrgId;
use oneclaw_core::ports::store::AuditStore;

/// A fault on demand: from now on, inserting an audit record whose action is `refuse.me` fails.
pub(crate) async fn refuse_records_marked(store: &SqliteStore) {
    sqlx::query(
        "CREATE TRIGGER refuse_marked BEFORE INSERT ON audit_events WHEN NEW.action = 'refuse.me' \
         BEGIN SELECT RAISE(ABORT, 'refused'); END",
    )
    .execute(store.pool())
    .await
    .unwrap();
}

/// Recomputes the org's chain from its first event: every stored link, time order and the head.
pub(crate) async fn assert_chain_whole(store: &SqliteStore, org: OrgId, expected_len: usize) {
    let chain = store.audit_chain(org, 0, 1_000).await.unwrap();
    assert_eq!(chain.len(), expected_len);
    let mut head = Head::EMPTY;
    let mut newest = time::OffsetDateTime::UNIX_EPOCH;
    for stored in &chain {
        let (link, next) = head.next(stored);
        let stored_link = stored.link.as_ref().map(|l| (l.seq, l.prev_hash, l.hash));
        assert_eq!(stored_link, Some((link.seq, link.prev_hash, link.hash)));
        assert!(stored.created_at >= newest, "chain order and time order agree");
        newest = stored.created_at;
        head = next;
    }
    assert_eq!(store.audit_head(org).await.unwrap(), head);
}
