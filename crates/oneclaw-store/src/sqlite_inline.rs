//! The SQLite hot read path: the access check's one store read (`sql_read_path.rs`), run on
//! the calling task through rusqlite instead of through sqlx-sqlite's worker thread.
//!
//! Why: sqlx-sqlite runs every statement on a thread of its own per connection and hands the
//! statement over and the rows back through channels, so each query costs two thread wake-ups.
//! `perf` on the secret-read benchmark put about 58% of the server's CPU in the kernel, most of
//! it in those futex waits and wake-ups, around a query that itself takes microseconds (a few
//! B-tree pages already in SQLite's cache). Here the same statement runs inline on a pooled
//! connection of our own, prepared once per connection.
//!
//! Safe to run inline: in WAL mode a reader never waits for the writer, and each connection is
//! `query_only`, so nothing here can take the write lock or change a row. Writes and every
//! other read still go through sqlx. A committed write is visible to the next read here at
//! once: it is the same database file.

use crate::sql_impl::{SECRET_CURRENT_VERSION_SQL, VAULT_KEY_SQL};
use crate::sql_read_path::{AccessRows, VAULT_ACCESS_SQL, VAULT_ACCESS_WITH_SECRET_SQL, held_or_none};
use oneclaw_core::ids::{OrgId, VaultId};
use oneclaw_core::ports::KekRef;
use oneclaw_core::ports::SecretRead;
use oneclaw_core::ports::store::VaultAccess;
use oneclaw_core::principal::PrincipalRef;
use oneclaw_core::{Error, Result};
use rusqlite::{Connection, OpenFlags, ToSql};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Connections kept for reuse; more may be open at a moment of contention, and those close
/// when returned to a full pool.
const KEPT_CONNECTIONS: usize = 4;

/// A small pool of read-only rusqlite connections to the store's database file.
pub(crate) struct InlineReads {
    file: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// Each statement's column names, read from SQLite once (see `backend::InlineRow`).
    /// Each statement's column names, read from SQLite once (see `backend::InlineRow`): the
    /// plain access read's and the one with the secret's.
    access_names: OnceLock<Vec<String>>,
    with_secret_names: OnceLock<Vec<String>>,
}

impl InlineReads {
    /// For the database file sqlx opened (and migrated) from `url`; `None` for an in-memory
    /// database, which a connection of another library cannot see.
    pub(crate) fn for_database(url: &str, file: PathBuf) -> Option<Self> {
        if !crate::backup::file_backed(url, &file) {
            return None;
        }
        Some(Self {
            file,
            idle: Mutex::new(Vec::new()),
            access_names: OnceLock::new(),
            with_secret_names: OnceLock::new(),
        })
    }

    pub(crate) fn vault_access(
        &self,
        org: OrgId,
        vault: VaultId,
        who: PrincipalRef,
        held_generation: Option<i64>,
    ) -> Result<Option<VaultAccess>> {
        let held = held_or_none(held_generation);
        let params: [&dyn ToSql; 5] = [&vault.0, &org.0, &who.id, &who.kind.as_str(), &held];
        let read =
            self.run(VAULT_ACCESS_SQL, &self.access_names, &params, AccessRows::new(vault, held_generation, false))?;
        Ok(read.map(|(access, _)| access))
    }

    #[allow(clippy::too_many_arguments)] // the two reads' arguments, side by side
    pub(crate) fn vault_access_with_secret(
        &self,
        org: OrgId,
        vault: VaultId,
        who: PrincipalRef,
        held_generation: Option<i64>,
        path: &str,
        version: Option<i64>,
    ) -> Result<Option<(VaultAccess, Option<SecretRead>)>> {
        let held = held_or_none(held_generation);
        let params: [&dyn ToSql; 7] = [&vault.0, &org.0, &who.id, &who.kind.as_str(), &held, &path, &version];
        self.run(
            VAULT_ACCESS_WITH_SECRET_SQL,
            &self.with_secret_names,
            &params,
            AccessRows::new(vault, held_generation, true),
        )
    }

    /// A secret's current version number, the write path's guess before its transaction
    /// (`Store::secret_current_version`).
    pub(crate) fn secret_current_version(&self, vault: VaultId, path: &str) -> Result<Option<i64>> {
        let params: [&dyn ToSql; 2] = [&vault.0, &path];
        self.with_statement(SECRET_CURRENT_VERSION_SQL, &params, |rows| match rows.next()? {
            Some(row) => row.get(0).map(Some),
            None => Ok(None),
        })
    }

