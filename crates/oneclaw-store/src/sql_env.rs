//! Queries of environment variables (metadata, the environments each applies to, org-shared
//! values and links) and of vaults' custom environments, generic over the backend like
//! `sql_impl.rs` and `sql_tx.rs`, which delegate to these. A vault variable's value is a secret
//! and goes through the secret queries.

use crate::backend::{Columns, SqlBackend, Statement, Tx, get};
use crate::convert::{from_ms, principal, to_ms};
use crate::errors::{conflict_or, db_error};
use oneclaw_core::env_vars::{BUILTIN_ENVIRONMENTS, EnvScope, EnvVar, VaultEnvironment};
use oneclaw_core::ids::{EnvVarId, EnvironmentId, OrgId, SecretId, VaultId};
use oneclaw_core::{Error, Result};
use sqlx::Pool;
use time::OffsetDateTime;
use uuid::Uuid;

const ENV_VAR_SELECT: &str = "SELECT e.id, e.org_id, e.vault_id, e.env_key, e.git_branch, e.sensitive, e.comment, \
     e.version, e.secret_id, e.created_by_type, e.created_by, e.created_at, e.updated_at, x.environment \
     FROM env_vars e LEFT JOIN env_var_environments x ON x.env_var_id = e.id";
const ORDER: &str = " ORDER BY e.env_key, e.git_branch, e.id, x.environment";

/// Rows of `ENV_VAR_SELECT` (one per environment) folded into variables, in row order.
fn env_vars_from(rows: &[impl Columns]) -> Result<Vec<EnvVar>> {
    let mut vars: Vec<EnvVar> = Vec::new();
    for row in rows {
        let id = EnvVarId(get(row, "id")?);
        let environment: Option<String> = get(row, "environment")?;
        if let Some(last) = vars.last_mut().filter(|v| v.id == id) {
            last.environments.extend(environment);
            continue;
        }
        let kind: String = get(row, "created_by_type")?;
        let branch: String = get(row, "git_branch")?;
        vars.push(EnvVar {
            id,
            org_id: OrgId(get(row, "org_id")?),
            vault_id: get::<Option<Uuid>>(row, "vault_id")?.map(VaultId),
            key: get(row, "env_key")?,
            environments: environment.into_iter().collect(),
            git_branch: Some(branch).filter(|b| !b.is_empty()),
            sensitive: get(row, "sensitive")?,
            comment: get(row, "comment")?,
            version: get(row, "version")?,
            secret_id: get::<Option<Uuid>>(row, "secret_id")?.map(SecretId),
            created_by: principal(&kind, get(row, "created_by")?)?,
            created_at: from_ms(get(row, "created_at")?)?,
            updated_at: from_ms(get(row, "updated_at")?)?,
            linked_vaults: Vec::new(),
        });
    }
    for var in &mut vars {
        oneclaw_core::env_vars::order_environments(&mut var.environments);
    }
    Ok(vars)
}

/// Fills in the vaults each org-shared variable of `org` is linked to.
async fn with_links<DB: SqlBackend>(pool: &Pool<DB>, org: OrgId, mut vars: Vec<EnvVar>) -> Result<Vec<EnvVar>> {
    if vars.iter().all(|v| v.vault_id.is_some()) {
        return Ok(vars);
    }
    let rows = sqlx::query(
        "SELECT l.env_var_id, l.vault_id FROM env_var_links l JOIN env_vars e ON e.id = l.env_var_id \
         WHERE e.org_id = $1 ORDER BY l.created_at, l.vault_id",
    )
    .arg(org.0)
    .fetch_all_on(pool)
    .await
    .map_err(db_error)?;
    for row in &rows {
        let id = EnvVarId(get(row, "env_var_id")?);
        let vault = VaultId(get(row, "vault_id")?);
        if let Some(var) = vars.iter_mut().find(|v| v.id == id) {
            var.linked_vaults.push(vault);
        }
    }
    Ok(vars)
}

