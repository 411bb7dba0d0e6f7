//! The SQLite audit journal's filter indexes, kept in bulk: the writer appends a batch's
//! records with `indexed = 0` (in none of the actor, resource and action indexes, which are
//! partial: migration 21), and once enough have gathered it marks them indexed in one go, in
//! the same transaction as a batch.
//!
//! Why: a batch of ~10 reads' records touched one leaf page of each index, and every page a
//! transaction touches is a whole page in the WAL (written, then fsynced): the three filter
//! indexes were a third of a batch's bytes (measured: 37 KB a batch without them against 73 KB
//! with them and the index on time). Indexed in thousands, each of their pages holds a hundred
//! records' entries. A filtered query reads the records past the org's mark by sequence number
//! (`sql_audit_query.rs`), so nothing is missing from an answer meanwhile.

use crate::sqlite_journal::write_error;
use oneclaw_core::Result;
use oneclaw_core::audit::AuditEvent;
use oneclaw_core::ids::OrgId;
use std::collections::BTreeSet;

/// Records appended unindexed before they are indexed together: about a hundred batches
/// under load. One fold rewrites the rows it marks, so it costs its batch ~2 ms more.
const FOLD_AFTER: usize = 1024;

/// The records in an org's chain past its mark, marked indexed (those written another way
/// already are).
const INDEX_PAST_MARK_SQL: &str = "UPDATE audit_events SET indexed = 1 WHERE org_id = $1 AND indexed = 0 \
     AND seq > (SELECT COALESCE(MAX(seq), 0) FROM audit_index_marks WHERE org_id = $1)";
/// The org's mark moved to its head: every record up to it is indexed.
const MARK_AT_HEAD_SQL: &str = "INSERT INTO audit_index_marks (org_id, seq) \
     SELECT org_id, seq FROM audit_heads WHERE org_id = $1 \
     ON CONFLICT (org_id) DO UPDATE SET seq = excluded.seq";
/// Every org with records past its mark (the first fold after a start: a process that ended
/// between folds left some).
const ORGS_PAST_MARK_SQL: &str = "SELECT h.org_id FROM audit_heads h \
     LEFT JOIN audit_index_marks m ON m.org_id = h.org_id WHERE h.seq > COALESCE(m.seq, 0)";

/// What the writer has appended unindexed since its last fold.
#[derive(Default)]
pub(crate) struct Folds {
    pending: usize,
    orgs: BTreeSet<OrgId>,
    /// Whether a fold has committed since the writer started: until then, orgs this writer
    /// never saw may have unindexed records.
    swept: bool,
}

impl Folds {
    /// Notes a batch's records, appended unindexed in the transaction being written.
    pub(crate) fn appended(&mut self, events: &[AuditEvent]) {
        self.pending = self.pending.saturating_add(events.len());
        self.orgs.extend(events.iter().map(|event| event.org_id));
    }

    /// Folds in `tx` if enough is pending (or none has since the start); `true` if it did, and
    /// then `committed` must follow the transaction's commit. A transaction that fails rolls
    /// the fold back with it, and the records stay pending.
    pub(crate) fn fold_if_due(&self, tx: &rusqlite::Transaction<'_>) -> Result<bool> {
        if self.swept && self.pending < FOLD_AFTER {
            return Ok(false);
        }
        let mut orgs: BTreeSet<OrgId> = self.orgs.clone();
        if !self.swept {
            let mut select = tx.prepare_cached(ORGS_PAST_MARK_SQL).map_err(write_error)?;
            let found = select
                .query_map([], |row| row.get::<_, uuid::Uuid>(0))
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(write_error)?;
            orgs.extend(found.into_iter().map(OrgId));
        }
        for org in &orgs {
            tx.prepare_cached(INDEX_PAST_MARK_SQL)
                .and_then(|mut update| update.execute(rusqlite::named_params! { "$1": org.0 }))
                .map_err(write_error)?;
            tx.prepare_cached(MARK_AT_HEAD_SQL)
                .and_then(|mut mark| mark.execute(rusqlite::named_params! { "$1": org.0 }))
                .map_err(write_error)?;
        }
        Ok(true)
    }

    /// The fold's transaction committed: nothing is pending.
    pub(crate) fn committed(&mut self) {
        self.pending = 0;
        self.orgs.clear();
        self.swept = true;
    }
}

#[cfg(test)]
mod tests {
    use super::FOLD_AFTER;
    use crate::sqlite::SqliteStore;
    use crate::test_support::{event, store_with_orgs};
    use oneclaw_core::audit::AuditEvent;
    use oneclaw_core::ids::OrgId;
    use oneclaw_core::ports::store::AuditStore;
    use oneclaw_core::ports::{AuditQuery, Store};

