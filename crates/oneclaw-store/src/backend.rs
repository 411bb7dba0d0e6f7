//! What the one query set needs of a database, said once: how a value binds, how a column
//! decodes, how a statement runs and how a write transaction begins. The `sql_*` modules are
//! generic over [`SqlBackend`] and written once; `sqlite.rs` and `postgres.rs` implement it.
//!
//! Why not sqlx's own generic bounds: they are where-clauses on other types
//! (`Uuid: Encode<DB>`, `for<'c> &'c mut DB::Connection: Executor<'c>`), which Rust does not
//! imply from a trait, so every function of the query set would repeat a dozen of them. The
//! world here is closed (two backends), so a value or column type qualifies once, for both,
//! and the statements run through four methods each backend implements by a macro.

use oneclaw_core::{Error, Result};
use sqlx::query::Query;
use sqlx::{Database, Decode, Encode, Pool, Postgres, QueryBuilder, Row, Sqlite, Transaction, Type};
use std::future::Future;
use std::pin::Pin;

/// A statement's future, boxed so the trait stays object-free and `Send` (one allocation
/// next to a database round trip).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A write transaction of a backend, open for the rest of a request.
pub type Tx<DB> = Transaction<'static, DB>;

/// Where a statement runs: on a pooled connection, or inside a transaction.
pub enum On<'e, DB: Database> {
    Pool(&'e Pool<DB>),
    Conn(&'e mut DB::Connection),
}

impl<'e, DB: Database> From<&'e Pool<DB>> for On<'e, DB> {
    fn from(pool: &'e Pool<DB>) -> Self {
        Self::Pool(pool)
    }
}

impl<'e, DB: Database> From<&'e mut Tx<DB>> for On<'e, DB> {
    fn from(tx: &'e mut Tx<DB>) -> Self {
        Self::Conn(&mut **tx)
    }
}

/// A SQL backend the query set runs on.
pub trait SqlBackend: Database<Row: Columns> + sqlx::database::HasStatementCache + Sized {
    /// The name `Store::backend` reports.
    const BACKEND_NAME: &'static str;
    /// Reads an org's audit chain head (`seq`, `hash`) inside a write transaction, locking it
    /// where the backend has row locks, so concurrent writers queue; and, where one statement
    /// can give it correctly, its newest event's time (`newest`, else NULL and read apart).
    const SELECT_HEAD_FOR_APPEND: &'static str;
    /// Whether one statement text may hold several statements with bound values, run in one
    /// round trip (SQLite; PostgreSQL's extended protocol takes one statement at a time).
    const MULTIPLE_STATEMENTS: bool;
    /// Reads a vault's current KEK in a write transaction, holding it against retirement.
    const LOCK_CURRENT_KEK: &'static str;
    /// `next_secret_version` with the vault's current KEK in its RETURNING clause (columns
    /// `kek_version`, `kek_provider`, `kek_handle`), where that holds the KEK as
    /// `LOCK_CURRENT_KEK` does; `None` where it takes a statement of its own (a row lock).
    const NEXT_VERSION_WITH_KEK: Option<&'static str>;
    /// Takes an old KEK row before counting the data keys still under it.
    const LOCK_KEK_FOR_RETIRE: &'static str;
    /// Takes a vault's row for a change to its environments or to which environments its
    /// variables apply to, so each sees the other's committed result.
    const LOCK_VAULT_ENVIRONMENTS: &'static str;

    /// Begins a write transaction the way this backend serialises writers.
    fn begin_write(pool: &Pool<Self>) -> impl Future<Output = Result<Tx<Self>>> + Send;

    #[doc(hidden)]
    fn bind<'q, 't, P: Param<'t>>(
        query: Query<'q, Self, Self::Arguments>,
        value: P,
    ) -> Query<'q, Self, Self::Arguments>;
    #[doc(hidden)]
    fn push_bind<'t, P: Param<'t>>(builder: &mut QueryBuilder<Self>, value: P);
    #[doc(hidden)]
    fn execute<'e>(query: Query<'e, Self, Self::Arguments>, on: On<'e, Self>) -> BoxFuture<'e, sqlx::Result<u64>>;
    #[doc(hidden)]
    fn fetch_all<'e>(
        query: Query<'e, Self, Self::Arguments>,
        on: On<'e, Self>,
    ) -> BoxFuture<'e, sqlx::Result<Vec<Self::Row>>>;
    #[doc(hidden)]
    fn fetch_optional<'e>(
        query: Query<'e, Self, Self::Arguments>,
        on: On<'e, Self>,
    ) -> BoxFuture<'e, sqlx::Result<Option<Self::Row>>>;
}