pub(super) async fn env_vars<DB: SqlBackend>(pool: &Pool<DB>, scope: EnvScope) -> Result<Vec<EnvVar>> {
    let (sql, id, org) = match scope {
        EnvScope::Vault(vault) => (format!("{ENV_VAR_SELECT} WHERE e.vault_id = $1{ORDER}"), vault.0, None),
        EnvScope::Org(org) => {
            (format!("{ENV_VAR_SELECT} WHERE e.org_id = $1 AND e.vault_id IS NULL{ORDER}"), org.0, Some(org))
        }
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).arg(id).fetch_all_on(pool).await.map_err(db_error)?;
    let vars = env_vars_from(&rows)?;
    match org {
        Some(org) => with_links(pool, org, vars).await,
        None => Ok(vars),
    }
}

pub(super) async fn env_var<DB: SqlBackend>(pool: &Pool<DB>, org: OrgId, id: EnvVarId) -> Result<Option<EnvVar>> {
    let sql = format!("{ENV_VAR_SELECT} WHERE e.id = $1 AND e.org_id = $2{ORDER}");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).arg(id.0).arg(org.0).fetch_all_on(pool).await.map_err(db_error)?;
    let vars = with_links(pool, org, env_vars_from(&rows)?).await?;
    Ok(vars.into_iter().next())
}

/// The org-shared variables linked into `vault`; `linked_vaults` holds only that vault.
pub(super) async fn linked_env_vars<DB: SqlBackend>(pool: &Pool<DB>, vault: VaultId) -> Result<Vec<EnvVar>> {
    let sql = format!(
        "{ENV_VAR_SELECT} JOIN env_var_links l ON l.env_var_id = e.id WHERE l.vault_id = $1 AND e.vault_id IS NULL{ORDER}"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).arg(vault.0).fetch_all_on(pool).await.map_err(db_error)?;
    let mut vars = env_vars_from(&rows)?;
    for var in &mut vars {
        var.linked_vaults = vec![vault];
    }
    Ok(vars)
}

pub(super) async fn shared_env_value<DB: SqlBackend>(
    pool: &Pool<DB>,
    id: EnvVarId,
    version: i64,
) -> Result<Option<Vec<u8>>> {
    sqlx::query("SELECT sealed FROM env_var_values WHERE env_var_id = $1 AND version = $2")
        .arg(id.0)
        .arg(version)
        .fetch_optional_scalar_on(pool)
        .await
        .map_err(db_error)
}

pub(super) async fn vault_environments<DB: SqlBackend>(
    pool: &Pool<DB>,
    vault: VaultId,
) -> Result<Vec<VaultEnvironment>> {
    let rows = sqlx::query(
        "SELECT id, vault_id, slug, description, copied_from, created_at FROM vault_environments \
         WHERE vault_id = $1 ORDER BY slug",
    )
    .arg(vault.0)
    .fetch_all_on(pool)
    .await
    .map_err(db_error)?;
    rows.iter()
        .map(|row| {
            Ok(VaultEnvironment {
                id: EnvironmentId(get(row, "id")?),
                vault_id: VaultId(get(row, "vault_id")?),
                slug: get(row, "slug")?,
                description: get(row, "description")?,
                copied_from: get(row, "copied_from")?,
                created_at: from_ms(get(row, "created_at")?)?,
            })
        })
        .collect()
}

fn scope_id(var: &EnvVar) -> Uuid {
    match var.scope() {
        EnvScope::Vault(vault) => vault.0,
        EnvScope::Org(org) => org.0,
    }
}

/// Takes the vault's lock for environment changes.
async fn lock_vault<DB: SqlBackend>(tx: &mut Tx<DB>, vault: VaultId) -> Result<()> {
    sqlx::query(DB::LOCK_VAULT_ENVIRONMENTS).arg(vault.0).fetch_optional_on(&mut *tx).await.map_err(db_error)?;
    Ok(())
}