    async fn unindexed(store: &SqliteStore, org: OrgId) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE org_id = $1 AND indexed = 0")
            .bind(org.0)
            .fetch_one(store.pool())
            .await
            .unwrap()
    }

    /// Every filter a page can have, and what each must find among `events`, newest first.
    async fn assert_every_filter_finds(store: &SqliteStore, org: OrgId, events: &[AuditEvent]) {
        let newest_first: Vec<&AuditEvent> = events.iter().rev().collect();
        let ids = |found: Vec<AuditEvent>| found.into_iter().map(|e| e.id).collect::<Vec<_>>();
        let wanted = |keep: &dyn Fn(&AuditEvent) -> bool| {
            newest_first.iter().filter(|e| keep(e)).map(|e| e.id).collect::<Vec<_>>()
        };
        let page = |query: AuditQuery| async move { ids(store.audit_events(org, &query).await.unwrap()) };
        let some = events[events.len() / 3].clone();
        let all = AuditQuery { limit: 10_000, ..Default::default() };

        let by_action = AuditQuery { action: Some("folds.even".into()), ..all.clone() };
        assert_eq!(page(by_action).await, wanted(&|e| e.action == "folds.even"));
        let by_actor = AuditQuery { actor_id: some.actor_id, ..all.clone() };
        assert_eq!(page(by_actor).await, wanted(&|e| e.actor_id == some.actor_id));
        let by_resource = AuditQuery { resource_id: some.resource_id.clone(), ..all.clone() };
        assert_eq!(page(by_resource).await, wanted(&|e| e.resource_id == some.resource_id));
        let about = some.actor_id.unwrap_or_default();
        let by_about = AuditQuery { about: Some(about), ..all.clone() };
        assert_eq!(page(by_about).await, wanted(&|e| e.actor_id == Some(about)));
        // Pages of one filter, straddling indexed and unindexed records, in order and whole.
        let mut paged = Vec::new();
        for offset in (0..events.len()).step_by(7) {
            let query = AuditQuery {
                action: Some("folds.odd".into()),
                limit: 7,
                offset: i64::try_from(offset).unwrap(),
                ..Default::default()
            };
            paged.extend(page(query).await);
        }
        assert_eq!(paged, wanted(&|e| e.action == "folds.odd"), "pages of 7, every record once");
    }

    fn events(org: OrgId, n: usize) -> Vec<AuditEvent> {
        (0..n).map(|i| event(org, if i % 2 == 0 { "folds.even" } else { "folds.odd" })).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn records_are_found_by_every_filter_before_and_after_their_indexes_are_kept() {
        let (store, orgs, _dir) = store_with_orgs(&["a", "b"]).await;
        let (a, b) = (orgs[0], orgs[1]);
        let mut written: Vec<AuditEvent> = Vec::new();
        // The first batch since the start folds (a sweep for what a stopped process left).
        let first = events(a, 10);
        store.append_audit_batch(first.clone(), Vec::new()).await.unwrap();
        written.extend(first);
        assert_eq!(unindexed(&store, a).await, 0);
        // Then batches stay unindexed until enough have gathered; another org's beside them.
        let mut pending = 0;
        while pending + 100 < FOLD_AFTER {
            let batch = events(a, 100);
            store.append_audit_batch([batch.clone(), events(b, 3)].concat(), Vec::new()).await.unwrap();
            written.extend(batch);
            pending += 103;
        }
        assert_eq!(unindexed(&store, a).await, i64::try_from(written.len() - 10).unwrap());
        assert_every_filter_finds(&store, a, &written).await;

        // A record written another way (in a transaction) is indexed at once, between them.
        let mut tx = store.begin().await.unwrap();
        let other_way = event(a, "folds.odd");
        tx.append_audit(&other_way).await.unwrap();
        tx.commit().await.unwrap();
        written.push(other_way);
        assert_every_filter_finds(&store, a, &written).await;

        // The batch that reaches the threshold folds every pending record of both orgs.
        let last = events(a, 200);
        store.append_audit_batch(last.clone(), Vec::new()).await.unwrap();
        written.extend(last);
        assert_eq!((unindexed(&store, a).await, unindexed(&store, b).await), (0, 0));
        assert_every_filter_finds(&store, a, &written).await;
        assert_eq!(store.audit_head(a).await.unwrap().seq, i64::try_from(written.len()).unwrap(), "one chain");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn records_a_stopped_process_left_unindexed_are_indexed_by_the_next_ones_first_batch() {
        let (store, orgs, dir) = store_with_orgs(&["a", "b"]).await;
        let (a, b) = (orgs[0], orgs[1]);
        store.append_audit_batch(events(a, 1), Vec::new()).await.unwrap();
        let left = [events(a, 20), events(b, 20)].concat();
        store.append_audit_batch(left.clone(), Vec::new()).await.unwrap();
        assert_eq!((unindexed(&store, a).await, unindexed(&store, b).await), (20, 20));
        drop(store);

        let store = SqliteStore::open(&crate::default_sqlite_url(dir.path())).await.unwrap();
        let b_left: Vec<AuditEvent> = left.iter().filter(|e| e.org_id == b).cloned().collect();
        assert_every_filter_finds(&store, b, &b_left).await;
        // The new process's first batch (of org a alone) sweeps org b's too.
        store.append_audit_batch(events(a, 1), Vec::new()).await.unwrap();
        assert_eq!((unindexed(&store, a).await, unindexed(&store, b).await), (0, 0));
        assert_every_filter_finds(&store, b, &b_left).await;
    }
}
