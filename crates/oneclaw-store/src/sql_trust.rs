//! Queries that keep credentials bound to what issued them (issue 12): invitation tokens,
//! user credential generations, agents disabled with their creator, per-account attempt
//! counters, and every change of a share's state as one conditional statement (never a row
//! written back from an earlier read). Compiled once per backend like `sql_impl.rs`.

use super::Db;
use super::sql_rows::{DbRow, get};
use crate::convert::{from_ms, opt_from_ms, to_ms};
use crate::errors::db_error;
use oneclaw_core::ids::{AgentId, InviteId, OrgId, SecretId, ShareId, UserId};
use oneclaw_core::model::{Invite, Role};
use oneclaw_core::{Error, Result};
use sqlx::Pool;
use time::OffsetDateTime;
use uuid::Uuid;

type Conn = <Db as sqlx::Database>::Connection;

const INVITE_COLS: &str = "id, org_id, email, role, invited_by, created_at, accepted_at, expires_at, revoked_at";

fn invite_from(row: &DbRow) -> Result<Invite> {
    let role: String = get(row, "role")?;
    Ok(Invite {
        id: InviteId(get(row, "id")?),
        org_id: OrgId(get(row, "org_id")?),
        email: get(row, "email")?,
        role: Role::parse(&role).ok_or_else(|| Error::Internal(format!("stored role {role:?}")))?,
        invited_by: UserId(get(row, "invited_by")?),
        created_at: from_ms(get(row, "created_at")?)?,
        accepted_at: opt_from_ms(get(row, "accepted_at")?)?,
        expires_at: opt_from_ms(get(row, "expires_at")?)?,
        revoked_at: opt_from_ms(get(row, "revoked_at")?)?,
    })
}

// ---- reads -------------------------------------------------------------------------------

pub(super) async fn invite_by_token(pool: &Pool<Db>, digest: &[u8]) -> Result<Option<Invite>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {INVITE_COLS} FROM invites WHERE token_digest = $1"));
    let row = sqlx::query(sql).bind(digest).fetch_optional(pool).await.map_err(db_error)?;
    row.as_ref().map(invite_from).transpose()
}

pub(super) async fn invites(pool: &Pool<Db>, org: OrgId) -> Result<Vec<Invite>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {INVITE_COLS} FROM invites WHERE org_id = $1 ORDER BY created_at DESC, id DESC"
    ));
    let rows = sqlx::query(sql).bind(org.0).fetch_all(pool).await.map_err(db_error)?;
    rows.iter().map(invite_from).collect()
}

pub(super) async fn user_generations(pool: &Pool<Db>) -> Result<Vec<(Uuid, i64)>> {
    super::sql_rows::id_generation_pairs(
        pool,
        "SELECT id, credential_generation AS generation FROM users WHERE credential_generation > 0",
    )
    .await
}

pub(super) async fn count_attempt(
    pool: &Pool<Db>,
    account: &str,
    window_start: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO auth_attempts (account, window_start, attempts) VALUES ($1, $3, 1) \
         ON CONFLICT (account) DO UPDATE SET \
           attempts = CASE WHEN auth_attempts.window_start <= $2 THEN 1 ELSE auth_attempts.attempts + 1 END, \
           window_start = CASE WHEN auth_attempts.window_start <= $2 THEN $3 ELSE auth_attempts.window_start END \
         RETURNING attempts",
    )
    .bind(account)
    .bind(to_ms(window_start))
    .bind(to_ms(now))
    .fetch_one(pool)
    .await
    .map_err(db_error)
}

pub(super) async fn clear_attempts(pool: &Pool<Db>, account: &str) -> Result<()> {
    sqlx::query("DELETE FROM auth_attempts WHERE account = $1").bind(account).execute(pool).await.map_err(db_error)?;
    Ok(())
}

// ---- writes ------------------------------------------------------------------------------