/// A value both backends bind: integers, text, bytes, UUIDs, booleans and their `Option`s.
pub trait Param<'t>: Send {
    #[doc(hidden)]
    fn bind_sqlite<'q>(
        self,
        query: Query<'q, Sqlite, <Sqlite as Database>::Arguments>,
    ) -> Query<'q, Sqlite, <Sqlite as Database>::Arguments>;
    #[doc(hidden)]
    fn bind_postgres<'q>(
        self,
        query: Query<'q, Postgres, <Postgres as Database>::Arguments>,
    ) -> Query<'q, Postgres, <Postgres as Database>::Arguments>;
    #[doc(hidden)]
    fn push_sqlite(self, builder: &mut QueryBuilder<Sqlite>);
    #[doc(hidden)]
    fn push_postgres(self, builder: &mut QueryBuilder<Postgres>);
}

impl<'t, T> Param<'t> for T
where
    T: Encode<'t, Sqlite> + Type<Sqlite> + Encode<'t, Postgres> + Type<Postgres> + Send,
{
    fn bind_sqlite<'q>(
        self,
        query: Query<'q, Sqlite, <Sqlite as Database>::Arguments>,
    ) -> Query<'q, Sqlite, <Sqlite as Database>::Arguments> {
        query.bind(self)
    }
    fn bind_postgres<'q>(
        self,
        query: Query<'q, Postgres, <Postgres as Database>::Arguments>,
    ) -> Query<'q, Postgres, <Postgres as Database>::Arguments> {
        query.bind(self)
    }
    fn push_sqlite(self, builder: &mut QueryBuilder<Sqlite>) {
        builder.push_bind(self);
    }
    fn push_postgres(self, builder: &mut QueryBuilder<Postgres>) {
        builder.push_bind(self);
    }
}

/// A column type both backends decode.
pub trait Column: Sized {
    #[doc(hidden)]
    fn from_sqlite(row: &<Sqlite as Database>::Row, column: &str) -> sqlx::Result<Self>;
    #[doc(hidden)]
    fn from_postgres(row: &<Postgres as Database>::Row, column: &str) -> sqlx::Result<Self>;
    #[doc(hidden)]
    fn first_of_sqlite(row: &<Sqlite as Database>::Row) -> sqlx::Result<Self>;
    #[doc(hidden)]
    fn first_of_postgres(row: &<Postgres as Database>::Row) -> sqlx::Result<Self>;
    /// The first column of a row of the SQLite hot read path (`sqlite_inline.rs`), which
    /// stores values as sqlx-sqlite does (UUIDs as 16-byte blobs, booleans as integers).
    #[doc(hidden)]
    fn first_of_inline(row: &rusqlite::Row<'_>) -> sqlx::Result<Self>;
    /// The column at `index` of a hot-read-path row (`InlineRow` finds the index by name).
    #[doc(hidden)]
    fn at_inline(row: &rusqlite::Row<'_>, index: usize) -> sqlx::Result<Self>;
}

impl<T> Column for T
where
    T: for<'r> Decode<'r, Sqlite>
        + Type<Sqlite>
        + for<'r> Decode<'r, Postgres>
        + Type<Postgres>
        + rusqlite::types::FromSql,
{
    fn from_sqlite(row: &<Sqlite as Database>::Row, column: &str) -> sqlx::Result<Self> {
        row.try_get(column)
    }
    fn from_postgres(row: &<Postgres as Database>::Row, column: &str) -> sqlx::Result<Self> {
        row.try_get(column)
    }
    fn first_of_sqlite(row: &<Sqlite as Database>::Row) -> sqlx::Result<Self> {
        row.try_get(0)
    }
    fn first_of_postgres(row: &<Postgres as Database>::Row) -> sqlx::Result<Self> {
        row.try_get(0)
    }
    fn first_of_inline(row: &rusqlite::Row<'_>) -> sqlx::Result<Self> {
        row.get(0).map_err(inline_decode_error)
    }
    fn at_inline(row: &rusqlite::Row<'_>, index: usize) -> sqlx::Result<Self> {
        row.get(index).map_err(inline_decode_error)
    }
}

fn inline_decode_error(err: rusqlite::Error) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(err))
}

