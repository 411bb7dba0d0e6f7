//! SQLite backend: one file, WAL mode, `synchronous=FULL` (an acknowledged write survives a
//! power cut), foreign keys on, and `BEGIN IMMEDIATE` for writes so concurrent writers queue
//! on the busy timeout instead of failing on a lock upgrade.

use crate::errors::db_error;
use crate::migrate::{migrate_error, sqlite as migrator};
use oneclaw_core::Result;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;

type Db = sqlx::Sqlite;
const BACKEND: &str = "sqlite";
/// Reads an org's audit chain head inside a write transaction (SQLite writers already hold the database lock).
const SELECT_HEAD_FOR_APPEND: &str = "SELECT seq, hash FROM audit_heads WHERE org_id = $1";

/// Reads a vault's current KEK in a write transaction, holding it against retirement.
const LOCK_CURRENT_KEK: &str = "SELECT k.version, k.provider, k.handle FROM vaults v \
     JOIN vault_keys k ON k.vault_id = v.id AND k.version = v.kek_version \
     WHERE v.id = $1 AND k.retired_at IS NULL";
/// Takes an old KEK row before counting the data keys still under it.
const LOCK_KEK_FOR_RETIRE: &str =
    "SELECT version FROM vault_keys WHERE vault_id = $1 AND version = $2 AND destroyed_at IS NULL";

async fn begin_write(pool: &sqlx::Pool<Db>) -> Result<sqlx::Transaction<'static, Db>> {
    pool.begin_with("BEGIN IMMEDIATE").await.map_err(db_error)
}

// The one query set, compiled here for this backend (see the crate docs).
#[allow(clippy::duplicate_mod)]
#[macro_use]
#[path = "sql_columns.rs"]
mod sql_columns;

#[allow(clippy::duplicate_mod)]
#[path = "sql_rows.rs"]
mod sql_rows;

#[allow(clippy::duplicate_mod)]
#[path = "sql_impl.rs"]
mod sql_impl;

#[allow(clippy::duplicate_mod)]
#[path = "sql_tx.rs"]
mod sql_tx;

#[allow(clippy::duplicate_mod)]
#[path = "sql_audit.rs"]
mod sql_audit;

// The access-model queries, compiled here for this backend as well.
#[allow(clippy::duplicate_mod)]
#[path = "sql_access.rs"]
mod sql_access;

#[allow(clippy::duplicate_mod)]
#[path = "sql_keys.rs"]
mod sql_keys;

#[allow(clippy::duplicate_mod)]
#[path = "sql_billing.rs"]
mod sql_billing;

#[allow(clippy::duplicate_mod)]
#[path = "sql_mfa.rs"]
mod sql_mfa;

#[allow(clippy::duplicate_mod)]
#[path = "sql_trust.rs"]
mod sql_trust;

#[allow(clippy::duplicate_mod)]
#[path = "sql_mail.rs"]
mod sql_mail;

/// The SQLite store.
pub type SqliteStore = sql_impl::SqlStore;

impl SqliteStore {
    /// Opens (creating if needed) the database file at a `sqlite:` URL and migrates it.
    pub async fn open(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|err| oneclaw_core::Error::invalid(format!("database URL: {err}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        if let Some(dir) = options.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|err| {
                oneclaw_core::Error::Unavailable(format!("cannot create the data directory {}: {err}", dir.display()))
            })?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(db_error)?;
        migrator().run(&pool).await.map_err(migrate_error)?;
        let store = sql_impl::SqlStore::new(pool, crate::write_gate::WriteGate::one_at_a_time());
        store.chain_legacy_audit().await?;
        Ok(store)
    }
}
