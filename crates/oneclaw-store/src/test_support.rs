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

/// A store in a fresh data dir with one org per name.
pub(crate) async fn store_with_orgs(names: &[&str]) -> (SqliteStore, Vec<OrgId>, tempfile::TempDir) {
    use oneclaw_core::clock::{Clock, SystemClock};
    use oneclaw_core::ports::Store;
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&crate::default_sqlite_url(dir.path())).await.unwrap();
    let mut orgs = Vec::new();
    for name in names {
        let org =
            oneclaw_core::model::Org { id: OrgId::generate(), name: (*name).to_owned(), created_at: SystemClock.now() };
        let mut tx = store.begin().await.unwrap();
        tx.insert_org(&org).await.unwrap();
        tx.commit().await.unwrap();
        orgs.push(org.id);
    }
    (store, orgs, dir)
}

/// An event of `org` with every optional column filled, so each is written and read back.
pub(crate) fn event(org: OrgId, action: &str) -> oneclaw_core::audit::AuditEvent {
    use oneclaw_core::clock::{Clock, SystemClock};
    use oneclaw_core::principal::{PrincipalRef, RequestMeta, Surface};
    let meta = RequestMeta {
        ip: Some("127.0.0.1".parse().unwrap()),
        user_agent: Some("journal-test".to_owned()),
        ..RequestMeta::internal(Surface::Api)
    };
    let who = PrincipalRef::user(oneclaw_core::ids::UserId::generate());
    oneclaw_core::audit::AuditEvent::by_principal(who, org, &meta, action, "test", SystemClock.now())
        .resource(uuid::Uuid::now_v7())
        .detail("path", "a/b")
}