/// A result row of either backend (or of the SQLite hot read path, `InlineRow`), read by
/// column name.
pub trait Columns {
    #[doc(hidden)]
    fn decode<C: Column>(&self, name: &str) -> sqlx::Result<C>;
    /// The first column, for statements that select one value.
    #[doc(hidden)]
    fn decode_first<C: Column>(&self) -> sqlx::Result<C>;
}

impl Columns for sqlx::sqlite::SqliteRow {
    fn decode<C: Column>(&self, name: &str) -> sqlx::Result<C> {
        C::from_sqlite(self, name)
    }
    fn decode_first<C: Column>(&self) -> sqlx::Result<C> {
        C::first_of_sqlite(self)
    }
}

/// A hot-read-path row with its statement's column names, read once per statement: rusqlite's
/// own lookup by name asks SQLite for every column's name (an FFI call and a `strlen` each) on
/// every lookup, which was about 3.5% of the server's CPU under the read load (`perf`).
pub(crate) struct InlineRow<'r, 's> {
    pub row: &'r rusqlite::Row<'s>,
    pub names: &'r [String],
}

impl InlineRow<'_, '_> {
    fn index(&self, name: &str) -> sqlx::Result<usize> {
        self.names.iter().position(|column| column == name).ok_or_else(|| sqlx::Error::ColumnNotFound(name.to_owned()))
    }
}

impl Columns for InlineRow<'_, '_> {
    fn decode<C: Column>(&self, name: &str) -> sqlx::Result<C> {
        C::at_inline(self.row, self.index(name)?)
    }
    fn decode_first<C: Column>(&self) -> sqlx::Result<C> {
        C::first_of_inline(self.row)
    }
}

impl Columns for sqlx::postgres::PgRow {
    fn decode<C: Column>(&self, name: &str) -> sqlx::Result<C> {
        C::from_postgres(self, name)
    }
    fn decode_first<C: Column>(&self) -> sqlx::Result<C> {
        C::first_of_postgres(self)
    }
}

/// One column of a row; a stored value the type does not fit is an internal error.
pub(crate) fn get<C: Column>(row: &impl Columns, column: &str) -> Result<C> {
    row.decode(column).map_err(|err| Error::Internal(format!("column {column}: {err}")))
}

/// The statement methods the query set calls; `sqlx::query(…)` starts one.
pub(crate) trait Statement<'q, DB: SqlBackend>: Sized {
    /// Binds the next `$N` placeholder.
    fn arg<'t>(self, value: impl Param<'t>) -> Self;
    /// Runs the statement and returns how many rows it changed.
    fn execute_on<'e>(self, on: impl Into<On<'e, DB>>) -> BoxFuture<'e, sqlx::Result<u64>>
    where
        'q: 'e;
    fn fetch_all_on<'e>(self, on: impl Into<On<'e, DB>>) -> BoxFuture<'e, sqlx::Result<Vec<DB::Row>>>
    where
        'q: 'e;
    fn fetch_optional_on<'e>(self, on: impl Into<On<'e, DB>>) -> BoxFuture<'e, sqlx::Result<Option<DB::Row>>>
    where
        'q: 'e;
    /// Exactly one row; none is `RowNotFound`.
    fn fetch_one_on<'e>(self, on: impl Into<On<'e, DB>>) -> impl Future<Output = sqlx::Result<DB::Row>> + Send + 'e
    where
        'q: 'e,
    {
        let row = self.fetch_optional_on(on);
        async move { row.await?.ok_or(sqlx::Error::RowNotFound) }
    }
    /// The first column of exactly one row.
    fn fetch_scalar_on<'e, C: Column>(
        self,
        on: impl Into<On<'e, DB>>,
    ) -> impl Future<Output = sqlx::Result<C>> + Send + 'e
    where
        'q: 'e,
    {
        let row = self.fetch_one_on(on);
        async move { row.await?.decode_first() }
    }
    /// The first column of the row, if there is one.
    fn fetch_optional_scalar_on<'e, C: Column>(
        self,
        on: impl Into<On<'e, DB>>,
    ) -> impl Future<Output = sqlx::Result<Option<C>>> + Send + 'e
    where
        'q: 'e,
    {
        let row = self.fetch_optional_on(on);
        async move { row.await?.map(|row| row.decode_first()).transpose() }
    }
    /// The first column of every row.
    fn fetch_all_scalar_on<'e, C: Column>(
        self,
        on: impl Into<On<'e, DB>>,
    ) -> impl Future<Output = sqlx::Result<Vec<C>>> + Send + 'e
    where
        'q: 'e,
    {
        let rows = self.fetch_all_on(on);
        async move { rows.await?.iter().map(|row| row.decode_first()).collect() }
    }
}

