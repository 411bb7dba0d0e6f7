//! Queries of billing (request counters, tiers, credits, x402 nonces, paid requests), generic over
//! the backend like `sql_impl.rs` and `sql_tx.rs`, which delegate to these.

use crate::backend::{Columns, SqlBackend, Statement, Tx, get};
use crate::convert::{from_ms, principal, to_ms};
use crate::errors::db_error;
use oneclaw_core::billing::{CreditEntry, OverageMethod, PaidRequest, PaymentNonce, ResourceCounts, Tier};
use oneclaw_core::ids::OrgId;
use oneclaw_core::ports::{LeaseRule, LeasedPlaces};
use oneclaw_core::principal::PrincipalRef;
use oneclaw_core::{Error, Result};
use sqlx::Pool;
use time::OffsetDateTime;

/// Adds `$3` served requests to org `$1`'s count for month `$2`, answering the new count.
/// `leased` never falls below `requests`: every count has a place no lease hands out again.
pub(crate) const ADD_REQUESTS_SQL: &str = "INSERT INTO usage_counters (org_id, month, requests, leased) \
     VALUES ($1, $2, $3, $3) ON CONFLICT (org_id, month) DO UPDATE SET requests = usage_counters.requests + $3, \
     leased = CASE WHEN usage_counters.leased > usage_counters.requests + $3 THEN usage_counters.leased \
     ELSE usage_counters.requests + $3 END RETURNING requests";

pub(super) async fn add_requests<DB: SqlBackend>(conn: &mut Tx<DB>, org: OrgId, month: &str, n: i64) -> Result<i64> {
    sqlx::query(ADD_REQUESTS_SQL).arg(org.0).arg(month).arg(n).fetch_scalar_on(&mut *conn).await.map_err(db_error)
}

/// The size of a lease that starts after place `$base`: `$4` (the most) at or past the
/// allowance `$3`, else the free places left divided by `$5`, between 1 and `$4`.
macro_rules! lease_size {
    ($($base:tt)+) => {
        concat!(
            "(CASE WHEN ", $($base)+, " >= $3 THEN $4 WHEN ($3 - ", $($base)+, ") / $5 < 1 THEN 1 ",
            "WHEN ($3 - ", $($base)+, ") / $5 > $4 THEN $4 ELSE ($3 - ", $($base)+, ") / $5 END)"
        )
    };
}

/// Where the month's next lease starts after: past every place counted or leased before.
macro_rules! lease_base {
    () => {
        "(CASE WHEN usage_counters.leased > usage_counters.requests THEN usage_counters.leased \
         ELSE usage_counters.requests END)"
    };
}

/// Leases the org's next places in `month` (past every place counted or leased before, by any
/// node), sized by `rule` from where the month really is, in one atomic statement.
pub(super) async fn lease_requests<DB: SqlBackend>(
    conn: &mut Tx<DB>,
    org: OrgId,
    month: &str,
    rule: LeaseRule,
) -> Result<LeasedPlaces> {
    let row = sqlx::query(concat!(
        "INSERT INTO usage_counters (org_id, month, requests, leased, last_lease) VALUES ($1, $2, 0, ",
        lease_size!("0"),
        ", ",
        lease_size!("0"),
        ") ON CONFLICT (org_id, month) DO UPDATE SET last_lease = ",
        lease_size!(lease_base!()),
        ", leased = ",
        lease_base!(),
        " + ",
        lease_size!(lease_base!()),
        " RETURNING leased, last_lease, requests"
    ))
    .arg(org.0)
    .arg(month)
    .arg(rule.allowance.unwrap_or(i64::MAX))
    .arg(rule.most.max(1))
    .arg(rule.share_of_free_left.max(1))
    .fetch_one_on(&mut *conn)
    .await
    .map_err(db_error)?;
    let (end, size): (i64, i64) = (get(&row, "leased")?, get(&row, "last_lease")?);
    Ok(LeasedPlaces { places: end - size + 1..=end, served: get(&row, "requests")? })
}

