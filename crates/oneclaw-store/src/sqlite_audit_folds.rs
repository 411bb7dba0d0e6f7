//! The SQLite audit journal's filter indexes, kept in bulk: the writer appends a batch's
//! records with `indexed = 0` (in none of the actor, resource and action indexes, which are
//! partial, only in the small `audit_unindexed`: migration 21), and once enough have gathered
//! it marks them all indexed in one statement, in the same transaction as a batch.
//!
//! Why: a batch of ~10 reads' records touched one leaf page of each index, and every page a
//! transaction touches is a whole page in the WAL (written, then fsynced): the three filter
//! indexes were a third of a batch's bytes (measured: 37 KB a batch without them against 73 KB
//! with them and the index on time). Indexed a thousand at a time, each of their pages holds
//! a hundred records' entries. A filtered query also reads the unindexed records, through
//! `audit_unindexed` (`sql_audit_query.rs`), so nothing is missing from an answer meanwhile,
//! and their number stays bounded: at most `FOLD_AFTER` and a batch, plus what a stopped
//! process left (folded with the next ones).

use crate::sqlite_journal::write_error;
use oneclaw_core::Result;

/// Records appended unindexed before they are indexed together: about a hundred batches
/// under load. A fold rewrites the rows it marks, so it costs its batch a few ms more.
pub(crate) const FOLD_AFTER: usize = 1024;

/// Every unindexed record marked indexed (found through `audit_unindexed`).
const INDEX_ALL_SQL: &str = "UPDATE audit_events SET indexed = 1 WHERE indexed = 0";

/// How many records the writer has appended unindexed since its last fold.
#[derive(Default)]
pub(crate) struct Folds {
    pending: usize,
}

impl Folds {
    /// Notes `n` records appended unindexed in the transaction being written.
    pub(crate) fn appended(&mut self, n: usize) {
        self.pending = self.pending.saturating_add(n);
    }

    /// Folds in `tx` if enough is pending; `true` if it did, and then `committed` must follow
    /// the transaction's commit. A transaction that fails rolls the fold back with it, and the
    /// records stay pending.
    pub(crate) fn fold_if_due(&self, tx: &rusqlite::Transaction<'_>) -> Result<bool> {
        if self.pending < FOLD_AFTER {
            return Ok(false);
        }
        tx.prepare_cached(INDEX_ALL_SQL).and_then(|mut update| update.execute([])).map_err(write_error)?;
        Ok(true)
    }

    /// The fold's transaction committed: nothing is pending.
    pub(crate) fn committed(&mut self) {
        self.pending = 0;
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
        // Batches stay unindexed until enough have gathered; another org's beside them.
        let mut pending = 0;
        while pending + 103 < FOLD_AFTER {
            let batch = events(a, 100);
            store.append_audit_batch([batch.clone(), events(b, 3)].concat(), Vec::new()).await.unwrap();
            written.extend(batch);
            pending += 103;
        }
        assert_eq!(unindexed(&store, a).await, i64::try_from(written.len()).unwrap());
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
    async fn records_a_stopped_process_left_unindexed_are_found_and_folded_with_the_next_ones() {
        let (store, orgs, dir) = store_with_orgs(&["a", "b"]).await;
        let (a, b) = (orgs[0], orgs[1]);
        let left = [events(a, 20), events(b, 20)].concat();
        store.append_audit_batch(left.clone(), Vec::new()).await.unwrap();
        assert_eq!((unindexed(&store, a).await, unindexed(&store, b).await), (20, 20));
        drop(store);

        let store = SqliteStore::open(&crate::default_sqlite_url(dir.path())).await.unwrap();
        let b_left: Vec<AuditEvent> = left.iter().filter(|e| e.org_id == b).cloned().collect();
        assert_every_filter_finds(&store, b, &b_left).await;
        // The new process's first fold (reached by org a's records alone) takes org b's too.
        store.append_audit_batch(events(a, FOLD_AFTER), Vec::new()).await.unwrap();
        assert_eq!((unindexed(&store, a).await, unindexed(&store, b).await), (0, 0));
        assert_every_filter_finds(&store, b, &b_left).await;
    }
}