impl<'q, DB: SqlBackend> Statement<'q, DB> for Query<'q, DB, DB::Arguments> {
    fn arg<'t>(self, value: impl Param<'t>) -> Self {
        DB::bind(self, value)
    }
    fn execute_on<'e>(self, on: impl Into<On<'e, DB>>) -> BoxFuture<'e, sqlx::Result<u64>>
    where
        'q: 'e,
    {
        DB::execute(self, on.into())
    }
    fn fetch_all_on<'e>(self, on: impl Into<On<'e, DB>>) -> BoxFuture<'e, sqlx::Result<Vec<DB::Row>>>
    where
        'q: 'e,
    {
        DB::fetch_all(self, on.into())
    }
    fn fetch_optional_on<'e>(self, on: impl Into<On<'e, DB>>) -> BoxFuture<'e, sqlx::Result<Option<DB::Row>>>
    where
        'q: 'e,
    {
        DB::fetch_optional(self, on.into())
    }
}

/// `push_bind` for a statement built piece by piece.
pub(crate) trait BuildStatement {
    fn push_arg<'t>(&mut self, value: impl Param<'t>) -> &mut Self;
}

impl<DB: SqlBackend> BuildStatement for QueryBuilder<DB> {
    fn push_arg<'t>(&mut self, value: impl Param<'t>) -> &mut Self {
        DB::push_bind(self, value);
        self
    }
}

/// The statement plumbing of [`SqlBackend`], the same text for both backends.
macro_rules! run_statements_on {
    ($bind:ident, $push:ident) => {
        fn bind<'q, 't, P: $crate::backend::Param<'t>>(
            query: sqlx::query::Query<'q, Self, Self::Arguments>,
            value: P,
        ) -> sqlx::query::Query<'q, Self, Self::Arguments> {
            value.$bind(query)
        }
        fn push_bind<'t, P: $crate::backend::Param<'t>>(builder: &mut sqlx::QueryBuilder<Self>, value: P) {
            value.$push(builder)
        }
        fn execute<'e>(
            query: sqlx::query::Query<'e, Self, Self::Arguments>,
            on: $crate::backend::On<'e, Self>,
        ) -> $crate::backend::BoxFuture<'e, sqlx::Result<u64>> {
            Box::pin(async move {
                let done = match on {
                    $crate::backend::On::Pool(pool) => query.execute(pool).await?,
                    $crate::backend::On::Conn(conn) => query.execute(conn).await?,
                };
                Ok(done.rows_affected())
            })
        }
        fn fetch_all<'e>(
            query: sqlx::query::Query<'e, Self, Self::Arguments>,
            on: $crate::backend::On<'e, Self>,
        ) -> $crate::backend::BoxFuture<'e, sqlx::Result<Vec<Self::Row>>> {
            Box::pin(async move {
                match on {
                    $crate::backend::On::Pool(pool) => query.fetch_all(pool).await,
                    $crate::backend::On::Conn(conn) => query.fetch_all(conn).await,
                }
            })
        }
        fn fetch_optional<'e>(
            query: sqlx::query::Query<'e, Self, Self::Arguments>,
            on: $crate::backend::On<'e, Self>,
        ) -> $crate::backend::BoxFuture<'e, sqlx::Result<Option<Self::Row>>> {
            Box::pin(async move {
                match on {
                    $crate::backend::On::Pool(pool) => query.fetch_optional(pool).await,
                    $crate::backend::On::Conn(conn) => query.fetch_optional(conn).await,
                }
            })
        }
    };
}
pub(crate) use run_statements_on;
