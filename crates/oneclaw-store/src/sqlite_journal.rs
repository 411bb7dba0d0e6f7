//! The SQLite audit journal's batch writer: a thread of its own with a rusqlite connection
//! that writes a whole batch (its records chained, webhook deliveries enqueued, request
//! counts added) in one transaction, handed over and answered once.
//!
//! Why: through sqlx-sqlite each statement is a round trip to the connection's worker thread,
//! and a batch took about eight of them (BEGIN, SAVEPOINT, head, INSERT, head UPDATE,
//! RELEASE, COMMIT and the pool's own): under the secret-read load a batch of ~16 reads'
//! records spent ~1.3 ms mostly in thread wake-ups, and the reads waited for it. Here the
//! batch is one hand-over, and the statements run back to back.
//!
//! The writer takes the write gate's turn (`WriteGroup::quiet_turn`) before it begins, and
//! only while no group transaction is open: so no connection of the sqlx pool holds or takes
//! the database's write lock while it writes, and writers stay in one queue. While a group is
//! open the batch joins it through sqlx as before. The links are computed by the same code as
//! the sqlx path's (`sql_audit::link_events`), under the same lock, so the chain is one chain.
//! Durability is the same: WAL with `synchronous=FULL`, and no caller is answered before the
//! COMMIT has returned.

use crate::convert::{from_ms, to_json_text, to_ms};
use crate::sql_audit::{
    EVENT_TIME_SQL, INSERT_EMPTY_HEAD_SQL, INSERT_EVENT_SQL, OrgHead, UPDATE_HEAD_SQL, link_events, orgs_in_order,
};
use crate::sql_billing::ADD_REQUESTS_SQL;
use crate::sql_webhooks::{ENQUEUE_SQL, SUBSCRIBED_SQL, Subscriptions, subscribed_pattern};
use crate::write_gate::WriteTurn;
use oneclaw_core::audit::AuditEvent;
use oneclaw_core::audit::chain::{GENESIS, Head};
use oneclaw_core::ids::OrgId;
use oneclaw_core::ports::RequestCount;
use oneclaw_core::webhooks::event_type;
use oneclaw_core::{Error, Result};
use rusqlite::{Connection, OpenFlags, OptionalExtension, ToSql, TransactionBehavior};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::oneshot;

/// One batch handed to the writer thread.
struct Job {
    events: Vec<AuditEvent>,
    counts: Vec<RequestCount>,
    subscriptions: Arc<Subscriptions>,
    /// Held until the transaction has ended, committed or not.
    turn: WriteTurn,
    done: oneshot::Sender<Result<()>>,
}

/// The writer thread's mailbox. Dropping it ends the thread and waits for it, so the
/// database file is closed before the store's hold on it (`backup::InUse`) is let go.
pub(crate) struct JournalWriter {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Batches this writer has committed (tests tell which path a batch took).
    #[cfg(test)]
    written: Arc<AtomicU64>,
}

/// A batch the writer could not take (its thread is gone), handed back to be written another way.
pub(crate) struct NotTaken(pub(crate) Vec<AuditEvent>, pub(crate) Vec<RequestCount>);

