//! SQLite backend: one file, WAL mode, `synchronous=FULL` (an acknowledged write survives a
//! power cut), foreign keys on, and `BEGIN IMMEDIATE` for writes so concurrent writers queue
//! on the busy timeout instead of failing on a lock upgrade.

use crate::backend::{SqlBackend, Tx, run_statements_on};
use crate::errors::db_error;
use crate::migrate::{migrate_error, sqlite as migrator};
use crate::sql_impl::SqlStore;
use oneclaw_core::Result;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;

impl SqlBackend for sqlx::Sqlite {
    const BACKEND_NAME: &'static str = "sqlite";
    const MULTIPLE_STATEMENTS: bool = true;
    const SELECT_HEAD_FOR_APPEND: &'static str = "SELECT h.seq, h.hash, e.created_at AS newest FROM audit_heads h \
     LEFT JOIN audit_events e ON e.org_id = h.org_id AND e.seq = h.seq WHERE h.org_id = $1";
    const LOCK_CURRENT_KEK: &'static str = "SELECT k.version, k.provider, k.handle FROM vaults v \
     JOIN vault_keys k ON k.vault_id = v.id AND k.version = v.kek_version \
     WHERE v.id = $1 AND k.retired_at IS NULL";
    // One writer at a time holds the database, so reading the KEK in the same statement holds
    // it as well as LOCK_CURRENT_KEK does.
    const NEXT_VERSION_WITH_KEK: Option<&'static str> = Some(concat!(
        next_version_insert!(),
        ", ",
        "(SELECT k.version FROM vaults v JOIN vault_keys k ON k.vault_id = v.id AND k.version = v.kek_version \
          WHERE v.id = $2 AND k.retired_at IS NULL) AS kek_version, ",
        "(SELECT k.provider FROM vaults v JOIN vault_keys k ON k.vault_id = v.id AND k.version = v.kek_version \
          WHERE v.id = $2 AND k.retired_at IS NULL) AS kek_provider, ",
        "(SELECT k.handle FROM vaults v JOIN vault_keys k ON k.vault_id = v.id AND k.version = v.kek_version \
          WHERE v.id = $2 AND k.retired_at IS NULL) AS kek_handle"
    ));
    const LOCK_KEK_FOR_RETIRE: &'static str =
        "SELECT version FROM vault_keys WHERE vault_id = $1 AND version = $2 AND destroyed_at IS NULL";

    // SQLite runs one write transaction at a time: the order is given.
    const LOCK_VAULT_ENVIRONMENTS: &'static str = "SELECT id FROM vaults WHERE id = $1";

    async fn begin_write(pool: &sqlx::Pool<Self>) -> Result<Tx<Self>> {
        pool.begin_with("BEGIN IMMEDIATE").await.map_err(db_error)
    }

    run_statements_on!(bind_sqlite, push_sqlite);
}

/// The SQLite store.
pub type SqliteStore = SqlStore<sqlx::Sqlite>;

impl SqliteStore {
    /// Opens (creating if needed) the database file at a `sqlite:` URL and migrates it.
    pub async fn open(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|err| oneclaw_core::Error::invalid(format!("database URL: {err}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // Savepoint journals and sorts in memory: never copies of database pages (audit
            // details, ciphertexts) in files under /var/tmp, outside the owner-only data
            // directory, and no file created and deleted per group commit.
            .pragma("temp_store", "memory")
            .busy_timeout(Duration::from_secs(5));
        if let Some(dir) = options.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|err| {
                oneclaw_core::Error::Unavailable(format!("cannot create the data directory {}: {err}", dir.display()))
            })?;
        }
        let file = options.get_filename().to_path_buf();
        let in_use = if crate::backup::file_backed(url, &file) {
            crate::backup::owner_only_files(&file)?;
            Some(crate::backup::InUse::take(&file)?)
        } else {
            None
        };
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            // A connection to a local file does not go stale; the check before each use was a
            // round trip to the connection's worker thread on every pooled statement.
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(db_error)?;
        migrator().run(&pool).await.map_err(migrate_error)?;
        let store = SqlStore::new(pool, crate::write_gate::WriteGate::one_at_a_time())
            .with_inline_reads(crate::sqlite_inline::InlineReads::for_database(url, file.clone()))
            .with_journal_writer(crate::sqlite_journal::JournalWriter::for_database(url, file))
            .with_group_commit()
            .holding(in_use);
        store.chain_legacy_audit().await?;
        Ok(store)
    }
}

#[cfg(test)]
mod tests {
    use super::SqliteStore;

    #[tokio::test]
    async fn temporary_storage_stays_in_memory_on_every_pooled_connection() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&crate::default_sqlite_url(dir.path())).await.unwrap();
        // Several connections at once, so more than the first one is asked.
        let mut held = Vec::new();
        for _ in 0..3 {
            let mut conn = store.pool().acquire().await.unwrap();
            // 2 is MEMORY: savepoint journals and sorts never become files under /var/tmp.
            let mode: i64 = sqlx::query_scalar("PRAGMA temp_store").fetch_one(&mut *conn).await.unwrap();
            assert_eq!(mode, 2);
            held.push(conn);
        }
    }
}
