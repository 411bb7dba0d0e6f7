//! The access check's one store read: a vault with the caller's policies on it, and for a
//! secret read the secret's sealed value too, in one statement (one round trip, and on SQLite
//! one hop to its worker thread instead of two).

use super::sql_access::policy_from;
use super::sql_rows::{
    JOINED_VAULT_COLUMNS, SecretReadColumns, VersionColumns, secret_read_from_columns, vault_from_columns,
};
use crate::backend::{Columns, SqlBackend, Statement, get};
use crate::errors::db_error;
use oneclaw_core::Result;
use oneclaw_core::ids::{OrgId, VaultId};
use oneclaw_core::ports::SecretRead;
use oneclaw_core::ports::store::VaultAccess;
use oneclaw_core::principal::PrincipalRef;
use sqlx::Pool;
use uuid::Uuid;

/// A policy's columns under their own names, and the same list as NULLs for the vault's row.
macro_rules! policy_branch_cols {
    () => {
        "p.id, p.vault_id, p.principal_type, p.principal_id, p.secret_path_pattern, p.permissions, p.conditions, \
         p.expires_at, p.effect, p.priority, p.created_by_type, p.created_by, p.created_at, p.policy_schema_version"
    };
}
macro_rules! no_policy_cols {
    () => {
        "NULL AS id, NULL AS vault_id, NULL AS principal_type, NULL AS principal_id, \
         NULL AS secret_path_pattern, NULL AS permissions, NULL AS conditions, NULL AS expires_at, NULL AS effect, \
         NULL AS priority, NULL AS created_by_type, NULL AS created_by, NULL AS created_at, \
         NULL AS policy_schema_version"
    };
}
/// A secret version with its sealed value and KEK, under `sec_` names (the policy's columns
/// share several of the plain ones), and the same list as NULLs for the policy rows.
macro_rules! secret_branch_cols {
    () => {
        "s.id AS sec_id, s.vault_id AS sec_vault_id, s.path AS sec_path, sv.version AS sec_version, \
         sv.secret_type AS sec_secret_type, sv.metadata AS sec_metadata, sv.rotation_policy AS sec_rotation_policy, \
         sv.expires_at AS sec_expires_at, sv.max_access_count AS sec_max_access_count, \
         sv.access_count AS sec_access_count, sv.is_disabled AS sec_is_disabled, sv.deleted_at AS sec_deleted_at, \
         sv.created_by_type AS sec_created_by_type, sv.created_by AS sec_created_by, \
         sv.created_at AS sec_created_at, sv.ciphertext AS sec_ciphertext, sv.wrapped_dek AS sec_wrapped_dek, \
         sv.kek_version AS sec_kek_version, k.provider AS sec_provider, k.handle AS sec_handle"
    };
}
macro_rules! no_secret_cols {
    () => {
        "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
         NULL, NULL, NULL"
    };
}
/// The policy rows: only when the caller's held generation (`$5`) is not the vault's. Two
/// branches, not a LEFT JOIN with the generation in its ON clause: there the planner would
/// walk every policy of the principal only to drop each one, and a read would cost
/// O(policies) even when the cache is current.
macro_rules! policy_branch {
    ($secret_nulls:expr) => {
        concat!(
            " UNION ALL SELECT ",
            joined_vault_cols!(),
            ", ",
            policy_branch_cols!(),
            $secret_nulls,
            " FROM vaults v JOIN policies p ON p.vault_id = v.id AND p.principal_id = $3 AND p.principal_type = $4 \
             WHERE v.id = $1 AND v.org_id = $2 AND v.policy_generation <> $5"
        )
    };
}

const SECRET_READ_ALIASED: SecretReadColumns = SecretReadColumns {
    version: VersionColumns::new([
        "sec_id",
        "sec_vault_id",
        "sec_path",
        "sec_version",
        "sec_secret_type",
        "sec_metadata",
        "sec_rotation_policy",
        "sec_expires_at",
        "sec_max_access_count",
        "sec_access_count",
        "sec_is_disabled",
        "sec_deleted_at",
        "sec_created_by_type",
        "sec_created_by",
        "sec_created_at",
    ]),
    sealed: ["sec_ciphertext", "sec_wrapped_dek", "sec_kek_version", "sec_provider", "sec_handle"],
};

