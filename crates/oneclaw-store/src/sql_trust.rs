//! Queries that keep credentials bound to what issued them (issue 12): invitation tokens,
//! user credential generations, agents disabled with their creator, per-account attempt
//! counters, and every change of a share's state as one conditional statement (never a row
//! written back from an earlier read). Generic over the backend like `sql_impl.rs`.

use crate::backend::{Columns, SqlBackend, Statement, Tx, get};
use crate::convert::{from_ms, opt_from_ms, to_ms};
use crate::errors::db_error;
use oneclaw_core::ids::{AgentId, InviteId, OrgId, SecretId, ShareId, UserId};
use oneclaw_core::model::{Invite, Role};
use oneclaw_core::{Error, Result};
use sqlx::Pool;
use time::OffsetDateTime;
use uuid::Uuid;

const INVITE_COLS: &str = "id, org_id, email, role, invited_by, created_at, accepted_at, expires_at, revoked_at";

fn invite_from(row: &impl Columns) -> Result<Invite> {
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

pub(super) async fn invite_by_token<DB: SqlBackend>(pool: &Pool<DB>, digest: &[u8]) -> Result<Option<Invite>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {INVITE_COLS} FROM invites WHERE token_digest = $1"));
    let row = sqlx::query(sql).arg(digest).fetch_optional_on(pool).await.map_err(db_error)?;
    row.as_ref().map(invite_from).transpose()
}

pub(super) async fn invites<DB: SqlBackend>(pool: &Pool<DB>, org: OrgId) -> Result<Vec<Invite>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {INVITE_COLS} FROM invites WHERE org_id = $1 ORDER BY created_at DESC, id DESC"
    ));
    let rows = sqlx::query(sql).arg(org.0).fetch_all_on(pool).await.map_err(db_error)?;
    rows.iter().map(invite_from).collect()
}

pub(super) async fn user_generations<DB: SqlBackend>(pool: &Pool<DB>) -> Result<Vec<(Uuid, i64)>> {
    super::sql_rows::id_generation_pairs(
        pool,
        "SELECT id, credential_generation AS generation FROM users WHERE credential_generation > 0",
    )
    .await
}

