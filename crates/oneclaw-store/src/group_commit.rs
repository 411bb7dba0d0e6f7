//! Group commit of SQLite write transactions: many writers' changes, one commit, one fsync.
//!
//! SQLite takes one writer at a time and, with `synchronous=FULL`, every commit waits for an
//! fsync of the WAL. Committing each request's transaction on its own spends most of a write's
//! time in that fsync, with the lock held. Here the writers of a moment share one transaction:
//!
//! * the first writer opens it (`BEGIN IMMEDIATE`); each writer, in its turn at the write gate,
//!   works inside a savepoint of its own (`SAVEPOINT m0`, `m1`, …: numbered, so undoing one
//!   can never reach an earlier writer's work);
//! * a writer that commits releases its savepoint, hands the transaction back and waits: it is
//!   answered only once the shared transaction is committed and durable, with that commit's
//!   result, so nothing is acknowledged before it is on disk;
//! * a writer that fails or is dropped leaves its savepoint to be rolled back, so its changes
//!   never reach the commit and the others' are untouched;
//! * a committer task commits the group when no writer holds or awaits a turn, or when the
//!   group is full or has waited [`MOST_WAIT`]. If that commit fails, every writer in the group
//!   gets the error: all of them were unanswered, so none was acknowledged.
//!
//! Writers within a group see each other's released changes, as they would had each committed
//! in turn; readers on other connections see none of them until the group commits, and no
//! writer has been answered before then. PostgreSQL commits concurrently on its own and does
//! not use this.

use crate::backend::{SqlBackend, Statement, Tx};
use crate::errors::db_error;
use crate::hot_reads::HotReads;
use crate::write_gate::WriteGate;
use oneclaw_core::{Error, Result};
use sqlx::Pool;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, oneshot};

/// The longest a group stays open for writers still at work once one has finished: the most a
/// commit adds to a write's latency. A lone writer is committed at once.
const MOST_WAIT: Duration = Duration::from_millis(2);

/// Most writers committed together.
const MOST_MEMBERS: usize = 256;

/// The group of one SQLite store.
pub(crate) struct WriteGroup<DB: SqlBackend> {
    pool: Pool<DB>,
    gate: Arc<WriteGate>,
    /// Kept secret reads, stale once a group commits.
    reads: Arc<HotReads>,
    shared: Mutex<Shared<DB>>,
    /// Writers waiting for their turn or holding it: while any are, the group waits for them.
    active: AtomicUsize,
    wake: Arc<Notify>,
    /// Group transactions committed (or failed at commit).
    commits: AtomicU64,
    /// [`MOST_WAIT`], in microseconds (tests make it longer so that their groups form however
    /// slowly a debug build runs).
    most_wait_micros: AtomicU64,
}

struct Shared<DB: SqlBackend> {
    /// The open group transaction while no writer holds it.
    tx: Option<Tx<DB>>,
    /// When its first writer finished and began to wait for the commit.
    first_waiting: Option<Instant>,
    /// Writers whose changes are in it, waiting for its commit.
    members: Vec<oneshot::Sender<Result<()>>>,
    /// Writers that left without committing: their savepoints, to be rolled back in order.
    /// Cleared only once undone, so a holder dropped mid-undo leaves them to the next.
    abandoned: Vec<usize>,
    /// An undo asked SQLite whether the transaction still exists (`undo_abandoned`) and did not
    /// hear back: it may have ended, and the probe may have begun another. Until a probe
    /// answers, the transaction cannot be trusted, and the next holder discards it.
    suspect: bool,
    /// Writers that have entered the open transaction: the next one's savepoint number.
    entered: usize,
}

/// A writer on its way to a turn, or in one; counted until it hands the transaction back.
pub(crate) struct Arrival<DB: SqlBackend>(Arc<WriteGroup<DB>>);

impl<DB: SqlBackend> Drop for Arrival<DB> {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::AcqRel);
        self.0.wake.notify_one();
    }
}

/// A writer's hold on the group transaction, from its turn until it commits or is dropped.
pub(crate) struct Membership<DB: SqlBackend> {
    group: Arc<WriteGroup<DB>>,
    /// This writer's savepoint number in the group transaction.
    savepoint: usize,
    _arrival: Arrival<DB>,
}

