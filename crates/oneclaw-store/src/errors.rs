//! Maps database errors to domain errors: an unreachable or full database is `Unavailable`
//! (503, nothing changed), a unique key is `Conflict` where the caller says so, the rest are
//! internal. Driver messages go to the log only.

use oneclaw_core::Error;

pub(crate) fn db_error(err: sqlx::Error) -> Error {
    match &err {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
            tracing::error!(error = %err, "database unreachable");
            Error::Unavailable("The database is unavailable; nothing was changed. Try again shortly.".to_owned())
        }
        sqlx::Error::Database(db) if is_availability_fault(db.as_ref()) || is_storage_fault(db.message()) => {
            tracing::error!(error = %err, "database fault");
            Error::Unavailable(
                "The database is unavailable or cannot write; nothing was changed. Try again shortly.".to_owned(),
            )
        }
        _ => Error::Internal(format!("database: {err}")),
    }
}

/// Like `db_error`, but a unique-key violation becomes `Conflict(message)`.
pub(crate) fn conflict_or(message: &str) -> impl Fn(sqlx::Error) -> Error + '_ {
    move |err| match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::Conflict(message.to_owned()),
        _ => db_error(err),
    }
}

/// Error codes that mean "the database cannot serve now", not "this request is wrong".
/// PostgreSQL SQLSTATE classes: 08 connection exception, 53 insufficient resources (disk full,
/// out of memory, too many connections), 57P operator intervention (shutdown, terminated
/// backend), 28 authorization (login refused), 40 transaction rollback (a deadlock or
/// serialization failure: the transaction was undone and may be tried again). SQLite primary
/// result codes: 5 BUSY, 6 LOCKED, 8 READONLY, 10 IOERR, 13 FULL, 14 CANTOPEN (extended codes
/// carry the primary in the low byte).
fn is_availability_fault(db: &dyn sqlx::error::DatabaseError) -> bool {
    let Some(code) = db.code() else { return false };
    if db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().is_some() {
        ["08", "53", "57P", "28", "40"].iter().any(|class| code.starts_with(class))
    } else {
        code.parse::<i64>().is_ok_and(|sqlite| matches!(sqlite & 0xff, 5 | 6 | 8 | 10 | 13 | 14))
    }
}

fn is_storage_fault(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    ["database or disk is full", "disk i/o error", "no space left", "database is locked", "read-only"]
        .iter()
        .any(|needle| message.contains(needle))
}