/// Gives back the unused top of a lease: `leased` goes from `end` down to `keep`, only if no
/// lease was taken after it (and never below the places counted).
pub(super) async fn return_lease<DB: SqlBackend>(
    conn: &mut Tx<DB>,
    org: OrgId,
    month: &str,
    end: i64,
    keep: i64,
) -> Result<bool> {
    let changed = sqlx::query(
        "UPDATE usage_counters SET leased = $4 WHERE org_id = $1 AND month = $2 AND leased = $3 AND requests <= $4",
    )
    .arg(org.0)
    .arg(month)
    .arg(end)
    .arg(keep)
    .execute_on(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(changed == 1)
}

pub(super) async fn requests_in<DB: SqlBackend>(pool: &Pool<DB>, org: OrgId, month: &str) -> Result<i64> {
    let found: Option<i64> = sqlx::query("SELECT requests FROM usage_counters WHERE org_id = $1 AND month = $2")
        .arg(org.0)
        .arg(month)
        .fetch_optional_scalar_on(pool)
        .await
        .map_err(db_error)?;
    Ok(found.unwrap_or(0))
}

pub(super) async fn org_billing<DB: SqlBackend>(pool: &Pool<DB>, org: OrgId) -> Result<Option<(Tier, OverageMethod)>> {
    let row = sqlx::query("SELECT tier, overage_method FROM orgs WHERE id = $1")
        .arg(org.0)
        .fetch_optional_on(pool)
        .await
        .map_err(db_error)?;
    let Some(row) = row else { return Ok(None) };
    let (tier, method): (String, String) = (get(&row, "tier")?, get(&row, "overage_method")?);
    let tier = Tier::parse(&tier).ok_or_else(|| Error::Internal(format!("stored tier {tier:?}")))?;
    let method =
        OverageMethod::parse(&method).ok_or_else(|| Error::Internal(format!("stored overage method {method:?}")))?;
    Ok(Some((tier, method)))
}

pub(super) async fn resource_counts<DB: SqlBackend>(pool: &Pool<DB>, org: OrgId) -> Result<ResourceCounts> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM vaults WHERE org_id = $1) AS vaults, \
         (SELECT COUNT(*) FROM secrets s JOIN vaults v ON v.id = s.vault_id \
            WHERE v.org_id = $1 AND s.deleted_at IS NULL) AS secrets, \
         (SELECT COUNT(*) FROM agents WHERE org_id = $1 AND deleted_at IS NULL) AS agents",
    )
    .arg(org.0)
    .fetch_one_on(pool)
    .await
    .map_err(db_error)?;
    Ok(ResourceCounts { vaults: get(&row, "vaults")?, secrets: get(&row, "secrets")?, agents: get(&row, "agents")? })
}

pub(super) async fn credit_balance<DB: SqlBackend>(pool: &Pool<DB>, org: OrgId) -> Result<i64> {
    let found: Option<i64> = sqlx::query("SELECT balance_micros FROM credit_balances WHERE org_id = $1")
        .arg(org.0)
        .fetch_optional_scalar_on(pool)
        .await
        .map_err(db_error)?;
    Ok(found.unwrap_or(0))
}

fn credit_from(row: &impl Columns) -> Result<CreditEntry> {
    Ok(CreditEntry {
        id: get(row, "id")?,
        org_id: OrgId(get(row, "org_id")?),
        kind: get(row, "kind")?,
        amount_micros: get(row, "amount_micros")?,
        balance_after_micros: get(row, "balance_after_micros")?,
        description: get(row, "description")?,
        created_at: from_ms(get(row, "created_at")?)?,
    })
}

pub(super) async fn credit_ledger<DB: SqlBackend>(
    pool: &Pool<DB>,
    org: OrgId,
    limit: i64,
    offset: i64,
) -> Result<Vec<CreditEntry>> {
    let rows = sqlx::query(
        "SELECT id, org_id, kind, amount_micros, balance_after_micros, description, created_at FROM credit_ledger \
         WHERE org_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
    )
    .arg(org.0)
    .arg(limit)
    .arg(offset)
    .fetch_all_on(pool)
    .await
    .map_err(db_error)?;
    rows.iter().map(credit_from).collect()
}

pub(super) async fn paid_between<DB: SqlBackend>(
    pool: &Pool<DB>,
    org: OrgId,
    since: OffsetDateTime,
    until: OffsetDateTime,
) -> Result<(i64, i64)> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS paid, CAST(COALESCE(SUM(price_micros), 0) AS BIGINT) AS cost FROM paid_requests \
         WHERE org_id = $1 AND created_at >= $2 AND created_at < $3",
    )
    .arg(org.0)
    .arg(to_ms(since))
    .arg(to_ms(until))
    .fetch_one_on(pool)
    .await
    .map_err(db_error)?;
    Ok((get(&row, "paid")?, get(&row, "cost")?))
}

