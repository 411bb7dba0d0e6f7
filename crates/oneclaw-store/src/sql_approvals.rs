//! Queries of approval requests, generic over the backend like `sql_impl.rs` and `sql_tx.rs`,
//! which delegate to these. Every state change is one conditional statement, so two approvers,
//! a decision racing expiry, or two requests racing for one use cannot both win.

use crate::backend::{Columns, SqlBackend, Statement, Tx, get};
use crate::convert::{from_json_text, from_ms, opt_from_ms, principal, to_json_text, to_ms};
use crate::errors::db_error;
use oneclaw_core::approvals::{Approval, ApprovalStatus, SecretUse};
use oneclaw_core::ids::{ApprovalId, OrgId, PolicyId, UserId, VaultId};
use oneclaw_core::ports::store::UseKey;
use oneclaw_core::{Error, Result};
use sqlx::Pool;
use time::OffsetDateTime;
use uuid::Uuid;

macro_rules! approval_cols {
    () => {
        "id, org_id, requester_type, requester_id, addressed_to, action, target_type, target_id, vault_id, path, \
         operation, policy_id, summary, reason, risk_tier, requester_ip, approvers, max_window_seconds, status, \
         decided_by, decision_reason, decided_at, expires_at, grant_until, uses_left, created_at"
    };
}

fn approval_from(row: &impl Columns) -> Result<Approval> {
    let status: String = get(row, "status")?;
    let requester_type: String = get(row, "requester_type")?;
    let summary: String = get(row, "summary")?;
    let approvers: String = get(row, "approvers")?;
    let vault: Option<Uuid> = get(row, "vault_id")?;
    let path: Option<String> = get(row, "path")?;
    let operation: Option<String> = get(row, "operation")?;
    let policy: Option<Uuid> = get(row, "policy_id")?;
    let secret_use = match (vault, path, operation, policy) {
        (Some(vault), Some(path), Some(operation), Some(policy)) => {
            Some(SecretUse { vault_id: VaultId(vault), path, operation, policy_id: PolicyId(policy) })
        }
        _ => None,
    };
    Ok(Approval {
        id: ApprovalId(get(row, "id")?),
        org_id: OrgId(get(row, "org_id")?),
        requester: principal(&requester_type, get(row, "requester_id")?)?,
        addressed_to: UserId(get(row, "addressed_to")?),
        action: get(row, "action")?,
        target_type: get(row, "target_type")?,
        target_id: get(row, "target_id")?,
        secret_use,
        summary: from_json_text(&summary)?,
        reason: get(row, "reason")?,
        risk_tier: get(row, "risk_tier")?,
        requester_ip: get(row, "requester_ip")?,
        approvers: serde_json::from_value(from_json_text(&approvers)?)
            .map_err(|err| Error::Internal(format!("stored approvers: {err}")))?,
        max_window_seconds: get(row, "max_window_seconds")?,
        status: ApprovalStatus::parse(&status)
            .ok_or_else(|| Error::Internal(format!("stored approval status {status:?}")))?,
        decided_by: get::<Option<Uuid>>(row, "decided_by")?.map(UserId),
        decision_reason: get(row, "decision_reason")?,
        decided_at: opt_from_ms(get(row, "decided_at")?)?,
        expires_at: from_ms(get(row, "expires_at")?)?,
        grant_until: opt_from_ms(get(row, "grant_until")?)?,
        uses_left: get(row, "uses_left")?,
        created_at: from_ms(get(row, "created_at")?)?,
    })
}

pub(super) async fn by_id<DB: SqlBackend>(pool: &Pool<DB>, org: OrgId, id: ApprovalId) -> Result<Option<Approval>> {
    let row = sqlx::query(concat!("SELECT ", approval_cols!(), " FROM approvals WHERE id = $1 AND org_id = $2"))
        .arg(id.0)
        .arg(org.0)
        .fetch_optional_on(pool)
        .await
        .map_err(db_error)?;
    row.as_ref().map(approval_from).transpose()
}

