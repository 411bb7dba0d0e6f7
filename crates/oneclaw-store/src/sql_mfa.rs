//! Queries of the TOTP second factor (secrets, time steps, recovery codes, login challenges),
//! generic over the backend like `sql_impl.rs` and `sql_tx.rs`, which delegate to these.

use crate::backend::{SqlBackend, Statement, Tx, get};
use crate::convert::{from_ms, to_ms};
use crate::errors::db_error;
use oneclaw_core::Result;
use oneclaw_core::ids::UserId;
use oneclaw_core::ports::MfaState;
use sqlx::Pool;
use time::OffsetDateTime;

pub(super) async fn mfa_state<DB: SqlBackend>(pool: &Pool<DB>, user: UserId) -> Result<MfaState> {
    let row = sqlx::query("SELECT totp_sealed, totp_pending_sealed, totp_last_step FROM users WHERE id = $1")
        .arg(user.0)
        .fetch_optional_on(pool)
        .await
        .map_err(db_error)?;
    row.map(|row| {
        Ok(MfaState {
            totp_sealed: get(&row, "totp_sealed")?,
            pending_sealed: get(&row, "totp_pending_sealed")?,
            last_step: get(&row, "totp_last_step")?,
        })
    })
    .transpose()
    .map(Option::unwrap_or_default)
}

pub(super) async fn mfa_challenge<DB: SqlBackend>(
    pool: &Pool<DB>,
    digest: &[u8],
) -> Result<Option<(UserId, OffsetDateTime, bool)>> {
    let row = sqlx::query("SELECT user_id, expires_at, used_at FROM mfa_challenges WHERE digest = $1")
        .arg(digest)
        .fetch_optional_on(pool)
        .await
        .map_err(db_error)?;
    row.map(|row| {
        let used: Option<i64> = get(&row, "used_at")?;
        Ok((UserId(get(&row, "user_id")?), from_ms(get(&row, "expires_at")?)?, used.is_some()))
    })
    .transpose()
}

pub(super) async fn set_totp_pending<DB: SqlBackend>(conn: &mut Tx<DB>, user: UserId, sealed: &[u8]) -> Result<()> {
    sqlx::query("UPDATE users SET totp_pending_sealed = $2 WHERE id = $1")
        .arg(user.0)
        .arg(sealed)
        .execute_on(&mut *conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

pub(super) async fn enable_totp<DB: SqlBackend>(
    conn: &mut Tx<DB>,
    user: UserId,
    sealed: &[u8],
    recovery: &[Vec<u8>],
) -> Result<()> {
    sqlx::query(
        "UPDATE users SET totp_enabled = TRUE, totp_sealed = $2, totp_pending_sealed = NULL, totp_last_step = NULL \
         WHERE id = $1",
    )
    .arg(user.0)
    .arg(sealed)
    .execute_on(&mut *conn)
    .await
    .map_err(db_error)?;
    sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
        .arg(user.0)
        .execute_on(&mut *conn)
        .await
        .map_err(db_error)?;
    for digest in recovery {
        sqlx::query("INSERT INTO mfa_recovery_codes (user_id, digest) VALUES ($1, $2)")
            .arg(user.0)
            .arg(digest)
            .execute_on(&mut *conn)
            .await
            .map_err(db_error)?;
    }
    Ok(())
}

pub(super) async fn disable_totp<DB: SqlBackend>(conn: &mut Tx<DB>, user: UserId) -> Result<()> {
    sqlx::query(
        "UPDATE users SET totp_enabled = FALSE, totp_sealed = NULL, totp_pending_sealed = NULL, totp_last_step = NULL \
         WHERE id = $1",
    )
    .arg(user.0)
    .execute_on(&mut *conn)
    .await
    .map_err(db_error)?;
    sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
        .arg(user.0)
        .execute_on(&mut *conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

pub(super) async fn accept_totp_step<DB: SqlBackend>(conn: &mut Tx<DB>, user: UserId, step: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
    )
    .arg(user.0)
    .arg(step)
    .execute_on(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(done == 1)
}

pub(super) async fn use_recovery_code<DB: SqlBackend>(
    conn: &mut Tx<DB>,
    user: UserId,
    digest: &[u8],
    now: OffsetDateTime,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE mfa_recovery_codes SET used_at = $3 WHERE user_id = $1 AND digest = $2 AND used_at IS NULL",
    )
    .arg(user.0)
    .arg(digest)
    .arg(to_ms(now))
    .execute_on(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(done == 1)
}

pub(super) async fn insert_mfa_challenge<DB: SqlBackend>(
    conn: &mut Tx<DB>,
    digest: &[u8],
    user: UserId,
    expires_at: OffsetDateTime,
) -> Result<()> {
    sqlx::query("INSERT INTO mfa_challenges (digest, user_id, expires_at) VALUES ($1, $2, $3)")
        .arg(digest)
        .arg(user.0)
        .arg(to_ms(expires_at))
        .execute_on(&mut *conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

pub(super) async fn use_mfa_challenge<DB: SqlBackend>(
    conn: &mut Tx<DB>,
    digest: &[u8],
    now: OffsetDateTime,
) -> Result<bool> {
    let done =
        sqlx::query("UPDATE mfa_challenges SET used_at = $2 WHERE digest = $1 AND used_at IS NULL AND expires_at > $2")
            .arg(digest)
            .arg(to_ms(now))
            .execute_on(&mut *conn)
            .await
            .map_err(db_error)?;
    Ok(done == 1)
}