/// A vault of the org and the policies naming `who` on it, in one query: the vault's columns
/// (prefixed `v_`) on every row, a policy's (NULL without one) beside them. Policies come only
/// when the caller's held generation is not the vault's.
pub(super) async fn vault_access<DB: SqlBackend>(
    pool: &Pool<DB>,
    org: OrgId,
    vault: VaultId,
    who: PrincipalRef,
    held_generation: Option<i64>,
) -> Result<Option<VaultAccess>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        joined_vault_cols!(),
        ", ",
        no_policy_cols!(),
        " FROM vaults v WHERE v.id = $1 AND v.org_id = $2",
        policy_branch!("")
    ))
    .arg(vault.0)
    .arg(org.0)
    .arg(who.id)
    .arg(who.kind.as_str())
    // Generations start at 0, so -1 is "holds none".
    .arg(held_generation.unwrap_or(-1))
    .fetch_all_on(pool)
    .await
    .map_err(db_error)?;
    access_from_rows(&rows, held_generation)
}

/// `vault_access` and the version of `path` a read asks for (the latest when `version` is
/// `None`), in one statement: the secret's columns ride on the vault's own row.
#[allow(clippy::too_many_arguments)] // the two reads' arguments, side by side
pub(super) async fn vault_access_with_secret<DB: SqlBackend>(
    pool: &Pool<DB>,
    org: OrgId,
    vault: VaultId,
    who: PrincipalRef,
    held_generation: Option<i64>,
    path: &str,
    version: Option<i64>,
) -> Result<Option<(VaultAccess, Option<SecretRead>)>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        joined_vault_cols!(),
        ", ",
        no_policy_cols!(),
        ", ",
        secret_branch_cols!(),
        " FROM vaults v \
         LEFT JOIN secrets s ON s.vault_id = v.id AND s.path = $6 \
         LEFT JOIN secret_versions sv ON sv.secret_id = s.id AND sv.version = COALESCE($7, s.current_version) \
         LEFT JOIN vault_keys k ON k.vault_id = s.vault_id AND k.version = sv.kek_version \
         WHERE v.id = $1 AND v.org_id = $2",
        policy_branch!(concat!(", ", no_secret_cols!()))
    ))
    .arg(vault.0)
    .arg(org.0)
    .arg(who.id)
    .arg(who.kind.as_str())
    .arg(held_generation.unwrap_or(-1))
    .arg(path)
    .arg(version)
    .fetch_all_on(pool)
    .await
    .map_err(db_error)?;
    let Some(access) = access_from_rows(&rows, held_generation)? else { return Ok(None) };
    // The vault's own row is the one without a policy id; it carries the secret, if any (a
    // version whose KEK row is missing reads as no secret, as the inner joins of a plain read).
    let vault_row = rows.iter().find(|row| matches!(get::<Option<Uuid>>(*row, "id"), Ok(None)));
    let secret = match vault_row {
        Some(row) if get::<Option<Vec<u8>>>(row, "sec_handle")?.is_some() => {
            Some(secret_read_from_columns(row, vault, &SECRET_READ_ALIASED)?)
        }
        _ => None,
    };
    Ok(Some((access, secret)))
}

fn access_from_rows(rows: &[impl Columns], held_generation: Option<i64>) -> Result<Option<VaultAccess>> {
    let Some(first) = rows.first() else { return Ok(None) };
    let vault = vault_from_columns(first, &JOINED_VAULT_COLUMNS)?;
    let policy_generation: i64 = get(first, "v_policy_generation")?;
    if held_generation == Some(policy_generation) {
        return Ok(Some(VaultAccess { vault, policy_generation, policies: None }));
    }
    let mut policies = Vec::with_capacity(rows.len());
    for row in rows {
        if get::<Option<Uuid>>(row, "id")?.is_some() {
            policies.push(policy_from(row)?);
        }
    }
    Ok(Some(VaultAccess { vault, policy_generation, policies: Some(policies) }))
}