pub(super) async fn list<DB: SqlBackend>(
    pool: &Pool<DB>,
    org: OrgId,
    status: Option<ApprovalStatus>,
    limit: i64,
    offset: i64,
) -> Result<Vec<Approval>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        approval_cols!(),
        " FROM approvals WHERE org_id = $1 AND ($2 IS NULL OR status = $2) \
         ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
    ))
    .arg(org.0)
    .arg(status.map(ApprovalStatus::as_str))
    .arg(limit)
    .arg(offset)
    .fetch_all_on(pool)
    .await
    .map_err(db_error)?;
    rows.iter().map(approval_from).collect()
}

/// The newest request in `status` for exactly this use, with `extra` narrowing it further.
async fn for_use<DB: SqlBackend>(
    pool: &Pool<DB>,
    sql: &'static str,
    key: UseKey<'_>,
    now: OffsetDateTime,
) -> Result<Option<Approval>> {
    let row = sqlx::query(sql)
        .arg(key.org.0)
        .arg(key.requester.id)
        .arg(key.requester.kind.as_str())
        .arg(key.vault.0)
        .arg(key.path)
        .arg(key.operation)
        .arg(to_ms(now))
        .arg(key.policy.0)
        .fetch_optional_on(pool)
        .await
        .map_err(db_error)?;
    row.as_ref().map(approval_from).transpose()
}

macro_rules! use_query {
    ($condition:literal) => {
        concat!(
            "SELECT ",
            approval_cols!(),
            " FROM approvals WHERE org_id = $1 AND requester_id = $2 AND requester_type = $3 \
             AND vault_id = $4 AND path = $5 AND operation = $6 AND policy_id = $8 AND ",
            $condition,
            " ORDER BY created_at DESC, id DESC LIMIT 1"
        )
    };
}

pub(super) async fn pending_for<DB: SqlBackend>(
    pool: &Pool<DB>,
    key: UseKey<'_>,
    now: OffsetDateTime,
) -> Result<Option<Approval>> {
    for_use(pool, use_query!("status = 'pending' AND expires_at > $7"), key, now).await
}

pub(super) async fn usable_for<DB: SqlBackend>(
    pool: &Pool<DB>,
    key: UseKey<'_>,
    now: OffsetDateTime,
) -> Result<Option<Approval>> {
    for_use(pool, use_query!("status = 'approved' AND (uses_left > 0 OR grant_until > $7)"), key, now).await
}

pub(super) async fn insert<DB: SqlBackend>(tx: &mut Tx<DB>, approval: &Approval) -> Result<()> {
    let secret_use = approval.secret_use.as_ref();
    sqlx::query(concat!(
        "INSERT INTO approvals (",
        approval_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
         $21, $22, $23, $24, $25, $26)"
    ))
    .arg(approval.id.0)
    .arg(approval.org_id.0)
    .arg(approval.requester.kind.as_str())
    .arg(approval.requester.id)
    .arg(approval.addressed_to.0)
    .arg(approval.action.as_str())
    .arg(approval.target_type.as_str())
    .arg(approval.target_id.as_str())
    .arg(secret_use.map(|u| u.vault_id.0))
    .arg(secret_use.map(|u| u.path.as_str()))
    .arg(secret_use.map(|u| u.operation.as_str()))
    .arg(secret_use.map(|u| u.policy_id.0))
    .arg(to_json_text(&approval.summary))
    .arg(approval.reason.as_deref())
    .arg(approval.risk_tier)
    .arg(approval.requester_ip.as_deref())
    .arg(to_json_text(&serde_json::json!(approval.approvers)))
    .arg(approval.max_window_seconds)
    .arg(approval.status.as_str())
    .arg(approval.decided_by.map(|u| u.0))
    .arg(approval.decision_reason.as_deref())
    .arg(approval.decided_at.map(to_ms))
    .arg(to_ms(approval.expires_at))
    .arg(approval.grant_until.map(to_ms))
    .arg(approval.uses_left)
    .arg(to_ms(approval.created_at))
    .execute_on(tx)
    .await
    .map_err(db_error)?;
    Ok(())
}