pub(super) async fn insert_invite(conn: &mut Conn, invite: &Invite, token_digest: &[u8]) -> Result<()> {
    sqlx::query(
        "INSERT INTO invites (id, org_id, email, role, invited_by, created_at, accepted_at, expires_at, revoked_at, \
         token_digest) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(invite.id.0)
    .bind(invite.org_id.0)
    .bind(&invite.email)
    .bind(invite.role.as_str())
    .bind(invite.invited_by.0)
    .bind(to_ms(invite.created_at))
    .bind(invite.accepted_at.map(to_ms))
    .bind(invite.expires_at.map(to_ms))
    .bind(invite.revoked_at.map(to_ms))
    .bind(token_digest)
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

pub(super) async fn accept_invite(conn: &mut Conn, id: InviteId, now: OffsetDateTime) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE invites SET accepted_at = $2 \
         WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(id.0)
    .bind(to_ms(now))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn revoke_invite(conn: &mut Conn, org: OrgId, id: InviteId, now: OffsetDateTime) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE invites SET revoked_at = $3 \
         WHERE id = $1 AND org_id = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(id.0)
    .bind(org.0)
    .bind(to_ms(now))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn bump_credential_generation(conn: &mut Conn, id: UserId) -> Result<i64> {
    sqlx::query_scalar(
        "UPDATE users SET credential_generation = credential_generation + 1 WHERE id = $1 \
         RETURNING credential_generation",
    )
    .bind(id.0)
    .fetch_optional(conn)
    .await
    .map_err(db_error)?
    .ok_or_else(|| Error::NotFound("User not found".to_owned()))
}

pub(super) async fn disable_agents_of(conn: &mut Conn, creator: UserId) -> Result<Vec<(AgentId, i64)>> {
    let rows = sqlx::query(
        "UPDATE agents SET is_active = FALSE, token_generation = token_generation + 1, revision = revision + 1 \
         WHERE created_by = $1 AND deleted_at IS NULL AND is_active = TRUE RETURNING id, token_generation",
    )
    .bind(creator.0)
    .fetch_all(conn)
    .await
    .map_err(db_error)?;
    rows.iter().map(|row| Ok((AgentId(get(row, "id")?), get(row, "token_generation")?))).collect()
}

pub(super) async fn claim_share_attempt(
    conn: &mut Conn,
    id: ShareId,
    max: i64,
    now: OffsetDateTime,
    lock_until: OffsetDateTime,
) -> Result<bool> {
    // An expired lock starts the count again at this attempt.
    let done = sqlx::query(
        "UPDATE shares SET \
           failed_attempts = CASE WHEN locked_until IS NOT NULL THEN 1 ELSE failed_attempts + 1 END, \
           locked_until = CASE \
             WHEN (CASE WHEN locked_until IS NOT NULL THEN 1 ELSE failed_attempts + 1 END) >= $2 THEN $4 \
             ELSE NULL END \
         WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $3)",
    )
    .bind(id.0)
    .bind(max)
    .bind(to_ms(now))
    .bind(to_ms(lock_until))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn clear_share_failures(conn: &mut Conn, id: ShareId) -> Result<()> {
    sqlx::query(
        "UPDATE shares SET failed_attempts = 0, locked_until = NULL \
         WHERE id = $1 AND (failed_attempts > 0 OR locked_until IS NOT NULL)",
    )
    .bind(id.0)
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

pub(super) async fn revoke_share(conn: &mut Conn, id: ShareId, now: OffsetDateTime) -> Result<bool> {
    let done = sqlx::query("UPDATE shares SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(id.0)
        .bind(to_ms(now))
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn respond_share(conn: &mut Conn, id: ShareId, accept: bool, now: OffsetDateTime) -> Result<bool> {
    let sql = if accept {
        "UPDATE shares SET accepted_at = $2 WHERE id = $1 AND revoked_at IS NULL"
    } else {
        "UPDATE shares SET declined_at = $2 WHERE id = $1 AND revoked_at IS NULL"
    };
    let done = sqlx::query(sql).bind(id.0).bind(to_ms(now)).execute(conn).await.map_err(db_error)?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn revoke_shares_of_secret(conn: &mut Conn, secret: SecretId, now: OffsetDateTime) -> Result<u64> {
    let done = sqlx::query("UPDATE shares SET revoked_at = $2 WHERE secret_id = $1 AND revoked_at IS NULL")
        .bind(secret.0)
        .bind(to_ms(now))
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(done.rows_affected())
}

pub(super) async fn revoke_shares_of_member(conn: &mut Conn, member: UserId, now: OffsetDateTime) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE shares SET revoked_at = $2 WHERE revoked_at IS NULL AND ( \
           (created_by_type = 'user' AND created_by = $1) \
           OR (created_by_type = 'agent' AND created_by IN (SELECT id FROM agents WHERE created_by = $1)))",
    )
    .bind(member.0)
    .bind(to_ms(now))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(done.rows_affected())
}

pub(super) async fn deactivate_api_keys_of(conn: &mut Conn, user: UserId) -> Result<Vec<Uuid>> {
    let rows =
        sqlx::query("UPDATE api_keys SET is_active = FALSE WHERE user_id = $1 AND is_active = TRUE RETURNING id")
            .bind(user.0)
            .fetch_all(conn)
            .await
            .map_err(db_error)?;
    rows.iter().map(|row| get(row, "id")).collect()
}
