//! Queries of the KEK lifecycle (rotation, retirement, migration between key providers),
//! compiled once per backend like `sql_impl.rs` and `sql_tx.rs`, which delegate to these.
//!
//! The one race that matters: a write that seals a new value under KEK version `k` while a
//! rotation retires `k`. The write holds the KEK row (`LOCK_CURRENT_KEK`, a share lock on
//! PostgreSQL) until it commits; retiring takes the row exclusively (`LOCK_KEK_FOR_RETIRE`) and
//! only then counts the data keys still under `k`, in a statement that sees the write. SQLite
//! runs one write transaction at a time, so there the order is given.

use super::sql_rows::{DbRow, get};
use super::{Db, LOCK_CURRENT_KEK, LOCK_KEK_FOR_RETIRE};
use crate::convert::{from_ms, opt_from_ms, to_ms};
use crate::errors::db_error;
use oneclaw_core::Result;
use oneclaw_core::ids::{SecretId, VaultId};
use oneclaw_core::ports::{KekRef, VaultKeyRecord, WrappedDekRow};
use sqlx::Pool;
use time::OffsetDateTime;
use uuid::Uuid;

type Conn = <Db as sqlx::Database>::Connection;

fn kek_from(vault: VaultId, row: &DbRow) -> Result<KekRef> {
    Ok(KekRef {
        vault_id: vault,
        version: get(row, "version")?,
        provider: get(row, "provider")?,
        handle: get(row, "handle")?,
    })
}

pub(super) async fn vault_keys(pool: &Pool<Db>, vault: VaultId) -> Result<Vec<VaultKeyRecord>> {
    let rows = sqlx::query(
        "SELECT version, provider, handle, created_at, retired_at, destroyed_at FROM vault_keys \
         WHERE vault_id = $1 ORDER BY version",
    )
    .bind(vault.0)
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    rows.iter()
        .map(|row| {
            Ok(VaultKeyRecord {
                kek: kek_from(vault, row)?,
                created_at: from_ms(get(row, "created_at")?)?,
                retired_at: opt_from_ms(get(row, "retired_at")?)?,
                destroyed_at: opt_from_ms(get(row, "destroyed_at")?)?,
            })
        })
        .collect()
}

pub(super) async fn vaults_with_old_keys(pool: &Pool<Db>) -> Result<Vec<VaultId>> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT DISTINCT k.vault_id FROM vault_keys k JOIN vaults v ON v.id = k.vault_id \
         WHERE k.version < v.kek_version AND k.destroyed_at IS NULL",
    )
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    Ok(ids.into_iter().map(VaultId).collect())
}

pub(super) async fn vaults_off_provider(pool: &Pool<Db>, provider: &str) -> Result<Vec<VaultId>> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT v.id FROM vaults v JOIN vault_keys k ON k.vault_id = v.id AND k.version = v.kek_version \
         WHERE k.provider <> $1 ORDER BY v.created_at, v.id",
    )
    .bind(provider)
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    Ok(ids.into_iter().map(VaultId).collect())
}

pub(super) async fn deks_under_kek(
    pool: &Pool<Db>,
    vault: VaultId,
    kek_version: i64,
    limit: i64,
) -> Result<Vec<WrappedDekRow>> {
    let rows = sqlx::query(
        "SELECT v.secret_id, v.version, s.path, v.wrapped_dek FROM secret_versions v \
         JOIN secrets s ON s.id = v.secret_id \
         WHERE v.kek_version = $2 AND s.vault_id = $1 ORDER BY v.secret_id, v.version LIMIT $3",
    )
    .bind(vault.0)
    .bind(kek_version)
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    rows.iter()
        .map(|row| {
            Ok(WrappedDekRow {
                secret_id: SecretId(get(row, "secret_id")?),
                version: get(row, "version")?,
                path: get(row, "path")?,
                wrapped_dek: get(row, "wrapped_dek")?,
            })
        })
        .collect()
}

