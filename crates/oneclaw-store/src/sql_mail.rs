//! Queries of the mail outbox and of mailed tokens, generic over the backend like
//! `sql_impl.rs` and `sql_tx.rs`, which delegate to these.

use crate::backend::{Columns, SqlBackend, Statement, Tx, get};
use crate::convert::{from_ms, opt_from_ms, to_ms};
use crate::errors::{conflict_or, db_error};
use oneclaw_core::ids::UserId;
use oneclaw_core::mail::{EmailToken, OutboxMail, TokenPurpose};
use oneclaw_core::{Error, Result};
use sqlx::Pool;
use time::OffsetDateTime;
use uuid::Uuid;

const OUTBOX_COLS: &str =
    "id, recipient, kind, sealed, created_at, attempts, next_attempt_at, sent_at, failed_at, last_error";

fn outbox_from(row: &impl Columns) -> Result<OutboxMail> {
    Ok(OutboxMail {
        id: get(row, "id")?,
        recipient: get(row, "recipient")?,
        kind: get(row, "kind")?,
        sealed: get(row, "sealed")?,
        created_at: from_ms(get(row, "created_at")?)?,
        attempts: get(row, "attempts")?,
        next_attempt_at: from_ms(get(row, "next_attempt_at")?)?,
        sent_at: opt_from_ms(get(row, "sent_at")?)?,
        failed_at: opt_from_ms(get(row, "failed_at")?)?,
        last_error: get(row, "last_error")?,
    })
}

// ---- reads -------------------------------------------------------------------------------

pub(super) async fn due_mails<DB: SqlBackend>(
    pool: &Pool<DB>,
    now: OffsetDateTime,
    limit: i64,
) -> Result<Vec<OutboxMail>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {OUTBOX_COLS} FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL \
         AND next_attempt_at <= $1 ORDER BY next_attempt_at, created_at LIMIT $2"
    ));
    let rows = sqlx::query(sql).arg(to_ms(now)).arg(limit).fetch_all_on(pool).await.map_err(db_error)?;
    rows.iter().map(outbox_from).collect()
}

pub(super) async fn outbox<DB: SqlBackend>(pool: &Pool<DB>, limit: i64) -> Result<Vec<OutboxMail>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {OUTBOX_COLS} FROM mail_outbox ORDER BY created_at DESC LIMIT $1"));
    let rows = sqlx::query(sql).arg(limit).fetch_all_on(pool).await.map_err(db_error)?;
    rows.iter().map(outbox_from).collect()
}

pub(super) async fn mails_waiting<DB: SqlBackend>(pool: &Pool<DB>) -> Result<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS waiting FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL")
        .fetch_one_on(pool)
        .await
        .map_err(db_error)?;
    get(&row, "waiting")
}

pub(super) async fn email_token<DB: SqlBackend>(pool: &Pool<DB>, digest: &[u8]) -> Result<Option<EmailToken>> {
    let row = sqlx::query(
        "SELECT user_id, purpose, new_email, created_at, expires_at, used_at FROM email_tokens WHERE digest = $1",
    )
    .arg(digest)
    .fetch_optional_on(pool)
    .await
    .map_err(db_error)?;
    row.map(|row| {
        let purpose: String = get(&row, "purpose")?;
        Ok(EmailToken {
            user_id: UserId(get(&row, "user_id")?),
            purpose: TokenPurpose::parse(&purpose)
                .ok_or_else(|| Error::Internal(format!("stored token purpose {purpose:?}")))?,
            new_email: get(&row, "new_email")?,
            created_at: from_ms(get(&row, "created_at")?)?,
            expires_at: from_ms(get(&row, "expires_at")?)?,
            used_at: opt_from_ms(get(&row, "used_at")?)?,
        })
    })
    .transpose()
}

// ---- writes ------------------------------------------------------------------------------

