//! Queries of the KEK lifecycle (rotation, retirement, migration between key providers),
//! generic over the backend like `sql_impl.rs` and `sql_tx.rs`, which delegate to these.
//!
//! The one race that matters: a write that seals a new value under KEK version `k` while a
//! rotation retires `k`. The write holds the KEK row (`LOCK_CURRENT_KEK`, a share lock on
//! PostgreSQL) until it commits; retiring takes the row exclusively (`LOCK_KEK_FOR_RETIRE`) and
//! only then counts the data keys still under `k`, in a statement that sees the write. SQLite
//! runs one write transaction at a time, so there the order is given.

use crate::backend::{Columns, SqlBackend, Statement, Tx, get};
use crate::convert::{from_ms, opt_from_ms, to_ms};
use crate::errors::db_error;
use oneclaw_core::Result;
use oneclaw_core::ids::{SecretId, VaultId};
use oneclaw_core::ports::{KekRef, VaultKeyRecord, WrappedDekRow};
use sqlx::Pool;
use time::OffsetDateTime;
use uuid::Uuid;

fn kek_from(vault: VaultId, row: &impl Columns) -> Result<KekRef> {
    Ok(KekRef {
        vault_id: vault,
        version: get(row, "version")?,
        provider: get(row, "provider")?,
        handle: get(row, "handle")?,
    })
}