impl JournalWriter {
    /// Starts the writer for the database file sqlx opened (and migrated) from `url`; `None`
    /// for an in-memory database, which a connection of another library cannot see, or if the
    /// thread cannot be started: then batches go through sqlx.
    pub(crate) fn for_database(url: &str, file: PathBuf) -> Option<Self> {
        if !crate::backup::file_backed(url, &file) {
            return None;
        }
        let (jobs, inbox) = mpsc::channel::<Job>();
        let written = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&written);
        let started = std::thread::Builder::new()
            .name("oneclaw-audit-writer".to_owned())
            .spawn(move || run(&file, &inbox, &counted));
        match started {
            Ok(thread) => Some(Self {
                jobs: Some(jobs),
                thread: Some(thread),
                #[cfg(test)]
                written,
            }),
            Err(err) => {
                tracing::warn!(error = %err, "cannot start the audit writer thread; audit batches go through sqlx");
                None
            }
        }
    }

    /// Writes a batch in `turn` (see `WriteGroup::quiet_turn`), answering once it is committed
    /// or has failed; `Err(NotTaken)` if the thread is gone (the turn is given up).
    pub(crate) async fn write(
        &self,
        events: Vec<AuditEvent>,
        counts: Vec<RequestCount>,
        subscriptions: Arc<Subscriptions>,
        turn: WriteTurn,
    ) -> std::result::Result<Result<()>, NotTaken> {
        let (done, answer) = oneshot::channel();
        let job = Job { events, counts, subscriptions, turn, done };
        let Some(jobs) = &self.jobs else { return Err(NotTaken(job.events, job.counts)) };
        if let Err(mpsc::SendError(job)) = jobs.send(job) {
            return Err(NotTaken(job.events, job.counts));
        }
        // No answer means the thread ended inside the batch: whether it committed is unknown,
        // so the callers are refused (fail closed).
        Ok(answer.await.unwrap_or_else(|_| Err(stopped())))
    }

    /// Batches committed by this writer so far.
    #[cfg(test)]
    pub(crate) fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
}

impl Drop for JournalWriter {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            // At most the batch in hand, which the busy timeout bounds.
            let _ = thread.join();
        }
    }
}

fn stopped() -> Error {
    Error::Unavailable("The audit writer has stopped, so the request was refused.".to_owned())
}

/// The thread: one batch at a time, on one connection, reopened after a failure so a broken
/// connection is never reused. A panic inside a batch fails that batch (its transaction rolls
/// back as it unwinds) and the thread goes on.
fn run(file: &std::path::Path, inbox: &mpsc::Receiver<Job>, written: &AtomicU64) {
    let mut connection: Option<Connection> = None;
    while let Ok(job) = inbox.recv() {
        let Job { events, counts, subscriptions, turn, done } = job;
        let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let open = match connection.as_mut() {
                Some(open) => open,
                None => connection.insert(open(file)?),
            };
            write_batch(open, &events, &counts, &subscriptions)
        }));
        let result = attempt.unwrap_or_else(|_| {
            Err(Error::Unavailable("The audit writer failed inside a batch; nothing of it was recorded.".to_owned()))
        });
        match &result {
            Ok(()) => {
                written.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => connection = None,
        }
        // The transaction has ended (committed, or rolled back when it was dropped).
        drop(turn);
        let _ = done.send(result);
    }
}

fn open(file: &std::path::Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(file, flags).map_err(write_error)?;
    connection.busy_timeout(Duration::from_secs(5)).map_err(write_error)?;
    // The store's own settings (`sqlite.rs`): a commit is durable when it returns.
    let mode: String = connection.query_row("PRAGMA journal_mode", [], |row| row.get(0)).map_err(write_error)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Internal(format!("the database is in journal mode {mode}, not WAL")));
    }
    connection.pragma_update(None, "synchronous", "FULL").map_err(write_error)?;
    connection.pragma_update(None, "foreign_keys", true).map_err(write_error)?;
    connection.pragma_update(None, "temp_store", "MEMORY").map_err(write_error)?;
    connection.set_prepared_statement_cache_capacity(16);
    Ok(connection)
}

/// One batch, one transaction: what `append_audits` and `add_requests` do through sqlx.
fn write_batch(
    connection: &mut Connection,
    events: &[AuditEvent],
    counts: &[RequestCount],
    subscriptions: &Subscriptions,
) -> Result<()> {
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(write_error)?;
    if !crate::audit_skipped() {
        append(&tx, events)?;
    }
    enqueue_deliveries(&tx, subscriptions, events)?;
    let mut add = tx.prepare_cached(ADD_REQUESTS_SQL).map_err(write_error)?;
    for count in counts {
        let month: &str = &count.month;
        let values: [&dyn ToSql; 3] = [&count.org.0, &month, &count.n];
        let params = named(&add, &values)?;
        let _requests: i64 = add.query_row(params.as_slice(), |row| row.get(0)).map_err(write_error)?;
    }
    drop(add);
    tx.commit().map_err(write_error)
}