pub(super) async fn current_kek(conn: &mut Conn, vault: VaultId) -> Result<Option<KekRef>> {
    let row = sqlx::query(LOCK_CURRENT_KEK).bind(vault.0).fetch_optional(&mut *conn).await.map_err(db_error)?;
    row.map(|row| kek_from(vault, &row)).transpose()
}

pub(super) async fn add_vault_key(
    conn: &mut Conn,
    kek: &KekRef,
    from_version: i64,
    now: OffsetDateTime,
) -> Result<bool> {
    let moved = sqlx::query("UPDATE vaults SET kek_version = $2 WHERE id = $1 AND kek_version = $3")
        .bind(kek.vault_id.0)
        .bind(kek.version)
        .bind(from_version)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?
        .rows_affected();
    if moved != 1 {
        return Ok(false);
    }
    insert_vault_key(conn, kek, now).await?;
    Ok(true)
}

/// Records a KEK version (the first one with its vault, later ones by rotation).
pub(super) async fn insert_vault_key(conn: &mut Conn, kek: &KekRef, now: OffsetDateTime) -> Result<()> {
    sqlx::query("INSERT INTO vault_keys (vault_id, version, provider, handle, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(kek.vault_id.0)
        .bind(kek.version)
        .bind(&kek.provider)
        .bind(&kek.handle)
        .bind(to_ms(now))
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

pub(super) async fn rewrap_dek(
    conn: &mut Conn,
    secret_id: SecretId,
    version: i64,
    old_wrapped: &[u8],
    new_wrapped: &[u8],
    new_kek_version: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE secret_versions SET wrapped_dek = $4, kek_version = $5 \
         WHERE secret_id = $1 AND version = $2 AND wrapped_dek = $3",
    )
    .bind(secret_id.0)
    .bind(version)
    .bind(old_wrapped)
    .bind(new_wrapped)
    .bind(new_kek_version)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn retire_vault_key(
    conn: &mut Conn,
    vault: VaultId,
    version: i64,
    now: OffsetDateTime,
) -> Result<bool> {
    let locked: Option<i64> = sqlx::query_scalar(LOCK_KEK_FOR_RETIRE)
        .bind(vault.0)
        .bind(version)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_error)?;
    if locked.is_none() {
        return Ok(false);
    }
    let still_used: Option<i64> = sqlx::query_scalar(
        "SELECT v.version FROM secret_versions v JOIN secrets s ON s.id = v.secret_id \
         WHERE v.kek_version = $2 AND s.vault_id = $1 LIMIT 1",
    )
    .bind(vault.0)
    .bind(version)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_error)?;
    if still_used.is_some() {
        return Ok(false);
    }
    let done = sqlx::query(
        "UPDATE vault_keys SET retired_at = COALESCE(retired_at, $3) WHERE vault_id = $1 AND version = $2 \
         AND version < (SELECT kek_version FROM vaults WHERE id = $1)",
    )
    .bind(vault.0)
    .bind(version)
    .bind(to_ms(now))
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn mark_vault_key_destroyed(
    conn: &mut Conn,
    vault: VaultId,
    version: i64,
    now: OffsetDateTime,
) -> Result<bool> {
    let done = sqlx::query(
        // The handle goes too: for the local keyring it is the sealed KEK itself.
        "UPDATE vault_keys SET destroyed_at = $3, handle = $4 \
         WHERE vault_id = $1 AND version = $2 AND retired_at IS NOT NULL AND destroyed_at IS NULL",
    )
    .bind(vault.0)
    .bind(version)
    .bind(to_ms(now))
    .bind(Vec::<u8>::new())
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn replace_system_secret(conn: &mut Conn, purpose: &str, sealed: &[u8]) -> Result<()> {
    sqlx::query("UPDATE system_secrets SET sealed = $2 WHERE purpose = $1")
        .bind(purpose)
        .bind(sealed)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    Ok(())
}
