//! Storage for oneclaw: the `Store` port of `oneclaw-core` on SQLite (the embedded default) and
//! PostgreSQL (the scale-out path).
//!
//! One query set serves both. The `sql_*.rs` files hold every statement, written once with `$N`
//! placeholders that both backends accept, generic over `backend::SqlBackend`, which says how a
//! value binds, a column decodes, a statement runs and a write transaction begins; `sqlite.rs`
//! and `postgres.rs` implement it and open their pools. `sql_impl.rs` is the read side
//! (`Store`), `sql_tx.rs` the write side (`StoreTx`), `sql_access.rs` the access-model queries,
//! `sql_rows.rs`/`sql_columns.rs` the row decoders and column lists.
//! Only the DDL differs, so each backend has its own migration folder, embedded in the binary
//! and applied forward-only at start-up (a database newer than the binary refuses to start).

// First: its column-list macros are used by the modules after it.
#[macro_use]
mod sql_columns;
mod backend;
pub mod backup;
mod batch;
mod convert;
#[cfg(feature = "danger-bench-skip-audit")]
pub mod danger_bench;
mod errors;
mod group_commit;
pub mod hot_reads;
pub mod journal;
pub mod meter;
mod migrate;
mod pg_chain_appends;
pub mod postgres;
mod sql_access;
mod sql_approvals;
mod sql_audit;
mod sql_audit_query;
mod sql_audit_times;
mod sql_billing;
mod sql_devices;
mod sql_env;
mod sql_impl;
mod sql_intents;
mod sql_keys;
mod sql_mail;
mod sql_mfa;
mod sql_read_path;
mod sql_rows;
mod sql_trust;
mod sql_tx;
mod sql_webhooks;
pub mod sqlite;
mod sqlite_inline;
mod sqlite_journal;
pub mod sync_notices;
#[cfg(test)]
mod test_support;
mod write_gate;

pub use backend::SqlBackend;
pub use journal::GroupCommitJournal;
pub use meter::GroupCommitMeter;
use oneclaw_core::ports::Store;
use oneclaw_core::{Error, Result};
use std::path::Path;
use std::sync::Arc;

/// Which backend a database URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `postgres://` and `postgresql://` select PostgreSQL; `sqlite:` URLs select SQLite.
    pub fn of_url(url: &str) -> Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else {
            Err(Error::invalid("the database URL must start with sqlite:, postgres:// or postgresql://"))
        }
    }
}

/// Whether the benchmark-only switch skips audit writes (`danger_bench`); never without it.
pub(crate) fn audit_skipped() -> bool {
    #[cfg(feature = "danger-bench-skip-audit")]
    return danger_bench::skipping_audit();
    #[cfg(not(feature = "danger-bench-skip-audit"))]
    false
}

/// The default database: `oneclaw.db` in the data directory.
pub fn default_sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("oneclaw.db").display())
}

/// Connects to the database at `url`, applies pending migrations and returns the store.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    open_with(url, hot_reads::DEFAULT_LIFETIME).await
}

/// `open`, with a secret read's store read answered from memory for up to `read_cache`
/// (zero: never; see `hot_reads.rs`).
pub async fn open_with(url: &str, read_cache: std::time::Duration) -> Result<Arc<dyn Store>> {
    match Backend::of_url(url)? {
        Backend::Sqlite => {
            let store = sqlite::SqliteStore::open(url).await?;
            store.set_read_cache(read_cache);
            Ok(Arc::new(store))
        }
        Backend::Postgres => {
            let store = postgres::PgStore::open(url).await?;
            store.set_read_cache(read_cache);
            Ok(Arc::new(store))
        }
    }
}