fn append(tx: &rusqlite::Transaction<'_>, events: &[AuditEvent]) -> Result<()> {
    let mut heads = Vec::new();
    for org in orgs_in_order(events) {
        heads.push(locked_head(tx, org)?);
    }
    let linked = link_events(events, &mut heads)?;
    let mut insert = tx.prepare_cached(INSERT_EVENT_SQL).map_err(write_error)?;
    for (event, link) in &linked {
        let details = to_json_text(&event.details);
        let values: [&dyn ToSql; 16] = [
            &event.id.0,
            &event.org_id.0,
            &event.actor_type,
            &event.actor_id,
            &event.action,
            &event.resource_type,
            &event.resource_id,
            &details,
            &event.ip_address,
            &event.user_agent,
            &event.surface,
            &event.outcome.as_str(),
            &to_ms(event.created_at),
            &link.seq,
            &&link.prev_hash[..],
            &&link.hash[..],
        ];
        let params = named(&insert, &values)?;
        insert.execute(params.as_slice()).map_err(write_error)?;
    }
    let mut update = tx.prepare_cached(UPDATE_HEAD_SQL).map_err(write_error)?;
    for OrgHead { org, head, .. } in &heads {
        let values: [&dyn ToSql; 3] = [&org.0, &head.seq, &&head.hash[..]];
        let params = named(&update, &values)?;
        update.execute(params.as_slice()).map_err(write_error)?;
    }
    Ok(())
}

/// The org's head and its newest event's time, the head created empty if the org has none.
fn locked_head(tx: &rusqlite::Transaction<'_>, org: OrgId) -> Result<OrgHead> {
    if let Some(found) = head_for_append(tx, org)? {
        return Ok(found);
    }
    let mut insert = tx.prepare_cached(INSERT_EMPTY_HEAD_SQL).map_err(write_error)?;
    let values: [&dyn ToSql; 2] = [&org.0, &&GENESIS[..]];
    let params = named(&insert, &values)?;
    insert.execute(params.as_slice()).map_err(write_error)?;
    head_for_append(tx, org)?.ok_or_else(|| Error::Internal("the audit head vanished".to_owned()))
}

fn head_for_append(tx: &rusqlite::Transaction<'_>, org: OrgId) -> Result<Option<OrgHead>> {
    let sql = <sqlx::Sqlite as crate::backend::SqlBackend>::SELECT_HEAD_FOR_APPEND;
    let mut select = tx.prepare_cached(sql).map_err(write_error)?;
    let values: [&dyn ToSql; 1] = [&org.0];
    let params = named(&select, &values)?;
    let found: Option<(i64, Vec<u8>, Option<i64>)> = select
        .query_row(params.as_slice(), |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()
        .map_err(write_error)?;
    let Some((seq, hash, newest)) = found else { return Ok(None) };
    let head = Head { seq, hash: crate::sql_audit::hash32(hash)? };
    let newest = match newest {
        Some(at) => from_ms(at)?,
        None if seq == 0 => OffsetDateTime::UNIX_EPOCH,
        None => {
            let mut select = tx.prepare_cached(EVENT_TIME_SQL).map_err(write_error)?;
            let values: [&dyn ToSql; 2] = [&org.0, &seq];
            let params = named(&select, &values)?;
            let at: Option<i64> =
                select.query_row(params.as_slice(), |row| row.get(0)).optional().map_err(write_error)?;
            at.map_or(Ok(OffsetDateTime::UNIX_EPOCH), from_ms)?
        }
    };
    Ok(Some(OrgHead { org, head, newest }))
}

/// A delivery of each event to every active webhook of its org subscribed to its type (as
/// `sql_webhooks::enqueue`).
fn enqueue_deliveries(
    tx: &rusqlite::Transaction<'_>,
    subscriptions: &Subscriptions,
    events: &[AuditEvent],
) -> Result<()> {
    for event in events {
        let Some(kind) = event_type(event) else { continue };
        let types = match subscriptions.held(event.org_id) {
            Ok(types) => types,
            Err(seen) => {
                let mut select = tx.prepare_cached(SUBSCRIBED_SQL).map_err(write_error)?;
                let values: [&dyn ToSql; 2] = [&event.org_id.0, &true];
                let params = named(&select, &values)?;
                let lists: Vec<String> = select
                    .query_map(params.as_slice(), |row| row.get(0))
                    .and_then(|rows| rows.collect::<rusqlite::Result<Vec<String>>>())
                    .map_err(write_error)?;
                subscriptions.remember(event.org_id, &lists, seen)
            }
        };
        if !types.iter().any(|t| t == kind) {
            continue;
        }
        let at = to_ms(event.created_at);
        let pattern = subscribed_pattern(kind);
        let mut insert = tx.prepare_cached(ENQUEUE_SQL).map_err(write_error)?;
        let values: [&dyn ToSql; 6] = [&event.id.0, &kind, &at, &event.org_id.0, &true, &pattern];
        let params = named(&insert, &values)?;
        insert.execute(params.as_slice()).map_err(write_error)?;
    }
    Ok(())
}

/// Binds `values` to `$1`, `$2`, …: to SQLite `$N` is a name, numbered by first appearance.
/// Every parameter of the statement must have its value: SQLite would leave a missing one
/// NULL, and a record's hash would cover a value that was never stored.
fn named<'a>(
    statement: &rusqlite::Statement<'_>,
    values: &'a [&'a dyn ToSql],
) -> Result<Vec<(&'static str, &'a dyn ToSql)>> {
    if statement.parameter_count() != values.len() || values.len() > PLACEHOLDERS.len() {
        return Err(Error::Internal(format!(
            "an audit writer statement takes {} values, given {}",
            statement.parameter_count(),
            values.len()
        )));
    }
    Ok(PLACEHOLDERS.into_iter().zip(values.iter().copied()).collect())
}