impl<DB: SqlBackend> WriteGroup<DB> {
    /// The group of a store, with its committer task on the current runtime. The task ends
    /// when the store is dropped.
    pub(crate) fn start(pool: Pool<DB>, gate: Arc<WriteGate>, reads: Arc<HotReads>) -> Arc<Self> {
        let wake = Arc::new(Notify::new());
        let group = Arc::new(Self {
            pool,
            gate,
            reads,
            shared: Mutex::new(Shared {
                tx: None,
                first_waiting: None,
                members: Vec::new(),
                abandoned: Vec::new(),
                suspect: false,
                entered: 0,
            }),
            active: AtomicUsize::new(0),
            wake: Arc::clone(&wake),
            commits: AtomicU64::new(0),
            most_wait_micros: AtomicU64::new(u64::try_from(MOST_WAIT.as_micros()).unwrap_or(u64::MAX)),
        });
        let weak = Arc::downgrade(&group);
        tokio::spawn(committer(weak, wake));
        group
    }

    /// Keeps groups open up to `wait` for writers at work (tests).
    #[cfg(test)]
    pub(crate) fn wait_up_to(&self, wait: Duration) {
        self.most_wait_micros.store(u64::try_from(wait.as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Group transactions committed so far.
    #[cfg(test)]
    pub(crate) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Counts a writer in before it waits for its turn, so the group waits for it.
    pub(crate) fn arrive(self: &Arc<Self>) -> Arrival<DB> {
        self.active.fetch_add(1, Ordering::AcqRel);
        Arrival(Arc::clone(self))
    }

    /// Takes the group transaction for a writer in its turn: the open transaction, if any. The
    /// caller holds it from here on where a dropped future hands it back (`SqlTx`), then calls
    /// `Membership::prepare`.
    pub(crate) fn take(self: &Arc<Self>, arrival: Arrival<DB>) -> (Option<Tx<DB>>, Membership<DB>) {
        let mut shared = self.lock();
        let mut tx = shared.tx.take();
        if std::mem::take(&mut shared.suspect) {
            // Dropped (a rollback of whatever it holds now); its writers were not answered.
            tx = None;
            shared.abandoned.clear();
            let lost = Error::Unavailable("The shared write transaction was lost; nothing was changed.".to_owned());
            fail(&mut shared, &lost);
        }
        if tx.is_none() {
            if !shared.members.is_empty() {
                // Never so when every holder hands the transaction back; if it was lost anyway,
                // its writers were not committed and must not be told otherwise by the next group.
                let lost = Error::Unavailable("The shared write transaction was lost; nothing was changed.".to_owned());
                fail(&mut shared, &lost);
            }
            shared.entered = 0;
        }
        let savepoint = shared.entered;
        shared.entered += 1;
        (tx, Membership { group: Arc::clone(self), savepoint, _arrival: arrival })
    }

    /// The writer's turn at the gate, if no group transaction is open: then no writer of this
    /// store holds a write transaction or can begin one while the turn is held, so a writer
    /// on a connection of its own (`sqlite_journal.rs`) can take the write lock, at most after
    /// a short wait in SQLite's busy handler (a sqlx rollback still queued on its connection,
    /// a write outside the gate such as a login counter's, another process). `None` while a
    /// group is open: its writers' changes are not yet committed, and a batch joins it instead.
    pub(crate) async fn quiet_turn(&self) -> Result<Option<crate::write_gate::WriteTurn>> {
        let turn = self.gate.priority_turn().await?;
        let shared = self.lock();
        let quiet = shared.tx.is_none() && shared.members.is_empty() && shared.abandoned.is_empty() && !shared.suspect;
        Ok(quiet.then_some(turn))
    }

    async fn open(&self) -> Result<Tx<DB>> {
        DB::begin_write(&self.pool).await
    }

    /// The lock on the shared state; a panic elsewhere cannot leave it half changed (each
    /// holder makes one assignment or push), so a poisoned lock is taken as it is.
    fn lock(&self) -> std::sync::MutexGuard<'_, Shared<DB>> {
        self.shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn fail_members(&self, err: &Error) {
        fail(&mut self.lock(), err);
    }

    /// Commits the group once no writer is at work in it, or it is full or old enough.
    async fn commit_when_ready(&self) {
        loop {
            let (pending, members, since) = {
                let shared = self.lock();
                (!shared.members.is_empty() || !shared.abandoned.is_empty(), shared.members.len(), shared.first_waiting)
            };
            if !pending {
                return;
            }
            let most_wait = Duration::from_micros(self.most_wait_micros.load(Ordering::Relaxed));
            let waited = since.map_or(Duration::ZERO, |at| at.elapsed());
            if self.active.load(Ordering::Acquire) > 0 && members < MOST_MEMBERS && waited < most_wait {
                // A writer is at work or queued: it joins this commit. Each one wakes us as it
                // leaves; the deadline bounds the wait.
                let _ = tokio::time::timeout(most_wait - waited, self.wake.notified()).await;
                continue;
            }
            let Ok(_turn) = self.gate.priority_turn().await else {
                // A writer has held its turn past the gate's bound. Its members' changes are in
                // the transaction it holds, so nobody is told anything yet: wait again.
                tracing::warn!("the group commit waited past the write gate's bound for a writer's turn");
                continue;
            };
            let (tx, members) = {
                let mut shared = self.lock();
                shared.first_waiting = None;
                shared.entered = 0;
                let tx = if std::mem::take(&mut shared.suspect) { None } else { shared.tx.take() };
                (tx, std::mem::take(&mut shared.members))
            };
            let result = match tx {
                Some(tx) => {
                    let committed = self.commit(tx).await;
                    // Also for writers that left after handing their change in: it is
                    // committed now, and their own end came before it.
                    self.reads.changed();
                    self.commits.fetch_add(1, Ordering::Relaxed);
                    committed
                }
                None => {
                    Err(Error::Unavailable("The shared write transaction was lost; nothing was changed.".to_owned()))
                }
            };
            for member in members {
                let _ = member.send(result.as_ref().map(|_| ()).map_err(unavailable));
            }
        }
    }
}

impl<DB: SqlBackend> WriteGroup<DB> {
    /// Rolls back what writers that left without committing had done, each to its savepoint.
    /// `ROLLBACK TO` finding no savepoint means either that the writer left before its
    /// savepoint began or after its RELEASE ran (nothing to undo), or that SQLite ended the
    /// whole transaction after a statement failed (disk full, I/O error): then the earlier
    /// writers' work is gone too. `BEGIN` tells the two apart: inside a transaction it is
    /// refused; outside one it begins, and the group is reported lost. While the probe is
    /// unanswered the group is `suspect`, so a holder dropped mid-probe cannot hide the loss.
    async fn undo_abandoned(&self, tx: &mut Tx<DB>) -> Result<()> {
        let waiting = self.lock().abandoned.clone();
        for savepoint in waiting {
            let undo = sqlx::AssertSqlSafe(format!("ROLLBACK TO m{savepoint}"));
            match sqlx::query(undo).persistent(false).execute_on(&mut *tx).await {
                Ok(_) => {
                    let release = sqlx::AssertSqlSafe(format!("RELEASE m{savepoint}"));
                    sqlx::query(release).persistent(false).execute_on(&mut *tx).await.map_err(db_error)?;
                }
                Err(sqlx::Error::Database(db)) if db.message().contains("no such savepoint") => {
                    self.lock().suspect = true;
                    match sqlx::query("BEGIN IMMEDIATE").execute_on(&mut *tx).await {
                        Err(sqlx::Error::Database(db)) if db.message().contains("within a transaction") => {
                            self.lock().suspect = false;
                        }
                        Err(err) => return Err(db_error(err)),
                        Ok(_) => {
                            return Err(Error::Unavailable(
                                "The database ended the shared write transaction after an error; nothing was changed."
                                    .to_owned(),
                            ));
                        }
                    }
                }
                Err(err) => return Err(db_error(err)),
            }
            self.lock().abandoned.retain(|left| *left != savepoint);
        }
        Ok(())
    }

    async fn commit(&self, mut tx: Tx<DB>) -> Result<()> {
        self.undo_abandoned(&mut tx).await?;
        tx.commit().await.map_err(db_error)
    }
}

impl<DB: SqlBackend> Drop for WriteGroup<DB> {
    fn drop(&mut self) {
        // Ends the committer task.
        self.wake.notify_one();
    }
}

impl<DB: SqlBackend> Membership<DB> {
    /// After the writer's savepoint is released: hands the transaction back, the writer
    /// joining the commit to come. The caller still holds its turn, so nobody takes the
    /// transaction in between; it waits on the answer after giving the turn up.
    pub(crate) fn hand_back(self, tx: Tx<DB>) -> Committed {
        let (done, answer) = oneshot::channel();
        let mut shared = self.group.lock();
        if shared.members.is_empty() {
            shared.first_waiting = Some(Instant::now());
        }
        shared.members.push(done);
        shared.tx = Some(tx);
        Committed(answer)
    }

    /// The statement that releases this writer's savepoint into the group transaction.
    pub(crate) fn release_statement(&self) -> String {
        format!("RELEASE m{}", self.savepoint)
    }

    /// The writer failed or was dropped: its savepoint is rolled back before anyone goes on.
    /// (A writer dropped while its RELEASE was in flight is committed whole instead: the
    /// RELEASE still runs, and the savepoint is then no longer there to undo.)
    pub(crate) fn abandon(self, tx: Tx<DB>) {
        let mut shared = self.group.lock();
        shared.tx = Some(tx);
        shared.abandoned.push(self.savepoint);
    }

    /// Makes the writer's transaction ready in `slot`, which the writer holds so that a dropped
    /// future hands it back: undoes an abandoned writer's savepoint, opens the group transaction
    /// if none is open (or the old one proved broken), and starts this writer's savepoint.
    pub(crate) async fn prepare(&self, slot: &mut Option<Tx<DB>>) -> Result<()> {
        if let Some(tx) = slot.as_mut()
            && let Err(err) = self.group.undo_abandoned(tx).await
        {
            // Nobody in the group was answered: all of them fail, and it starts afresh.
            self.group.fail_members(&err);
            *slot = None;
        }
        if slot.is_none() {
            *slot = Some(self.group.open().await?);
        }
        let Some(tx) = slot.as_mut() else {
            return Err(Error::Internal("the write transaction has ended".to_owned()));
        };
        let begin = sqlx::AssertSqlSafe(format!("SAVEPOINT m{}", self.savepoint));
        sqlx::query(begin).persistent(false).execute_on(tx).await.map_err(db_error)?;
        Ok(())
    }
}

/// A member's wait for the commit that makes its changes durable.
pub(crate) struct Committed(oneshot::Receiver<Result<()>>);

impl Committed {
    pub(crate) async fn wait(self) -> Result<()> {
        self.0.await.unwrap_or_else(|_| {
            Err(Error::Unavailable(
                "The store closed before this change was committed; nothing was changed.".to_owned(),
            ))
        })
    }
}

/// Tells every waiting writer that its group failed, and starts the next group's clock afresh.
fn fail<DB: SqlBackend>(shared: &mut Shared<DB>, err: &Error) {
    shared.first_waiting = None;
    for member in shared.members.drain(..) {
        let _ = member.send(Err(unavailable(err)));
    }
}

/// The group's failure as each member's own error (a member is never told it succeeded).
fn unavailable(err: &Error) -> Error {
    match err {
        Error::Unavailable(message) => Error::Unavailable(message.clone()),
        _ => Error::Unavailable("The database could not commit this change; nothing was changed.".to_owned()),
    }
}

async fn committer<DB: SqlBackend>(group: Weak<WriteGroup<DB>>, wake: Arc<Notify>) {
    loop {
        wake.notified().await;
        let Some(group) = group.upgrade() else { return };
        group.commit_when_ready().await;
    }
}

#[cfg(test)]
mod tests {
    use crate::sqlite::SqliteStore;
    use oneclaw_core::clock::{Clock, SystemClock};
    use oneclaw_core::ids::OrgId;
    use oneclaw_core::model::Org;
    use oneclaw_core::ports::store::IdentityTx;
    use oneclaw_core::ports::{Store, StoreTx};
    use std::sync::Arc;

    async fn store() -> (Arc<SqliteStore>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&crate::default_sqlite_url(dir.path())).await.unwrap();
        // However slowly this build runs, writers queued together commit together.
        store.write_group().unwrap().wait_up_to(std::time::Duration::from_secs(10));
        (Arc::new(store), dir)
    }

    fn org(name: &str) -> Org {
        Org { id: OrgId::generate(), name: name.to_owned(), created_at: SystemClock.now() }
    }

    async fn orgs_named(store: &SqliteStore, name: &str) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM orgs WHERE name = $1")
            .bind(name)
            .fetch_one(store.pool())
            .await
            .unwrap()
    }

    /// Lets spawned writers run up to their wait for a turn.
    async fn let_them_queue() {
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
    }

    /// Waits until `writers` are counted in at the group (holding or awaiting a turn), and keeps
    /// groups open for them however slowly a loaded machine runs them: a test that needs them in
    /// one commit does not depend on the scheduler.
    async fn let_them_arrive(store: &SqliteStore, writers: usize) {
        let group = store.write_group().unwrap();
        group.wait_up_to(std::time::Duration::from_secs(60));
        while group.active.load(std::sync::atomic::Ordering::Acquire) < writers {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writers_queued_together_share_one_commit_and_all_are_durable_when_answered() {
        let (store, _dir) = store().await;
        let first = store.begin().await.unwrap();
        let mut writers = Vec::new();
        for n in 0..8 {
            let store = Arc::clone(&store);
            writers.push(tokio::spawn(async move {
                let mut tx = store.begin().await.unwrap();
                tx.insert_org(&org(&format!("writer {n}"))).await.unwrap();
                tx.commit().await.unwrap();
                // Answered: a connection of its own (another reader) sees it at once.
                assert_eq!(orgs_named(&store, &format!("writer {n}")).await, 1);
            }));
        }
        let_them_arrive(&store, 9).await;
        let before = store.group_commits();
        first.commit().await.unwrap();
        for writer in writers {
            writer.await.unwrap();
        }
        let commits = store.group_commits() - before;
        // Each committing alone would make 9; the writers queued behind the first share.
        assert!(commits < 9, "{commits} commits for 9 writers");
        assert!(commits >= 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_writer_that_fails_leaves_out_only_its_own_changes() {
        let (store, _dir) = store().await;
        let mut first = store.begin().await.unwrap();
        first.insert_org(&org("kept before")).await.unwrap();
        let failing = {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut tx = store.begin().await.unwrap();
                tx.insert_org(&org("dropped")).await.unwrap();
                // Dropped without commit: the request failed after writing.
            })
        };
        let after = {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut tx = store.begin().await.unwrap();
                tx.insert_org(&org("kept after")).await.unwrap();
                tx.commit().await.unwrap();
            })
        };
        let_them_queue().await;
        first.commit().await.unwrap();
        failing.await.unwrap();
        after.await.unwrap();
        assert_eq!(orgs_named(&store, "kept before").await, 1);
        assert_eq!(orgs_named(&store, "kept after").await, 1);
        assert_eq!(orgs_named(&store, "dropped").await, 0);
    }

    /// A member's records and the head they move are one statement text (one round trip): the
    /// records are there and chained, and a record that cannot be written takes its change
    /// with it while the writers around it keep theirs.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_change_appended_with_its_records_keeps_both_or_neither() {
        use oneclaw_core::ports::store::AuditStore;
        let (store, _dir) = store().await;
        let home = org("home");
        let mut tx = store.begin().await.unwrap();
        tx.insert_org(&home).await.unwrap();
        tx.append_audits(&[
            crate::test_support::event(home.id, "first"),
            crate::test_support::event(home.id, "second"),
        ])
        .await
        .unwrap();
        tx.commit().await.unwrap();
        crate::test_support::refuse_records_marked(&store).await;

        let mut first = store.begin().await.unwrap();
        first.insert_org(&org("kept before")).await.unwrap();
        let failing = {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut tx = store.begin().await.unwrap();
                tx.insert_org(&org("refused with its record")).await.unwrap();
                tx.append_audits(&[crate::test_support::event(home.id, "refuse.me")]).await?;
                tx.commit().await
            })
        };
        let after = {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut tx = store.begin().await.unwrap();
                tx.insert_org(&org("kept after")).await.unwrap();
                tx.append_audits(&[crate::test_support::event(home.id, "third")]).await.unwrap();
                tx.commit().await.unwrap();
            })
        };
        let_them_queue().await;
        first.commit().await.unwrap();
        assert!(failing.await.unwrap().is_err());
        after.await.unwrap();
        assert_eq!(orgs_named(&store, "kept before").await, 1);
        assert_eq!(orgs_named(&store, "kept after").await, 1);
        assert_eq!(orgs_named(&store, "refused with its record").await, 0);
        let actions: Vec<String> =
            store.audit_chain(home.id, 0, 10).await.unwrap().into_iter().map(|event| event.action).collect();
        assert_eq!(actions, ["first", "second", "third"]);
        crate::test_support::assert_chain_whole(&store, home.id, 3).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_commit_that_fails_fails_every_writer_in_it_and_keeps_nothing() {
        let (store, _dir) = store().await;
        sqlx::query("CREATE TABLE probe_parent (id INTEGER PRIMARY KEY)").execute(store.pool()).await.unwrap();
        sqlx::query("CREATE TABLE probe_child (parent INTEGER NOT NULL REFERENCES probe_parent (id))")
            .execute(store.pool())
            .await
            .unwrap();
        let mut first = store.write_transaction(false).await.unwrap();
        first.insert_org(&org("innocent")).await.unwrap();
        let breaker = {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut tx = store.write_transaction(false).await.unwrap();
                // A foreign key checked only at COMMIT: the group's commit itself fails.
                sqlx::query("PRAGMA defer_foreign_keys = ON").execute(&mut **tx.conn().unwrap()).await.unwrap();
                sqlx::query("INSERT INTO probe_child (parent) VALUES (42)")
                    .execute(&mut **tx.conn().unwrap())
                    .await
                    .unwrap();
                Box::new(tx).commit().await
            })
        };
        // The breaker must be in the same group: counted in before the first commits.
        let_them_arrive(&store, 2).await;
        let innocent = Box::new(first).commit().await;
        let broken = breaker.await.unwrap();
        assert!(broken.is_err(), "the writer whose change broke the commit is told");
        assert!(innocent.is_err(), "a writer in the same failed commit is never told it succeeded");
        assert_eq!(orgs_named(&store, "innocent").await, 0, "nothing of a failed commit is kept");
        // The next writer starts a fresh group and commits.
        let mut next = store.begin().await.unwrap();
        next.insert_org(&org("next")).await.unwrap();
        next.commit().await.unwrap();
        assert_eq!(orgs_named(&store, "next").await, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writers_dropped_at_any_moment_never_cost_another_its_acknowledged_change() {
        let (store, _dir) = store().await;
        store.write_group().unwrap().wait_up_to(super::MOST_WAIT);
        let mut writers = Vec::new();
        for n in 0..400u64 {
            let store = Arc::clone(&store);
            writers.push(tokio::spawn(async move {
                let name = format!("writer {n}");
                let work = async {
                    let mut tx = store.begin().await?;
                    tx.insert_org(&org(&name)).await?;
                    tx.commit().await
                };
                // Most are dropped mid-way (a client gone, a request timed out) at spread-out
                // moments; every fourth runs to the end.
                let deadline = if n % 4 == 0 { 60_000_000 } else { n * 97 % 40_000 };
                match tokio::time::timeout(std::time::Duration::from_micros(deadline), work).await {
                    Ok(Ok(())) => Some(name),
                    _ => None,
                }
            }));
        }
        let mut acknowledged = Vec::new();
        for writer in writers {
            acknowledged.extend(writer.await.unwrap());
        }
        assert!(!acknowledged.is_empty() && acknowledged.len() < 400, "{} of 400 acknowledged", acknowledged.len());
        for name in &acknowledged {
            assert_eq!(orgs_named(&store, name).await, 1, "{name} was acknowledged but is not stored");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_group_left_in_doubt_is_discarded_and_its_waiting_writers_refused() {
        let (store, _dir) = store().await;
        let group = Arc::clone(store.write_group().unwrap());
        // Someone still counted in: the committer waits instead of committing.
        let still_at_work = group.arrive();
        let mut first = store.begin().await.unwrap();
        first.insert_org(&org("in doubt")).await.unwrap();
        let waiting = tokio::spawn(first.commit());
        while group.lock().members.is_empty() {
            tokio::task::yield_now().await;
        }
        // As a holder dropped while asking SQLite whether the transaction still exists leaves it.
        group.lock().suspect = true;
        let mut next = store.begin().await.unwrap();
        next.insert_org(&org("after")).await.unwrap();
        drop(still_at_work);
        next.commit().await.unwrap();
        assert!(waiting.await.unwrap().is_err(), "a writer of a group in doubt is never told it succeeded");
        assert_eq!(orgs_named(&store, "in doubt").await, 0);
        assert_eq!(orgs_named(&store, "after").await, 1);
    }
}