pub(super) async fn vault_keys<DB: SqlBackend>(pool: &Pool<DB>, vault: VaultId) -> Result<Vec<VaultKeyRecord>> {
    let rows = sqlx::query(
        "SELECT version, provider, handle, created_at, retired_at, destroyed_at FROM vault_keys \
         WHERE vault_id = $1 ORDER BY version",
    )
    .arg(vault.0)
    .fetch_all_on(pool)
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

pub(super) async fn vaults_with_old_keys<DB: SqlBackend>(pool: &Pool<DB>) -> Result<Vec<VaultId>> {
    let ids: Vec<Uuid> = sqlx::query(
        "SELECT DISTINCT k.vault_id FROM vault_keys k JOIN vaults v ON v.id = k.vault_id \
         WHERE k.version < v.kek_version AND k.destroyed_at IS NULL",
    )
    .fetch_all_scalar_on(pool)
    .await
    .map_err(db_error)?;
    Ok(ids.into_iter().map(VaultId).collect())
}

pub(super) async fn vaults_off_provider<DB: SqlBackend>(pool: &Pool<DB>, provider: &str) -> Result<Vec<VaultId>> {
    let ids: Vec<Uuid> = sqlx::query(
        "SELECT v.id FROM vaults v JOIN vault_keys k ON k.vault_id = v.id AND k.version = v.kek_version \
         WHERE k.provider <> $1 ORDER BY v.created_at, v.id",
    )
    .arg(provider)
    .fetch_all_scalar_on(pool)
    .await
    .map_err(db_error)?;
    Ok(ids.into_iter().map(VaultId).collect())
}

pub(super) async fn deks_under_kek<DB: SqlBackend>(
    pool: &Pool<DB>,
    vault: VaultId,
    kek_version: i64,
    limit: i64,
) -> Result<Vec<WrappedDekRow>> {
    let rows = sqlx::query(
        "SELECT v.secret_id, v.version, s.path, v.wrapped_dek FROM secret_versions v \
         JOIN secrets s ON s.id = v.secret_id \
         WHERE v.kek_version = $2 AND s.vault_id = $1 ORDER BY v.secret_id, v.version LIMIT $3",
    )
    .arg(vault.0)
    .arg(kek_version)
    .arg(limit)
    .fetch_all_on(pool)
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

pub(super) async fn current_kek<DB: SqlBackend>(conn: &mut Tx<DB>, vault: VaultId) -> Result<Option<KekRef>> {
    let row = sqlx::query(DB::LOCK_CURRENT_KEK).arg(vault.0).fetch_optional_on(&mut *conn).await.map_err(db_error)?;
    row.map(|row| kek_from(vault, &row)).transpose()
}

pub(super) async fn add_vault_key<DB: SqlBackend>(
    conn: &mut Tx<DB>,
    kek: &KekRef,
    from_version: i64,
    now: OffsetDateTime,
) -> Result<bool> {
    let moved = sqlx::query("UPDATE vaults SET kek_version = $2 WHERE id = $1 AND kek_version = $3")
        .arg(kek.vault_id.0)
        .arg(kek.version)
        .arg(from_version)
        .execute_on(&mut *conn)
        .await
        .map_err(db_error)?;
    if moved != 1 {
        return Ok(false);
    }
    insert_vault_key(conn, kek, now).await?;
    Ok(true)
}

/// Records a KEK version (the first one with its vault, later ones by rotation).
pub(super) async fn insert_vault_key<DB: SqlBackend>(
    conn: &mut Tx<DB>,
    kek: &KekRef,
    now: OffsetDateTime,
) -> Result<()> {
    sqlx::query("INSERT INTO vault_keys (vault_id, version, provider, handle, created_at) VALUES ($1, $2, $3, $4, $5)")
        .arg(kek.vault_id.0)
        .arg(kek.version)
        .arg(&kek.provider)
        .arg(&kek.handle)
        .arg(to_ms(now))
        .execute_on(&mut *conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

pub(super) async fn rewrap_dek<DB: SqlBackend>(
    conn: &mut Tx<DB>,
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
    .arg(secret_id.0)
    .arg(version)
    .arg(old_wrapped)
    .arg(new_wrapped)
    .arg(new_kek_version)
    .execute_on(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(done == 1)
}

pub(super) async fn retire_vault_key<DB: SqlBackend>(
    conn: &mut Tx<DB>,
    vault: VaultId,
    version: i64,
    now: OffsetDateTime,
) -> Result<bool> {
    let locked: Option<i64> = sqlx::query(DB::LOCK_KEK_FOR_RETIRE)
        .arg(vault.0)
        .arg(version)
        .fetch_optional_scalar_on(&mut *conn)
        .await
        .map_err(db_error)?;
    if locked.is_none() {
        return Ok(false);
    }
    let still_used: Option<i64> = sqlx::query(
        "SELECT v.version FROM secret_versions v JOIN secrets s ON s.id = v.secret_id \
         WHERE v.kek_version = $2 AND s.vault_id = $1 LIMIT 1",
    )
    .arg(vault.0)
    .arg(version)
    .fetch_optional_scalar_on(&mut *conn)
    .await
    .map_err(db_error)?;
    if still_used.is_some() {
        return Ok(false);
    }
    let done = sqlx::query(
        "UPDATE vault_keys SET retired_at = COALESCE(retired_at, $3) WHERE vault_id = $1 AND version = $2 \
         AND version < (SELECT kek_version FROM vaults WHERE id = $1)",
    )
    .arg(vault.0)
    .arg(version)
    .arg(to_ms(now))
    .execute_on(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(done == 1)
}

pub(super) async fn mark_vault_key_destroyed<DB: SqlBackend>(
    conn: &mut Tx<DB>,
    vault: VaultId,
    version: i64,
    now: OffsetDateTime,
) -> Result<bool> {
    let done = sqlx::query(
        // The handle goes too: for the local keyring it is the sealed KEK itself.
        "UPDATE vault_keys SET destroyed_at = $3, handle = $4 \
         WHERE vault_id = $1 AND version = $2 AND retired_at IS NOT NULL AND destroyed_at IS NULL",
    )
    .arg(vault.0)
    .arg(version)
    .arg(to_ms(now))
    .arg(Vec::<u8>::new())
    .execute_on(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(done == 1)
}

pub(super) async fn replace_system_secret<DB: SqlBackend>(
    conn: &mut Tx<DB>,
    purpose: &str,
    sealed: &[u8],
) -> Result<()> {
    sqlx::query("UPDATE system_secrets SET sealed = $2 WHERE purpose = $1")
        .arg(purpose)
        .arg(sealed)
        .execute_on(&mut *conn)
        .await
        .map_err(db_error)?;
    Ok(())
}