const PLACEHOLDERS: [&str; 16] =
    ["$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15", "$16"];

/// Any failure refuses the batch: its callers are told, and nothing of it is committed.
fn write_error(err: rusqlite::Error) -> Error {
    match &err {
        rusqlite::Error::SqliteFailure(code, _)
            if matches!(code.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) =>
        {
            Error::Unavailable("the database is busy".to_owned())
        }
        _ => {
            // The message names a statement or a column, never a value: values are bound.
            tracing::error!(error = %err, "audit batch write failed");
            Error::Unavailable(
                "The audit log cannot be written, so the action was refused and nothing changed.".to_owned(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::sqlite::SqliteStore;
    use crate::test_support::{assert_chain_whole, event, refuse_records_marked, store_with_orgs};
    use oneclaw_core::clock::{Clock, SystemClock};
    use oneclaw_core::ids::OrgId;
    use oneclaw_core::model::Org;
    use oneclaw_core::ports::store::{AuditStore, BillingStore};
    use oneclaw_core::ports::{RequestCount, Store};

    const MONTH: &str = "2026-12";

    fn count(org: OrgId, n: i64) -> RequestCount {
        RequestCount { org, month: MONTH.to_owned(), n }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_with_no_group_open_is_written_by_the_writer_on_the_same_chain_as_transactions() {
        let (store, orgs, _dir) = store_with_orgs(&["a", "b"]).await;
        let (a, b) = (orgs[0], orgs[1]);
        let mut tx = store.begin().await.unwrap();
        tx.append_audit(&event(a, "before.batch")).await.unwrap();
        tx.commit().await.unwrap();

        let batch = vec![event(a, "in.batch.1"), event(b, "in.batch.1"), event(a, "in.batch.2")];
        store.append_audit_batch(batch, vec![count(a, 2), count(b, 1)]).await.unwrap();
        assert_eq!(store.journal_writer().unwrap().written(), 1, "the batch took the writer's path");

        let mut tx = store.begin().await.unwrap();
        tx.append_audit(&event(a, "after.batch")).await.unwrap();
        tx.commit().await.unwrap();

        assert_chain_whole(&store, a, 4).await;
        assert_chain_whole(&store, b, 1).await;
        let actions: Vec<String> = store.audit_chain(a, 0, 10).await.unwrap().into_iter().map(|e| e.action).collect();
        assert_eq!(actions, ["before.batch", "in.batch.1", "in.batch.2", "after.batch"]);
        assert_eq!(store.requests_in(a, MONTH).await.unwrap(), 2);
        assert_eq!(store.requests_in(b, MONTH).await.unwrap(), 1);

        // Counts add up across batches, as the sqlx path's upsert does.
        store.append_audit_batch(vec![event(a, "again")], vec![count(a, 5)]).await.unwrap();
        assert_eq!(store.requests_in(a, MONTH).await.unwrap(), 7);
        assert_eq!(store.journal_writer().unwrap().written(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_that_fails_midway_commits_nothing_is_refused_and_the_writer_goes_on() {
        let (store, orgs, _dir) = store_with_orgs(&["a"]).await;
        let a = orgs[0];
        store.append_audit_batch(vec![event(a, "first")], vec![count(a, 1)]).await.unwrap();
        // A fault in the middle of the batch: its second record cannot be inserted.
        refuse_records_marked(&store).await;
        let head_before = store.audit_head(a).await.unwrap();

        let refused = store.append_audit_batch(vec![event(a, "fine"), event(a, "refuse.me")], vec![count(a, 2)]).await;
        assert!(matches!(refused, Err(oneclaw_core::Error::Unavailable(_))), "{refused:?}");
        assert_eq!(store.audit_head(a).await.unwrap(), head_before, "no record of the batch was committed");
        assert_eq!(store.requests_in(a, MONTH).await.unwrap(), 1, "no count of the batch was committed");
        assert_chain_whole(&store, a, 1).await;

        // The failed connection is not reused; the next batch is written whole.
        store.append_audit_batch(vec![event(a, "later")], vec![count(a, 1)]).await.unwrap();
        assert_chain_whole(&store, a, 2).await;
        assert_eq!(store.requests_in(a, MONTH).await.unwrap(), 2);
        assert_eq!(store.journal_writer().unwrap().written(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_waits_for_a_writer_in_its_turn_and_then_sees_its_change() {
        let (store, orgs, _dir) = store_with_orgs(&["a"]).await;
        let a = orgs[0];
        let store = std::sync::Arc::new(store);
        // An ordinary writer holds the turn (and the write lock) with an event appended.
        let mut tx = store.begin().await.unwrap();
        tx.append_audit(&event(a, "held")).await.unwrap();
        let batch = {
            let store = std::sync::Arc::clone(&store);
            tokio::spawn(async move { store.append_audit_batch(vec![event(a, "queued")], vec![count(a, 1)]).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(!batch.is_finished(), "the batch waits for the writer's turn");
        tx.commit().await.unwrap();
        batch.await.unwrap().unwrap();
        // Queued first for the turn, the batch found the writer's group still uncommitted
        // and joined it through sqlx rather than take the write lock beside it.
        assert_eq!(store.journal_writer().unwrap().written(), 0);
        let actions: Vec<String> = store.audit_chain(a, 0, 10).await.unwrap().into_iter().map(|e| e.action).collect();
        assert_eq!(actions, ["held", "queued"]);
        assert_eq!(store.requests_in(a, MONTH).await.unwrap(), 1);
        // With nothing open, the next batch is the writer's, on the same chain.
        store.append_audit_batch(vec![event(a, "quiet")], vec![count(a, 1)]).await.unwrap();
        assert_eq!(store.journal_writer().unwrap().written(), 1);
        assert_chain_whole(&store, a, 3).await;
        assert_eq!(store.requests_in(a, MONTH).await.unwrap(), 2);
    }

    #[tokio::test]
    async fn an_in_memory_database_has_no_writer_and_its_batches_go_through_sqlx() {
        let store = SqliteStore::open("sqlite::memory:").await.unwrap();
        assert!(store.journal_writer().is_none());
        let org = Org { id: OrgId::generate(), name: "m".to_owned(), created_at: SystemClock.now() };
        let mut tx = store.begin().await.unwrap();
        tx.insert_org(&org).await.unwrap();
        tx.commit().await.unwrap();
        store.append_audit_batch(vec![event(org.id, "in.memory")], vec![count(org.id, 1)]).await.unwrap();
        assert_chain_whole(&store, org.id, 1).await;
        assert_eq!(store.requests_in(org.id, MONTH).await.unwrap(), 1);
    }
}