pub(super) async fn paid_requests<DB: SqlBackend>(
    pool: &Pool<DB>,
    org: OrgId,
    by: Option<PrincipalRef>,
    limit: i64,
) -> Result<Vec<PaidRequest>> {
    const COLUMNS: &str = "id, org_id, principal_type, principal_id, method, endpoint, status_code, price_micros, \
                           paid_with, reference, created_at";
    // Two statements rather than `($2 IS NULL OR …)`, which keeps SQLite off the index.
    let rows = match by {
        None => {
            let sql = sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM paid_requests WHERE org_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
            ));
            sqlx::query(sql).arg(org.0).arg(limit).fetch_all_on(pool).await
        }
        Some(who) => {
            let sql = sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM paid_requests WHERE org_id = $1 AND principal_type = $2 AND principal_id = $3 \
                 ORDER BY created_at DESC, id DESC LIMIT $4"
            ));
            sqlx::query(sql).arg(org.0).arg(who.kind.as_str()).arg(who.id).arg(limit).fetch_all_on(pool).await
        }
    }
    .map_err(db_error)?;
    rows.iter()
        .map(|row| {
            Ok(PaidRequest {
                id: get(row, "id")?,
                org_id: OrgId(get(row, "org_id")?),
                principal: principal(&get::<String>(row, "principal_type")?, get(row, "principal_id")?)?,
                method: get(row, "method")?,
                endpoint: get(row, "endpoint")?,
                status_code: get(row, "status_code")?,
                price_micros: get(row, "price_micros")?,
                paid_with: get(row, "paid_with")?,
                reference: get(row, "reference")?,
                created_at: from_ms(get(row, "created_at")?)?,
            })
        })
        .collect()
}

pub(super) async fn set_org_tier<DB: SqlBackend>(conn: &mut Tx<DB>, org: OrgId, tier: Tier) -> Result<bool> {
    let done = sqlx::query("UPDATE orgs SET tier = $2 WHERE id = $1")
        .arg(org.0)
        .arg(tier.as_str())
        .execute_on(&mut *conn)
        .await
        .map_err(db_error)?;
    Ok(done == 1)
}

pub(super) async fn set_overage_method<DB: SqlBackend>(
    conn: &mut Tx<DB>,
    org: OrgId,
    method: OverageMethod,
) -> Result<()> {
    sqlx::query("UPDATE orgs SET overage_method = $2 WHERE id = $1")
        .arg(org.0)
        .arg(method.as_str())
        .execute_on(&mut *conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

pub(super) async fn move_credits<DB: SqlBackend>(conn: &mut Tx<DB>, entry: &CreditEntry) -> Result<Option<i64>> {
    sqlx::query("INSERT INTO credit_balances (org_id, balance_micros) VALUES ($1, 0) ON CONFLICT (org_id) DO NOTHING")
        .arg(entry.org_id.0)
        .execute_on(&mut *conn)
        .await
        .map_err(db_error)?;
    // One statement, guarded: concurrent spends queue on the row and none goes below zero.
    let balance: Option<i64> = sqlx::query(
        "UPDATE credit_balances SET balance_micros = balance_micros + $2 \
         WHERE org_id = $1 AND balance_micros + $2 >= 0 RETURNING balance_micros",
    )
    .arg(entry.org_id.0)
    .arg(entry.amount_micros)
    .fetch_optional_scalar_on(&mut *conn)
    .await
    .map_err(db_error)?;
    let Some(balance) = balance else { return Ok(None) };
    sqlx::query(
        "INSERT INTO credit_ledger (id, org_id, kind, amount_micros, balance_after_micros, description, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .arg(entry.id)
    .arg(entry.org_id.0)
    .arg(&entry.kind)
    .arg(entry.amount_micros)
    .arg(balance)
    .arg(&entry.description)
    .arg(to_ms(entry.created_at))
    .execute_on(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(Some(balance))
}

pub(super) async fn consume_payment_nonce<DB: SqlBackend>(
    conn: &mut Tx<DB>,
    spent: &PaymentNonce,
    now: OffsetDateTime,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO x402_nonces (chain_id, asset, payer, nonce, org_id, valid_before, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (chain_id, asset, payer, nonce) DO NOTHING",
    )
    .arg(spent.chain_id)
    .arg(spent.asset.to_ascii_lowercase())
    .arg(spent.payer.to_ascii_lowercase())
    .arg(spent.nonce.to_ascii_lowercase())
    .arg(spent.org_id.0)
    .arg(spent.valid_before)
    .arg(to_ms(now))
    .execute_on(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(done == 1)
}

pub(super) async fn insert_paid_request<DB: SqlBackend>(conn: &mut Tx<DB>, paid: &PaidRequest) -> Result<()> {
    sqlx::query(
        "INSERT INTO paid_requests (id, org_id, principal_type, principal_id, method, endpoint, status_code, \
         price_micros, paid_with, reference, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .arg(paid.id)
    .arg(paid.org_id.0)
    .arg(paid.principal.kind.as_str())
    .arg(paid.principal.id)
    .arg(&paid.method)
    .arg(&paid.endpoint)
    .arg(paid.status_code)
    .arg(paid.price_micros)
    .arg(&paid.paid_with)
    .arg(&paid.reference)
    .arg(to_ms(paid.created_at))
    .execute_on(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(())
}