    /// A vault key's provider and handle (`Store::vault_key`).
    pub(crate) fn vault_key(&self, vault: VaultId, version: i64) -> Result<Option<KekRef>> {
        let params: [&dyn ToSql; 2] = [&vault.0, &version];
        self.with_statement(VAULT_KEY_SQL, &params, |rows| match rows.next()? {
            Some(row) => Ok(Some(KekRef { vault_id: vault, version, provider: row.get(0)?, handle: row.get(1)? })),
            None => Ok(None),
        })
    }

    /// Runs one statement on a pooled connection and feeds its rows to `read`.
    fn run(
        &self,
        sql: &'static str,
        names: &OnceLock<Vec<String>>,
        params: &[&dyn ToSql],
        mut read: AccessRows,
    ) -> Result<Option<(VaultAccess, Option<SecretRead>)>> {
        let connection = self.take()?;
        let outcome = (|| {
            let mut statement = connection.prepare_cached(sql).map_err(inline_error)?;
            let names = names.get_or_init(|| statement.column_names().into_iter().map(str::to_owned).collect());
            let mut rows = statement.query(named(params).as_slice()).map_err(inline_error)?;
            while let Some(row) = rows.next().map_err(inline_error)? {
                read.add(&crate::backend::InlineRow { row, names })?;
            }
            Ok::<_, Error>(())
        })();
        self.finish(connection, outcome)?;
        Ok(read.finish())
    }

    /// Runs one statement on a pooled connection and lets `read` take what it needs of its rows.
    fn with_statement<T>(
        &self,
        sql: &'static str,
        params: &[&dyn ToSql],
        read: impl FnOnce(&mut rusqlite::Rows<'_>) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let connection = self.take()?;
        let outcome = (|| {
            let mut statement = connection.prepare_cached(sql)?;
            let mut rows = statement.query(named(params).as_slice())?;
            read(&mut rows)
        })()
        .map_err(inline_error);
        self.finish(connection, outcome)
    }

    /// Returns the connection to the pool after a statement that succeeded; one that failed
    /// is dropped rather than returned, so a broken connection is never reused.
    fn finish<T>(&self, connection: Connection, outcome: Result<T>) -> Result<T> {
        if outcome.is_ok() {
            self.give_back(connection);
        }
        outcome
    }

    fn take(&self) -> Result<Connection> {
        if let Some(connection) = self.idle.lock().map_err(|_| poisoned())?.pop() {
            return Ok(connection);
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = Connection::open_with_flags(&self.file, flags).map_err(inline_error)?;
        connection.busy_timeout(Duration::from_secs(5)).map_err(inline_error)?;
        // Read-only by construction: no statement on this connection can write.
        connection.pragma_update(None, "query_only", true).map_err(inline_error)?;
        // Sorts in memory: no copies of rows in files under /var/tmp (see `sqlite.rs`).
        connection.pragma_update(None, "temp_store", "MEMORY").map_err(inline_error)?;
        connection.set_prepared_statement_cache_capacity(4);
        Ok(connection)
    }

    fn give_back(&self, connection: Connection) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < KEPT_CONNECTIONS
        {
            idle.push(connection);
        }
    }
}

const PLACEHOLDERS: [&str; 7] = ["$1", "$2", "$3", "$4", "$5", "$6", "$7"];

/// The parameters by name: to SQLite `$N` is a named parameter, numbered by first appearance
/// (`$6` can come before `$1`), so each is bound by its name.
fn named<'a>(params: &[&'a dyn ToSql]) -> Vec<(&'static str, &'a dyn ToSql)> {
    params.iter().enumerate().map(|(i, value)| (PLACEHOLDERS[i], *value)).collect()
}

fn inline_error(err: rusqlite::Error) -> Error {
    match &err {
        rusqlite::Error::SqliteFailure(code, _)
            if matches!(code.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) =>
        {
            Error::Unavailable("the database is busy".to_owned())
        }
        rusqlite::Error::SqliteFailure(code, _) if code.code == rusqlite::ErrorCode::CannotOpen => {
            Error::Unavailable("the database file cannot be opened".to_owned())
        }
        // The message names a column or a statement, never a value: parameters are bound.
        _ => Error::Internal(format!("sqlite read: {err}")),
    }
}

fn poisoned() -> Error {
    Error::Internal("the inline read pool's lock was poisoned".to_owned())
}