/// Under the vault's lock: every custom environment the variable names still exists.
async fn environments_exist<DB: SqlBackend>(tx: &mut Tx<DB>, var: &EnvVar) -> Result<()> {
    let Some(vault) = var.vault_id else {
        return Ok(());
    };
    lock_vault(tx, vault).await?;
    for environment in var.environments.iter().filter(|e| !BUILTIN_ENVIRONMENTS.contains(&e.as_str())) {
        let found: Option<Uuid> = sqlx::query("SELECT id FROM vault_environments WHERE vault_id = $1 AND slug = $2")
            .arg(vault.0)
            .arg(environment.as_str())
            .fetch_optional_scalar_on(&mut *tx)
            .await
            .map_err(db_error)?;
        if found.is_none() {
            return Err(Error::NotFound(format!("No environment '{environment}' in this vault")));
        }
    }
    Ok(())
}

async fn insert_environments<DB: SqlBackend>(tx: &mut Tx<DB>, var: &EnvVar) -> Result<()> {
    let branch = var.git_branch.as_deref().unwrap_or("");
    for environment in &var.environments {
        let conflict = match &var.git_branch {
            Some(branch) => format!("{} already has an override on branch {branch} in {environment}", var.key),
            None => format!("A variable {} already exists in environment {environment}", var.key),
        };
        sqlx::query(
            "INSERT INTO env_var_environments (env_var_id, scope_id, env_key, environment, git_branch) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .arg(var.id.0)
        .arg(scope_id(var))
        .arg(var.key.as_str())
        .arg(environment.as_str())
        .arg(branch)
        .execute_on(&mut *tx)
        .await
        .map_err(conflict_or(&conflict))?;
    }
    Ok(())
}

pub(super) async fn insert_env_var<DB: SqlBackend>(tx: &mut Tx<DB>, var: &EnvVar) -> Result<()> {
    environments_exist(tx, var).await?;
    sqlx::query(
        "INSERT INTO env_vars (id, org_id, vault_id, env_key, git_branch, sensitive, comment, version, secret_id, \
         created_by_type, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .arg(var.id.0)
    .arg(var.org_id.0)
    .arg(var.vault_id.map(|v| v.0))
    .arg(var.key.as_str())
    .arg(var.git_branch.as_deref().unwrap_or(""))
    .arg(var.sensitive)
    .arg(var.comment.as_deref())
    .arg(var.version)
    .arg(var.secret_id.map(|s| s.0))
    .arg(var.created_by.kind.as_str())
    .arg(var.created_by.id)
    .arg(to_ms(var.created_at))
    .arg(to_ms(var.updated_at))
    .execute_on(&mut *tx)
    .await
    .map_err(db_error)?;
    insert_environments(tx, var).await
}

pub(super) async fn update_env_var<DB: SqlBackend>(tx: &mut Tx<DB>, var: &EnvVar) -> Result<()> {
    environments_exist(tx, var).await?;
    sqlx::query(
        "UPDATE env_vars SET sensitive = $2, comment = $3, version = $4, secret_id = $5, updated_at = $6 \
         WHERE id = $1",
    )
    .arg(var.id.0)
    .arg(var.sensitive)
    .arg(var.comment.as_deref())
    .arg(var.version)
    .arg(var.secret_id.map(|s| s.0))
    .arg(to_ms(var.updated_at))
    .execute_on(&mut *tx)
    .await
    .map_err(db_error)?;
    sqlx::query("DELETE FROM env_var_environments WHERE env_var_id = $1")
        .arg(var.id.0)
        .execute_on(&mut *tx)
        .await
        .map_err(db_error)?;
    insert_environments(tx, var).await
}

pub(super) async fn delete_env_var<DB: SqlBackend>(tx: &mut Tx<DB>, org: OrgId, id: EnvVarId) -> Result<bool> {
    let done = sqlx::query("DELETE FROM env_vars WHERE id = $1 AND org_id = $2")
        .arg(id.0)
        .arg(org.0)
        .execute_on(tx)
        .await
        .map_err(db_error)?;
    Ok(done > 0)
}

pub(super) async fn insert_shared_env_value<DB: SqlBackend>(
    tx: &mut Tx<DB>,
    id: EnvVarId,
    version: i64,
    sealed: &[u8],
    now: OffsetDateTime,
) -> Result<()> {
    sqlx::query("INSERT INTO env_var_values (env_var_id, version, sealed, created_at) VALUES ($1, $2, $3, $4)")
        .arg(id.0)
        .arg(version)
        .arg(sealed)
        .arg(to_ms(now))
        .execute_on(tx)
        .await
        .map_err(db_error)?;
    Ok(())
}

pub(super) async fn link_env_var<DB: SqlBackend>(
    tx: &mut Tx<DB>,
    id: EnvVarId,
    vault: VaultId,
    now: OffsetDateTime,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO env_var_links (env_var_id, vault_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (env_var_id, vault_id) DO NOTHING",
    )
    .arg(id.0)
    .arg(vault.0)
    .arg(to_ms(now))
    .execute_on(tx)
    .await
    .map_err(db_error)?;
    Ok(done > 0)
}

pub(super) async fn unlink_env_var<DB: SqlBackend>(tx: &mut Tx<DB>, id: EnvVarId, vault: VaultId) -> Result<bool> {
    let done = sqlx::query("DELETE FROM env_var_links WHERE env_var_id = $1 AND vault_id = $2")
        .arg(id.0)
        .arg(vault.0)
        .execute_on(tx)
        .await
        .map_err(db_error)?;
    Ok(done > 0)
}

pub(super) async fn insert_environment<DB: SqlBackend>(
    tx: &mut Tx<DB>,
    env: &VaultEnvironment,
    max_custom: usize,
) -> Result<()> {
    lock_vault(tx, env.vault_id).await?;
    let count: i64 = sqlx::query("SELECT COUNT(*) FROM vault_environments WHERE vault_id = $1")
        .arg(env.vault_id.0)
        .fetch_scalar_on(&mut *tx)
        .await
        .map_err(db_error)?;
    if usize::try_from(count).unwrap_or(usize::MAX) >= max_custom {
        return Err(Error::invalid(format!("a vault has at most {max_custom} custom environments")));
    }
    sqlx::query(
        "INSERT INTO vault_environments (id, vault_id, slug, description, copied_from, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .arg(env.id.0)
    .arg(env.vault_id.0)
    .arg(env.slug.as_str())
    .arg(env.description.as_deref())
    .arg(env.copied_from.as_deref())
    .arg(to_ms(env.created_at))
    .execute_on(tx)
    .await
    .map_err(conflict_or(&format!("The vault already has an environment {}", env.slug)))?;
    Ok(())
}

pub(super) async fn delete_environment<DB: SqlBackend>(tx: &mut Tx<DB>, vault: VaultId, slug: &str) -> Result<bool> {
    lock_vault(tx, vault).await?;
    let in_use: i64 = sqlx::query(
        "SELECT COUNT(*) FROM env_var_environments x JOIN env_vars e ON e.id = x.env_var_id \
         WHERE e.vault_id = $1 AND x.environment = $2",
    )
    .arg(vault.0)
    .arg(slug)
    .fetch_scalar_on(&mut *tx)
    .await
    .map_err(db_error)?;
    if in_use > 0 {
        return Err(Error::Conflict(format!(
            "{in_use} variable(s) still apply to {slug}; delete them or take them out of it first"
        )));
    }
    let done = sqlx::query("DELETE FROM vault_environments WHERE vault_id = $1 AND slug = $2")
        .arg(vault.0)
        .arg(slug)
        .execute_on(tx)
        .await
        .map_err(db_error)?;
    Ok(done > 0)
}
