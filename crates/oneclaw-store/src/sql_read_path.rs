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
/// when the caller's held generation (`$5`) is not the vault's.
/// `$1` vault, `$2` org, `$3` principal id, `$4` principal kind, `$5` held generation (-1: none).
pub(crate) const VAULT_ACCESS_SQL: &str = concat!(
    "SELECT ",
    joined_vault_cols!(),
    ", ",
    no_policy_cols!(),
    " FROM vaults v WHERE v.id = $1 AND v.org_id = $2",
    policy_branch!("")
);

/// `VAULT_ACCESS_SQL` with the version of `$6` (a path) a read asks for (`$7`, NULL for the
/// latest) riding on the vault's own row.
pub(crate) const VAULT_ACCESS_WITH_SECRET_SQL: &str = concat!(
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
);

/// Generations start at 0, so -1 is "holds none".
pub(crate) fn held_or_none(held_generation: Option<i64>) -> i64 {
    held_generation.unwrap_or(-1)
}

pub(super) async fn vault_access<DB: SqlBackend>(
    pool: &Pool<DB>,
    org: OrgId,
    vault: VaultId,
    who: PrincipalRef,
    held_generation: Option<i64>,
) -> Result<Option<VaultAccess>> {
    let rows = sqlx::query(VAULT_ACCESS_SQL)
        .arg(vault.0)
        .arg(org.0)
        .arg(who.id)
        .arg(who.kind.as_str())
        .arg(held_or_none(held_generation))
        .fetch_all_on(pool)
        .await
        .map_err(db_error)?;
    let mut read = AccessRows::new(vault, held_generation, false);
    for row in &rows {
        read.add(row)?;
    }
    Ok(read.finish().map(|(access, _)| access))
}

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
    let rows = sqlx::query(VAULT_ACCESS_WITH_SECRET_SQL)
        .arg(vault.0)
        .arg(org.0)
        .arg(who.id)
        .arg(who.kind.as_str())
        .arg(held_or_none(held_generation))
        .arg(path)
        .arg(version)
        .fetch_all_on(pool)
        .await
        .map_err(db_error)?;
    let mut read = AccessRows::new(vault, held_generation, true);
    for row in &rows {
        read.add(row)?;
    }
    Ok(read.finish())
}

/// Builds a `VaultAccess` (and the secret) from the rows of either statement, one row at a
/// time, so a streaming reader (the SQLite inline path) needs no row buffer.
pub(crate) struct AccessRows {
    vault_id: VaultId,
    held_generation: Option<i64>,
    with_secret: bool,
    vault: Option<(oneclaw_core::model::Vault, i64)>,
    policies: Vec<oneclaw_core::policy::Policy>,
    secret: Option<SecretRead>,
}

impl AccessRows {
    pub(crate) fn new(vault_id: VaultId, held_generation: Option<i64>, with_secret: bool) -> Self {
        Self { vault_id, held_generation, with_secret, vault: None, policies: Vec::new(), secret: None }
    }

    pub(crate) fn add(&mut self, row: &impl Columns) -> Result<()> {
        if self.vault.is_none() {
            let vault = vault_from_columns(row, &JOINED_VAULT_COLUMNS)?;
            self.vault = Some((vault, get(row, "v_policy_generation")?));
        }
        if get::<Option<Uuid>>(row, "id")?.is_some() {
            self.policies.push(policy_from(row)?);
        } else if self.with_secret && get::<Option<String>>(row, "sec_provider")?.is_some() {
            // The vault's own row carries the secret, if any; a version whose KEK row is
            // missing reads as no secret, as with the inner joins of a plain read.
            self.secret = Some(secret_read_from_columns(row, self.vault_id, &SECRET_READ_ALIASED)?);
        }
        Ok(())
    }

    /// `None` when no row came: the org has no such vault.
    pub(crate) fn finish(self) -> Option<(VaultAccess, Option<SecretRead>)> {
        let (vault, policy_generation) = self.vault?;
        let policies = (self.held_generation != Some(policy_generation)).then_some(self.policies);
        Some((VaultAccess { vault, policy_generation, policies }, self.secret))
    }
}