pub(super) async fn decide<DB: SqlBackend>(tx: &mut Tx<DB>, decided: &Approval, now: OffsetDateTime) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE approvals SET status = $1, decided_by = $2, decision_reason = $3, decided_at = $4, \
         grant_until = $5, uses_left = $6 \
         WHERE id = $7 AND org_id = $8 AND status = 'pending' AND expires_at > $9",
    )
    .arg(decided.status.as_str())
    .arg(decided.decided_by.map(|u| u.0))
    .arg(decided.decision_reason.as_deref())
    .arg(decided.decided_at.map(to_ms))
    .arg(decided.grant_until.map(to_ms))
    .arg(decided.uses_left)
    .arg(decided.id.0)
    .arg(decided.org_id.0)
    .arg(to_ms(now))
    .execute_on(tx)
    .await
    .map_err(db_error)?;
    Ok(done == 1)
}

pub(super) async fn use_once<DB: SqlBackend>(tx: &mut Tx<DB>, id: ApprovalId, now: OffsetDateTime) -> Result<bool> {
    // A one-use approval is spent (and becomes `used`); a window only has to be open still.
    let done = sqlx::query(
        "UPDATE approvals SET uses_left = CASE WHEN uses_left IS NULL THEN NULL ELSE uses_left - 1 END, \
         status = CASE WHEN uses_left = 1 THEN 'used' ELSE status END \
         WHERE id = $1 AND status = 'approved' AND (uses_left > 0 OR grant_until > $2)",
    )
    .arg(id.0)
    .arg(to_ms(now))
    .execute_on(tx)
    .await
    .map_err(db_error)?;
    Ok(done == 1)
}

pub(super) async fn expire<DB: SqlBackend>(tx: &mut Tx<DB>, id: ApprovalId, now: OffsetDateTime) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE approvals SET status = 'expired' WHERE id = $1 AND status = 'pending' AND expires_at <= $2",
    )
    .arg(id.0)
    .arg(to_ms(now))
    .execute_on(tx)
    .await
    .map_err(db_error)?;
    Ok(done == 1)
}

pub(super) async fn link<DB: SqlBackend>(
    pool: &Pool<DB>,
    digest: &[u8],
    now: OffsetDateTime,
) -> Result<Option<(OrgId, ApprovalId, UserId)>> {
    let row = sqlx::query(
        "SELECT org_id, approval_id, user_id FROM approval_links \
         WHERE digest = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .arg(digest)
    .arg(to_ms(now))
    .fetch_optional_on(pool)
    .await
    .map_err(db_error)?;
    row.map(|row| {
        Ok((OrgId(get(&row, "org_id")?), ApprovalId(get(&row, "approval_id")?), UserId(get(&row, "user_id")?)))
    })
    .transpose()
}

pub(super) async fn insert_link<DB: SqlBackend>(
    tx: &mut Tx<DB>,
    digest: &[u8],
    approval: &Approval,
    user: UserId,
    now: OffsetDateTime,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO approval_links (digest, approval_id, org_id, user_id, created_at, expires_at, used_at) \
         VALUES ($1, $2, $3, $4, $5, $6, NULL)",
    )
    .arg(digest)
    .arg(approval.id.0)
    .arg(approval.org_id.0)
    .arg(user.0)
    .arg(to_ms(now))
    .arg(to_ms(approval.expires_at))
    .execute_on(tx)
    .await
    .map_err(db_error)?;
    Ok(())
}

pub(super) async fn use_link<DB: SqlBackend>(tx: &mut Tx<DB>, digest: &[u8], now: OffsetDateTime) -> Result<bool> {
    let done =
        sqlx::query("UPDATE approval_links SET used_at = $1 WHERE digest = $2 AND used_at IS NULL AND expires_at > $1")
            .arg(to_ms(now))
            .arg(digest)
            .execute_on(tx)
            .await
            .map_err(db_error)?;
    Ok(done == 1)
}

pub(super) async fn pending_of<DB: SqlBackend>(
    pool: &Pool<DB>,
    org: OrgId,
    requester: oneclaw_core::principal::PrincipalRef,
    now: OffsetDateTime,
) -> Result<i64> {
    sqlx::query(
        "SELECT COUNT(*) FROM approvals WHERE org_id = $1 AND requester_id = $2 AND requester_type = $3 \
         AND status = 'pending' AND expires_at > $4",
    )
    .arg(org.0)
    .arg(requester.id)
    .arg(requester.kind.as_str())
    .arg(to_ms(now))
    .fetch_scalar_on(pool)
    .await
    .map_err(db_error)
}