pub(super) async fn count_attempt<DB: SqlBackend>(
    pool: &Pool<DB>,
    account: &str,
    window_start: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<i64> {
    sqlx::query(
        "INSERT INTO auth_attempts (account, window_start, attempts) VALUES ($1, $3, 1) \
         ON CONFLICT (account) DO UPDATE SET \
           attempts = CASE WHEN auth_attempts.window_start <= $2 THEN 1 ELSE auth_attempts.attempts + 1 END, \
           window_start = CASE WHEN auth_attempts.window_start <= $2 THEN $3 ELSE auth_attempts.window_start END \
         RETURNING attempts",
    )
    .arg(account)
    .arg(to_ms(window_start))
    .arg(to_ms(now))
    .fetch_scalar_on(pool)
    .await
    .map_err(db_error)
}

pub(super) async fn clear_attempts<DB: SqlBackend>(pool: &Pool<DB>, account: &str) -> Result<()> {
    sqlx::query("DELETE FROM auth_attempts WHERE account = $1")
        .arg(account)
        .execute_on(pool)
        .await
        .map_err(db_error)?;
    Ok(())
}

// ---- writes ------------------------------------------------------------------------------

pub(super) async fn insert_invite<DB: SqlBackend>(
    conn: &mut Tx<DB>,
    invite: &Invite,
    token_digest: &[u8],
) -> Result<()> {
    sqlx::query(
        "INSERT INTO invites (id, org_id, email, role, invited_by, created_at, accepted_at, expires_at, revoked_at, \
         token_digest) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .arg(invite.id.0)
    .arg(invite.org_id.0)
    .arg(&invite.email)
    .arg(invite.role.as_str())
    .arg(invite.invited_by.0)
    .arg(to_ms(invite.created_at))
    .arg(invite.accepted_at.map(to_ms))
    .arg(invite.expires_at.map(to_ms))
    .arg(invite.revoked_at.map(to_ms))
    .arg(token_digest)
    .execute_on(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

pub(super) async fn accept_invite<DB: SqlBackend>(
    conn: &mut Tx<DB>,
    id: InviteId,
    now: OffsetDateTime,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE invites SET accepted_at = $2 \
         WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2",
    )
    .arg(id.0)
    .arg(to_ms(now))
    .execute_on(conn)
    .await
    .map_err(db_error)?;
    Ok(done > 0)
}

pub(super) async fn revoke_invite<DB: SqlBackend>(
    conn: &mut Tx<DB>,
    org: OrgId,
    id: InviteId,
    now: OffsetDateTime,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE invites SET revoked_at = $3 \
         WHERE id = $1 AND org_id = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .arg(id.0)
    .arg(org.0)
    .arg(to_ms(now))
    .execute_on(conn)
    .await
    .map_err(db_error)?;
    Ok(done > 0)
}

pub(super) async fn bump_credential_generation<DB: SqlBackend>(conn: &mut Tx<DB>, id: UserId) -> Result<i64> {
    sqlx::query(
        "UPDATE users SET credential_generation = credential_generation + 1 WHERE id = $1 \
         RETURNING credential_generation",
    )
    .arg(id.0)
    .fetch_optional_scalar_on(conn)
    .await
    .map_err(db_error)?
    .ok_or_else(|| Error::NotFound("User not found".to_owned()))
}

pub(super) async fn disable_agents_of<DB: SqlBackend>(
    conn: &mut Tx<DB>,
    creator: UserId,
) -> Result<Vec<(AgentId, i64)>> {
    let rows = sqlx::query(
        "UPDATE agents SET is_active = FALSE, token_generation = token_generation + 1, revision = revision + 1 \
         WHERE created_by = $1 AND deleted_at IS NULL AND is_active = TRUE RETURNING id, token_generation",
    )
    .arg(creator.0)
    .fetch_all_on(conn)
    .await
    .map_err(db_error)?;
    rows.iter().map(|row| Ok((AgentId(get(row, "id")?), get(row, "token_generation")?))).collect()
}

pub(super) async fn claim_share_attempt<DB: SqlBackend>(
    conn: &mut Tx<DB>,
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
    .arg(id.0)
    .arg(max)
    .arg(to_ms(now))
    .arg(to_ms(lock_until))
    .execute_on(conn)
    .await
    .map_err(db_error)?;
    Ok(done > 0)
}

pub(super) async fn clear_share_failures<DB: SqlBackend>(conn: &mut Tx<DB>, id: ShareId) -> Result<()> {
    sqlx::query(
        "UPDATE shares SET failed_attempts = 0, locked_until = NULL \
         WHERE id = $1 AND (failed_attempts > 0 OR locked_until IS NOT NULL)",
    )
    .arg(id.0)
    .execute_on(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

pub(super) async fn revoke_share<DB: SqlBackend>(conn: &mut Tx<DB>, id: ShareId, now: OffsetDateTime) -> Result<bool> {
    let done = sqlx::query("UPDATE shares SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .arg(id.0)
        .arg(to_ms(now))
        .execute_on(conn)
        .await
        .map_err(db_error)?;
    Ok(done > 0)
}

pub(super) async fn respond_share<DB: SqlBackend>(
    conn: &mut Tx<DB>,
    id: ShareId,
    accept: bool,
    now: OffsetDateTime,
) -> Result<bool> {
    let sql = if accept {
        "UPDATE shares SET accepted_at = $2 WHERE id = $1 AND revoked_at IS NULL"
    } else {
        "UPDATE shares SET declined_at = $2 WHERE id = $1 AND revoked_at IS NULL"
    };
    let done = sqlx::query(sql).arg(id.0).arg(to_ms(now)).execute_on(conn).await.map_err(db_error)?;
    Ok(done > 0)
}

pub(super) async fn revoke_shares_of_secret<DB: SqlBackend>(
    conn: &mut Tx<DB>,
    secret: SecretId,
    now: OffsetDateTime,
) -> Result<u64> {
    let done = sqlx::query("UPDATE shares SET revoked_at = $2 WHERE secret_id = $1 AND revoked_at IS NULL")
        .arg(secret.0)
        .arg(to_ms(now))
        .execute_on(conn)
        .await
        .map_err(db_error)?;
    Ok(done)
}

pub(super) async fn revoke_shares_of_member<DB: SqlBackend>(
    conn: &mut Tx<DB>,
    member: UserId,
    now: OffsetDateTime,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE shares SET revoked_at = $2 WHERE revoked_at IS NULL AND ( \
           (created_by_type = 'user' AND created_by = $1) \
           OR (created_by_type = 'agent' AND created_by IN (SELECT id FROM agents WHERE created_by = $1)))",
    )
    .arg(member.0)
    .arg(to_ms(now))
    .execute_on(conn)
    .await
    .map_err(db_error)?;
    Ok(done)
}

pub(super) async fn deactivate_api_keys_of<DB: SqlBackend>(conn: &mut Tx<DB>, user: UserId) -> Result<Vec<Uuid>> {
    let rows =
        sqlx::query("UPDATE api_keys SET is_active = FALSE WHERE user_id = $1 AND is_active = TRUE RETURNING id")
            .arg(user.0)
            .fetch_all_on(conn)
            .await
            .map_err(db_error)?;
    rows.iter().map(|row| get(row, "id")).collect()
}
