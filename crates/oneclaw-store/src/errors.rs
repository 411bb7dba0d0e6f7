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
        sqlx::Error::Database(db) if is_storage_fault(db.message()) => {
            tracing::error!(error = %err, "database storage fault");
            Error::Unavailable("The database cannot write (storage full or failing); nothing was changed.".to_owned())
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

fn is_storage_fault(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    ["database or disk is full", "disk i/o error", "no space left", "database is locked", "read-only"]
        .iter()
        .any(|needle| message.contains(needle))
}