pub(super) async fn enqueue_mail<DB: SqlBackend>(conn: &mut Tx<DB>, mail: &OutboxMail) -> Result<()> {
    sqlx::query(
        "INSERT INTO mail_outbox (id, recipient, kind, sealed, created_at, attempts, next_attempt_at, sent_at, \
         failed_at, last_error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .arg(mail.id)
    .arg(&mail.recipient)
    .arg(&mail.kind)
    .arg(&mail.sealed)
    .arg(to_ms(mail.created_at))
    .arg(mail.attempts)
    .arg(to_ms(mail.next_attempt_at))
    .arg(mail.sent_at.map(to_ms))
    .arg(mail.failed_at.map(to_ms))
    .arg(mail.last_error.as_deref())
    .execute_on(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

pub(super) async fn claim_mail<DB: SqlBackend>(
    conn: &mut Tx<DB>,
    id: Uuid,
    now: OffsetDateTime,
    lease_until: OffsetDateTime,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE mail_outbox SET next_attempt_at = $3, attempts = attempts + 1 \
         WHERE id = $1 AND sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $2",
    )
    .arg(id)
    .arg(to_ms(now))
    .arg(to_ms(lease_until))
    .execute_on(conn)
    .await
    .map_err(db_error)?;
    Ok(done > 0)
}

pub(super) async fn mark_mail_sent<DB: SqlBackend>(conn: &mut Tx<DB>, id: Uuid, now: OffsetDateTime) -> Result<()> {
    // The sealed message is dropped once sent: its links need not outlive their delivery.
    sqlx::query("UPDATE mail_outbox SET sent_at = $2, last_error = NULL, sealed = $3 WHERE id = $1")
        .arg(id)
        .arg(to_ms(now))
        .arg(Vec::<u8>::new())
        .execute_on(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

pub(super) async fn mark_mail_attempt_failed<DB: SqlBackend>(
    conn: &mut Tx<DB>,
    id: Uuid,
    next_attempt_at: OffsetDateTime,
    failed_at: Option<OffsetDateTime>,
    error: &str,
) -> Result<()> {
    sqlx::query("UPDATE mail_outbox SET next_attempt_at = $2, failed_at = $3, last_error = $4 WHERE id = $1")
        .arg(id)
        .arg(to_ms(next_attempt_at))
        .arg(failed_at.map(to_ms))
        .arg(error)
        .execute_on(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

pub(super) async fn insert_email_token<DB: SqlBackend>(
    conn: &mut Tx<DB>,
    digest: &[u8],
    token: &EmailToken,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO email_tokens (digest, user_id, purpose, new_email, created_at, expires_at, used_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .arg(digest)
    .arg(token.user_id.0)
    .arg(token.purpose.as_str())
    .arg(token.new_email.as_deref())
    .arg(to_ms(token.created_at))
    .arg(to_ms(token.expires_at))
    .arg(token.used_at.map(to_ms))
    .execute_on(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

pub(super) async fn use_email_token<DB: SqlBackend>(
    conn: &mut Tx<DB>,
    digest: &[u8],
    now: OffsetDateTime,
) -> Result<bool> {
    let done =
        sqlx::query("UPDATE email_tokens SET used_at = $2 WHERE digest = $1 AND used_at IS NULL AND expires_at > $2")
            .arg(digest)
            .arg(to_ms(now))
            .execute_on(conn)
            .await
            .map_err(db_error)?;
    Ok(done > 0)
}

pub(super) async fn retire_email_tokens<DB: SqlBackend>(
    conn: &mut Tx<DB>,
    user: UserId,
    purpose: TokenPurpose,
    now: OffsetDateTime,
) -> Result<()> {
    sqlx::query("UPDATE email_tokens SET used_at = $3 WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL")
        .arg(user.0)
        .arg(purpose.as_str())
        .arg(to_ms(now))
        .execute_on(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

pub(super) async fn set_email_verified<DB: SqlBackend>(conn: &mut Tx<DB>, user: UserId, verified: bool) -> Result<()> {
    sqlx::query("UPDATE users SET email_verified = $2 WHERE id = $1")
        .arg(user.0)
        .arg(verified)
        .execute_on(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

pub(super) async fn change_email<DB: SqlBackend>(conn: &mut Tx<DB>, user: UserId, email: &str) -> Result<()> {
    sqlx::query("UPDATE users SET email = $2, email_verified = TRUE WHERE id = $1")
        .arg(user.0)
        .arg(email)
        .execute_on(conn)
        .await
        .map_err(conflict_or("An account with this email already exists"))?;
    Ok(())
}
