//! Queries of device-flow login codes, generic over the backend like `sql_impl.rs` and
//! `sql_tx.rs`, which delegate to these. Every state change is one conditional statement, so
//! two polls (or an approval racing expiry) cannot both win.

use crate::backend::{Columns, SqlBackend, Statement, Tx, get};
use crate::convert::{from_ms, opt_from_ms, to_ms};
use crate::errors::{conflict_or, db_error};
use oneclaw_core::ids::UserId;
use oneclaw_core::model::{DeviceCode, DeviceStatus};
use oneclaw_core::{Error, Result};
use sqlx::Pool;
use time::OffsetDateTime;
use uuid::Uuid;

const COLUMNS: &str =
    "device_digest, user_code, client_id, email, status, user_id, created_at, expires_at, last_polled_at";

fn device_code_from(row: &impl Columns) -> Result<DeviceCode> {
    let status: String = get(row, "status")?;
    Ok(DeviceCode {
        device_digest: get(row, "device_digest")?,
        user_code: get(row, "user_code")?,
        client_id: get(row, "client_id")?,
        email: get(row, "email")?,
        status: DeviceStatus::parse(&status)
            .ok_or_else(|| Error::Internal(format!("stored device status {status:?}")))?,
        user_id: get::<Option<Uuid>>(row, "user_id")?.map(UserId),
        created_at: from_ms(get(row, "created_at")?)?,
        expires_at: from_ms(get(row, "expires_at")?)?,
        last_polled_at: opt_from_ms(get(row, "last_polled_at")?)?,
    })
}

pub(super) async fn by_digest<DB: SqlBackend>(pool: &Pool<DB>, digest: &[u8]) -> Result<Option<DeviceCode>> {
    let sql = format!("SELECT {COLUMNS} FROM device_codes WHERE device_digest = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).arg(digest).fetch_optional_on(pool).await.map_err(db_error)?;
    row.as_ref().map(device_code_from).transpose()
}

pub(super) async fn by_user_code<DB: SqlBackend>(pool: &Pool<DB>, user_code: &str) -> Result<Option<DeviceCode>> {
    let sql = format!("SELECT {COLUMNS} FROM device_codes WHERE user_code = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).arg(user_code).fetch_optional_on(pool).await.map_err(db_error)?;
    row.as_ref().map(device_code_from).transpose()
}

pub(super) async fn insert<DB: SqlBackend>(tx: &mut Tx<DB>, code: &DeviceCode) -> Result<()> {
    let sql = format!("INSERT INTO device_codes ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .arg(code.device_digest.as_slice())
        .arg(code.user_code.as_str())
        .arg(code.client_id.as_str())
        .arg(code.email.as_str())
        .arg(code.status.as_str())
        .arg(code.user_id.map(|u| u.0))
        .arg(to_ms(code.created_at))
        .arg(to_ms(code.expires_at))
        .arg(code.last_polled_at.map(to_ms))
        .execute_on(tx)
        .await
        .map_err(conflict_or("That code is taken; try again"))?;
    Ok(())
}

pub(super) async fn decide<DB: SqlBackend>(
    tx: &mut Tx<DB>,
    user_code: &str,
    status: DeviceStatus,
    user: UserId,
    now: OffsetDateTime,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE device_codes SET status = $2, user_id = $3 WHERE user_code = $1 AND status = 'pending' AND expires_at > $4",
    )
    .arg(user_code)
    .arg(status.as_str())
    .arg(user.0)
    .arg(to_ms(now))
    .execute_on(tx)
    .await
    .map_err(db_error)?;
    Ok(done == 1)
}

pub(super) async fn use_code<DB: SqlBackend>(tx: &mut Tx<DB>, digest: &[u8], now: OffsetDateTime) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE device_codes SET status = 'used' WHERE device_digest = $1 AND status = 'approved' AND expires_at > $2",
    )
    .arg(digest)
    .arg(to_ms(now))
    .execute_on(tx)
    .await
    .map_err(db_error)?;
    Ok(done == 1)
}

pub(super) async fn touch<DB: SqlBackend>(tx: &mut Tx<DB>, digest: &[u8], now: OffsetDateTime) -> Result<()> {
    sqlx::query("UPDATE device_codes SET last_polled_at = $2 WHERE device_digest = $1")
        .arg(digest)
        .arg(to_ms(now))
        .execute_on(tx)
        .await
        .map_err(db_error)?;
    Ok(())
}
