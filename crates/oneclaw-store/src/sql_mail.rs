//! Queries of the mail outbox and of mailed tokens, compiled once per backend like
//! `sql_impl.rs` and `sql_tx.rs`, which delegate to these.

use super::Db;
use super::sql_rows::{DbRow, get};
use crate::convert::{from_ms, opt_from_ms, to_ms};
use crate::errors::{conflict_or, db_error};
use oneclaw_core::ids::UserId;
use oneclaw_core::mail::{EmailToken, OutboxMail, TokenPurpose};
use oneclaw_core::{Error, Result};
use sqlx::Pool;
use time::OffsetDateTime;
use uuid::Uuid;

type Conn = <Db as sqlx::Database>::Connection;

const OUTBOX_COLS: &str =
    "id, recipient, kind, sealed, created_at, attempts, next_attempt_at, sent_at, failed_at, last_error";

fn outbox_from(row: &DbRow) -> Result<OutboxMail> {
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

pub(super) async fn due_mails(pool: &Pool<Db>, now: OffsetDateTime, limit: i64) -> Result<Vec<OutboxMail>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {OUTBOX_COLS} FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL \
         AND next_attempt_at <= $1 ORDER BY next_attempt_at, created_at LIMIT $2"
    ));
    let rows = sqlx::query(sql).bind(to_ms(now)).bind(limit).fetch_all(pool).await.map_err(db_error)?;
    rows.iter().map(outbox_from).collect()
}

pub(super) async fn outbox(pool: &Pool<Db>, limit: i64) -> Result<Vec<OutboxMail>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {OUTBOX_COLS} FROM mail_outbox ORDER BY created_at DESC LIMIT $1"));
    let rows = sqlx::query(sql).bind(limit).fetch_all(pool).await.map_err(db_error)?;
    rows.iter().map(outbox_from).collect()
}

pub(super) async fn email_token(pool: &Pool<Db>, digest: &[u8]) -> Result<Option<EmailToken>> {
    let row = sqlx::query(
        "SELECT user_id, purpose, new_email, created_at, expires_at, used_at FROM email_tokens WHERE digest = $1",
    )
    .bind(digest)
    .fetch_optional(pool)
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

pub(super) async fn enqueue_mail(conn: &mut Conn, mail: &OutboxMail) -> Result<()> {
    sqlx::query(
        "INSERT INTO mail_outbox (id, recipient, kind, sealed, created_at, attempts, next_attempt_at, sent_at, \
         failed_at, last_error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(mail.id)
    .bind(&mail.recipient)
    .bind(&mail.kind)
    .bind(&mail.sealed)
    .bind(to_ms(mail.created_at))
    .bind(mail.attempts)
    .bind(to_ms(mail.next_attempt_at))
    .bind(mail.sent_at.map(to_ms))
    .bind(mail.failed_at.map(to_ms))
    .bind(mail.last_error.as_deref())
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

pub(super) async fn claim_mail(
    conn: &mut Conn,
    id: Uuid,
    now: OffsetDateTime,
    lease_until: OffsetDateTime,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE mail_outbox SET next_attempt_at = $3, attempts = attempts + 1 \
         WHERE id = $1 AND sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $2",
    )
    .bind(id)
    .bind(to_ms(now))
    .bind(to_ms(lease_until))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn mark_mail_sent(conn: &mut Conn, id: Uuid, now: OffsetDateTime) -> Result<()> {
    // The sealed message is dropped once sent: its links need not outlive their delivery.
    sqlx::query("UPDATE mail_outbox SET sent_at = $2, last_error = NULL, sealed = $3 WHERE id = $1")
        .bind(id)
        .bind(to_ms(now))
        .bind(Vec::<u8>::new())
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

pub(super) async fn mark_mail_attempt_failed(
    conn: &mut Conn,
    id: Uuid,
    next_attempt_at: OffsetDateTime,
    failed_at: Option<OffsetDateTime>,
    error: &str,
) -> Result<()> {
    sqlx::query("UPDATE mail_outbox SET next_attempt_at = $2, failed_at = $3, last_error = $4 WHERE id = $1")
        .bind(id)
        .bind(to_ms(next_attempt_at))
        .bind(failed_at.map(to_ms))
        .bind(error)
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

pub(super) async fn insert_email_token(conn: &mut Conn, digest: &[u8], token: &EmailToken) -> Result<()> {
    sqlx::query(
        "INSERT INTO email_tokens (digest, user_id, purpose, new_email, created_at, expires_at, used_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(digest)
    .bind(token.user_id.0)
    .bind(token.purpose.as_str())
    .bind(token.new_email.as_deref())
    .bind(to_ms(token.created_at))
    .bind(to_ms(token.expires_at))
    .bind(token.used_at.map(to_ms))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

pub(super) async fn use_email_token(conn: &mut Conn, digest: &[u8], now: OffsetDateTime) -> Result<bool> {
    let done =
        sqlx::query("UPDATE email_tokens SET used_at = $2 WHERE digest = $1 AND used_at IS NULL AND expires_at > $2")
            .bind(digest)
            .bind(to_ms(now))
            .execute(conn)
            .await
            .map_err(db_error)?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn retire_email_tokens(
    conn: &mut Conn,
    user: UserId,
    purpose: TokenPurpose,
    now: OffsetDateTime,
) -> Result<()> {
    sqlx::query("UPDATE email_tokens SET used_at = $3 WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL")
        .bind(user.0)
        .bind(purpose.as_str())
        .bind(to_ms(now))
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

pub(super) async fn set_email_verified(conn: &mut Conn, user: UserId, verified: bool) -> Result<()> {
    sqlx::query("UPDATE users SET email_verified = $2 WHERE id = $1")
        .bind(user.0)
        .bind(verified)
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

pub(super) async fn change_email(conn: &mut Conn, user: UserId, email: &str) -> Result<()> {
    sqlx::query("UPDATE users SET email = $2, email_verified = TRUE WHERE id = $1")
        .bind(user.0)
        .bind(email)
        .execute(conn)
        .await
        .map_err(conflict_or("An account with this email already exists"))?;
    Ok(())
}
