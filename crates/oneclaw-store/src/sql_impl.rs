//! The one query set, compiled once per backend (see the crate docs). `Db`, `BACKEND` and
//! `begin_write` come from the including module. Placeholders are `$N` throughout.

use super::sql_access as access;
use super::{BACKEND, Db, begin_write};
use crate::convert::{from_json_text, from_ms, opt_from_ms, principal, to_json_text, to_ms};
use crate::errors::{conflict_or, db_error};
use async_trait::async_trait;
use oneclaw_core::audit::{AuditEvent, Outcome};
use oneclaw_core::ids::{
    AgentId, ApiKeyId, AuditEventId, InviteId, IpRuleId, OrgId, PolicyId, SecretId, SessionId, ShareId, UserId, VaultId,
};
use oneclaw_core::model::{
    Agent, ApiKey, Invite, IpRule, Org, Role, SealedValue, SecretVersion, Session, Share, User, Vault,
};
use oneclaw_core::path::PathPrefix;
use oneclaw_core::policy::Policy;
use oneclaw_core::ports::{AuditQuery, KekRef, SecretRead, Store, StoreTx};
use oneclaw_core::principal::PrincipalRef;
use oneclaw_core::{Error, Result};
use sqlx::{Pool, Row, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

pub(super) type DbRow = <Db as sqlx::Database>::Row;

macro_rules! user_cols {
    () => {
        "id, org_id, email, display_name, password_hash, role, auth_method, email_verified, marketing_emails, \
         totp_enabled, created_at, disabled_at"
    };
}
macro_rules! vault_cols {
    () => {
        "id, org_id, name, description, created_by_type, created_by, created_at, kek_version, owner_user_id"
    };
}
macro_rules! version_cols {
    () => {
        "s.id, s.vault_id, s.path, v.version, v.secret_type, v.metadata, v.rotation_policy, v.expires_at, \
         v.max_access_count, v.access_count, v.is_disabled, v.deleted_at, v.created_by_type, v.created_by, v.created_at"
    };
}
macro_rules! api_key_cols {
    () => {
        "id, user_id, org_id, name, key_prefix, digest, scopes, is_active, created_at, expires_at, last_used_at"
    };
}
macro_rules! session_cols {
    () => {
        "id, user_id, org_id, refresh_digest, created_at, expires_at, revoked_at"
    };
}
macro_rules! audit_cols {
    () => {
        "id, org_id, actor_type, actor_id, action, resource_type, resource_id, details, ip_address, user_agent, \
         surface, outcome, created_at"
    };
}

/// A store over a connection pool of this backend.
pub struct SqlStore {
    pool: Pool<Db>,
}

impl SqlStore {
    pub(super) fn new(pool: Pool<Db>) -> Self {
        Self { pool }
    }

    /// The pool, for tests and maintenance commands that need raw access.
    pub fn pool(&self) -> &Pool<Db> {
        &self.pool
    }
}

struct SqlTx {
    tx: Transaction<'static, Db>,
}

pub(super) fn get<'r, T>(row: &'r DbRow, column: &str) -> Result<T>
where
    T: sqlx::Decode<'r, Db> + sqlx::Type<Db>,
{
    row.try_get(column).map_err(|err| Error::Internal(format!("column {column}: {err}")))
}

fn user_from(row: &DbRow) -> Result<User> {
    let role: String = get(row, "role")?;
    Ok(User {
        id: UserId(get(row, "id")?),
        org_id: OrgId(get(row, "org_id")?),
        email: get(row, "email")?,
        display_name: get(row, "display_name")?,
        password_hash: get(row, "password_hash")?,
        role: Role::parse(&role).ok_or_else(|| Error::Internal(format!("stored role {role:?}")))?,
        auth_method: get(row, "auth_method")?,
        email_verified: get(row, "email_verified")?,
        marketing_emails: get(row, "marketing_emails")?,
        totp_enabled: get(row, "totp_enabled")?,
        created_at: from_ms(get(row, "created_at")?)?,
        disabled_at: opt_from_ms(get(row, "disabled_at")?)?,
    })
}

fn vault_from(row: &DbRow) -> Result<Vault> {
    let kind: String = get(row, "created_by_type")?;
    Ok(Vault {
        id: VaultId(get(row, "id")?),
        org_id: OrgId(get(row, "org_id")?),
        name: get(row, "name")?,
        description: get(row, "description")?,
        created_by: principal(&kind, get(row, "created_by")?)?,
        owner_user_id: UserId(get(row, "owner_user_id")?),
        created_at: from_ms(get(row, "created_at")?)?,
        kek_version: get(row, "kek_version")?,
    })
}

fn version_from(row: &DbRow) -> Result<SecretVersion> {
    let kind: String = get(row, "created_by_type")?;
    let metadata: String = get(row, "metadata")?;
    let rotation_policy: Option<String> = get(row, "rotation_policy")?;
    Ok(SecretVersion {
        secret_id: SecretId(get(row, "id")?),
        vault_id: VaultId(get(row, "vault_id")?),
        path: get(row, "path")?,
        version: get(row, "version")?,
        secret_type: get(row, "secret_type")?,
        metadata: from_json_text(&metadata)?,
        rotation_policy: rotation_policy.as_deref().map(from_json_text).transpose()?,
        expires_at: opt_from_ms(get(row, "expires_at")?)?,
        max_access_count: get(row, "max_access_count")?,
        access_count: get(row, "access_count")?,
        is_disabled: get(row, "is_disabled")?,
        deleted_at: opt_from_ms(get(row, "deleted_at")?)?,
        created_by: principal(&kind, get(row, "created_by")?)?,
        created_at: from_ms(get(row, "created_at")?)?,
    })
}

fn api_key_from(row: &DbRow) -> Result<ApiKey> {
    let scopes: String = get(row, "scopes")?;
    Ok(ApiKey {
        id: ApiKeyId(get(row, "id")?),
        user_id: UserId(get(row, "user_id")?),
        org_id: OrgId(get(row, "org_id")?),
        name: get(row, "name")?,
        key_prefix: get(row, "key_prefix")?,
        digest: get(row, "digest")?,
        scopes: serde_json::from_str(&scopes).map_err(|err| Error::Internal(format!("stored scopes: {err}")))?,
        is_active: get(row, "is_active")?,
        created_at: from_ms(get(row, "created_at")?)?,
        expires_at: opt_from_ms(get(row, "expires_at")?)?,
        last_used_at: opt_from_ms(get(row, "last_used_at")?)?,
    })
}

fn session_from(row: &DbRow) -> Result<Session> {
    Ok(Session {
        id: SessionId(get(row, "id")?),
        user_id: UserId(get(row, "user_id")?),
        org_id: OrgId(get(row, "org_id")?),
        refresh_digest: get(row, "refresh_digest")?,
        created_at: from_ms(get(row, "created_at")?)?,
        expires_at: from_ms(get(row, "expires_at")?)?,
        revoked_at: opt_from_ms(get(row, "revoked_at")?)?,
    })
}

fn audit_from(row: &DbRow) -> Result<AuditEvent> {
    let details: String = get(row, "details")?;
    let outcome: String = get(row, "outcome")?;
    Ok(AuditEvent {
        id: AuditEventId(get(row, "id")?),
        org_id: OrgId(get(row, "org_id")?),
        actor_type: get(row, "actor_type")?,
        actor_id: get(row, "actor_id")?,
        action: get(row, "action")?,
        resource_type: get(row, "resource_type")?,
        resource_id: get(row, "resource_id")?,
        details: from_json_text(&details)?,
        ip_address: get(row, "ip_address")?,
        user_agent: get(row, "user_agent")?,
        surface: get(row, "surface")?,
        outcome: match outcome.as_str() {
            "success" => Outcome::Success,
            "denied" => Outcome::Denied,
            _ => Outcome::Failure,
        },
        created_at: from_ms(get(row, "created_at")?)?,
    })
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(db_error)?;
        Ok(())
    }

    async fn begin(&self) -> Result<Box<dyn StoreTx>> {
        Ok(Box::new(SqlTx { tx: begin_write(&self.pool).await? }))
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let row = sqlx::query(concat!("SELECT ", user_cols!(), " FROM users WHERE email = $1"))
            .bind(email)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(user_from).transpose()
    }

    async fn user(&self, id: UserId) -> Result<Option<User>> {
        let row = sqlx::query(concat!("SELECT ", user_cols!(), " FROM users WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(user_from).transpose()
    }

    async fn count_users(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await.map_err(db_error)
    }

    async fn vault(&self, org: OrgId, id: VaultId) -> Result<Option<Vault>> {
        let row = sqlx::query(concat!("SELECT ", vault_cols!(), " FROM vaults WHERE id = $1 AND org_id = $2"))
            .bind(id.0)
            .bind(org.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(vault_from).transpose()
    }

    async fn vaults(&self, org: OrgId) -> Result<Vec<Vault>> {
        let rows =
            sqlx::query(concat!("SELECT ", vault_cols!(), " FROM vaults WHERE org_id = $1 ORDER BY created_at, id"))
                .bind(org.0)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
        rows.iter().map(vault_from).collect()
    }

    async fn vault_key(&self, vault: VaultId, version: i64) -> Result<Option<KekRef>> {
        let row = sqlx::query("SELECT provider, handle FROM vault_keys WHERE vault_id = $1 AND version = $2")
            .bind(vault.0)
            .bind(version)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.map(|row| {
            Ok(KekRef { vault_id: vault, version, provider: get(&row, "provider")?, handle: get(&row, "handle")? })
        })
        .transpose()
    }

    async fn latest_secrets(&self, vault: VaultId, prefix: &PathPrefix) -> Result<Vec<SecretVersion>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            version_cols!(),
            " FROM secrets s JOIN secret_versions v ON v.secret_id = s.id AND v.version = s.current_version \
             WHERE s.vault_id = $1 AND s.deleted_at IS NULL AND ($2 = '' OR substr(s.path, 1, length($2)) = $2) \
             ORDER BY s.path"
        ))
        .bind(vault.0)
        .bind(prefix.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter().map(version_from).collect()
    }

    async fn secret_versions(&self, vault: VaultId, path: &str) -> Result<Vec<SecretVersion>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            version_cols!(),
            " FROM secrets s JOIN secret_versions v ON v.secret_id = s.id \
             WHERE s.vault_id = $1 AND s.path = $2 ORDER BY v.version"
        ))
        .bind(vault.0)
        .bind(path)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter().map(version_from).collect()
    }

    async fn api_keys_by_prefix(&self, key_prefix: &str) -> Result<Vec<ApiKey>> {
        let rows = sqlx::query(concat!("SELECT ", api_key_cols!(), " FROM api_keys WHERE key_prefix = $1"))
            .bind(key_prefix)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter().map(api_key_from).collect()
    }

    async fn api_keys_of(&self, user: UserId) -> Result<Vec<ApiKey>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            api_key_cols!(),
            " FROM api_keys WHERE user_id = $1 ORDER BY created_at DESC, id DESC"
        ))
        .bind(user.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter().map(api_key_from).collect()
    }

    async fn session(&self, id: SessionId) -> Result<Option<Session>> {
        let row = sqlx::query(concat!("SELECT ", session_cols!(), " FROM sessions WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(session_from).transpose()
    }

    async fn session_by_refresh_digest(&self, digest: &[u8]) -> Result<Option<Session>> {
        let row = sqlx::query(concat!("SELECT ", session_cols!(), " FROM sessions WHERE refresh_digest = $1"))
            .bind(digest)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(session_from).transpose()
    }

    async fn live_revocations(&self, now: OffsetDateTime) -> Result<Vec<(Uuid, i64)>> {
        let rows = sqlx::query(
            "SELECT id, expires_at AS forget_after FROM sessions WHERE revoked_at IS NOT NULL AND expires_at > $1 \
             UNION ALL SELECT jti AS id, forget_after FROM revoked_tokens WHERE forget_after > $1",
        )
        .bind(to_ms(now))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter().map(|row| Ok((get(row, "id")?, get::<i64>(row, "forget_after")? / 1000))).collect()
    }

    async fn system_secret(&self, purpose: &str) -> Result<Option<Vec<u8>>> {
        sqlx::query_scalar("SELECT sealed FROM system_secrets WHERE purpose = $1")
            .bind(purpose)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)
    }

    async fn audit_events(&self, org: OrgId, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            audit_cols!(),
            " FROM audit_events WHERE org_id = $1 \
             AND ($2 IS NULL OR resource_id = $2) AND ($3 IS NULL OR actor_id = $3) AND ($4 IS NULL OR action = $4) \
             AND ($5 IS NULL OR created_at >= $5) AND ($6 IS NULL OR created_at <= $6) \
             ORDER BY created_at DESC, id DESC LIMIT $7 OFFSET $8"
        ))
        .bind(org.0)
        .bind(query.resource_id.as_deref())
        .bind(query.actor_id)
        .bind(query.action.as_deref())
        .bind(query.from.map(to_ms))
        .bind(query.to.map(to_ms))
        .bind(query.limit)
        .bind(query.offset)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter().map(audit_from).collect()
    }

    async fn org_members(&self, org: OrgId) -> Result<Vec<User>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            user_cols!(),
            " FROM users WHERE org_id = $1 AND disabled_at IS NULL ORDER BY created_at, id"
        ))
        .bind(org.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter().map(user_from).collect()
    }

    async fn open_invite(&self, email: &str) -> Result<Option<Invite>> {
        access::open_invite(&self.pool, email).await
    }

    async fn agent(&self, org: OrgId, id: AgentId) -> Result<Option<Agent>> {
        access::agent(&self.pool, org, id).await
    }

    async fn agents(&self, org: OrgId) -> Result<Vec<Agent>> {
        access::agents(&self.pool, org).await
    }

    async fn agents_by_key_prefix(&self, key_prefix: &str) -> Result<Vec<Agent>> {
        access::agents_by_key_prefix(&self.pool, key_prefix).await
    }

    async fn agent_generations(&self) -> Result<Vec<(Uuid, i64)>> {
        access::agent_generations(&self.pool).await
    }

    async fn policies_for(&self, vault: VaultId, principal: PrincipalRef) -> Result<Vec<Policy>> {
        access::policies_for(&self.pool, vault, principal).await
    }

    async fn vault_policies(&self, vault: VaultId) -> Result<Vec<Policy>> {
        access::vault_policies(&self.pool, vault).await
    }

    async fn principal_policies(&self, principal: PrincipalRef) -> Result<Vec<Policy>> {
        access::principal_policies(&self.pool, principal).await
    }

    async fn ip_rules(&self, org: OrgId) -> Result<Vec<IpRule>> {
        access::ip_rules(&self.pool, org).await
    }

    async fn secret_location(&self, org: OrgId, secret: SecretId) -> Result<Option<(VaultId, String)>> {
        access::secret_location(&self.pool, org, secret).await
    }

    async fn share(&self, id: ShareId) -> Result<Option<Share>> {
        access::share(&self.pool, id).await
    }

    async fn shares_created_by(&self, principal: PrincipalRef) -> Result<Vec<Share>> {
        access::shares_created_by(&self.pool, principal).await
    }

    async fn shares_received_by(&self, principal: PrincipalRef, email: Option<&str>) -> Result<Vec<Share>> {
        access::shares_received_by(&self.pool, principal, email).await
    }
}

#[async_trait]
impl StoreTx for SqlTx {
    async fn insert_org(&mut self, org: &Org) -> Result<()> {
        sqlx::query("INSERT INTO orgs (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(org.id.0)
            .bind(&org.name)
            .bind(to_ms(org.created_at))
            .execute(&mut *self.tx)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn insert_user(&mut self, user: &User) -> Result<()> {
        sqlx::query(concat!(
            "INSERT INTO users (",
            user_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(user.id.0)
        .bind(user.org_id.0)
        .bind(&user.email)
        .bind(&user.display_name)
        .bind(user.password_hash.as_deref())
        .bind(user.role.as_str())
        .bind(&user.auth_method)
        .bind(user.email_verified)
        .bind(user.marketing_emails)
        .bind(user.totp_enabled)
        .bind(to_ms(user.created_at))
        .bind(user.disabled_at.map(to_ms))
        .execute(&mut *self.tx)
        .await
        .map_err(conflict_or("An account with this email already exists"))?;
        Ok(())
    }

    async fn update_user_profile(&mut self, id: UserId, display_name: &str, marketing_emails: bool) -> Result<()> {
        sqlx::query("UPDATE users SET display_name = $2, marketing_emails = $3 WHERE id = $1")
            .bind(id.0)
            .bind(display_name)
            .bind(marketing_emails)
            .execute(&mut *self.tx)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn update_password(&mut self, id: UserId, phc: &str) -> Result<()> {
        sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
            .bind(id.0)
            .bind(phc)
            .execute(&mut *self.tx)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn insert_vault(&mut self, vault: &Vault, kek: &KekRef) -> Result<()> {
        sqlx::query(concat!("INSERT INTO vaults (", vault_cols!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"))
            .bind(vault.id.0)
            .bind(vault.org_id.0)
            .bind(&vault.name)
            .bind(&vault.description)
            .bind(vault.created_by.kind.as_str())
            .bind(vault.created_by.id)
            .bind(to_ms(vault.created_at))
            .bind(vault.kek_version)
            .bind(vault.owner_user_id.0)
            .execute(&mut *self.tx)
            .await
            .map_err(conflict_or("A vault with this name already exists"))?;
        sqlx::query(
            "INSERT INTO vault_keys (vault_id, version, provider, handle, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(kek.vault_id.0)
        .bind(kek.version)
        .bind(&kek.provider)
        .bind(&kek.handle)
        .bind(to_ms(vault.created_at))
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn delete_vault(&mut self, org: OrgId, id: VaultId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM vaults WHERE id = $1 AND org_id = $2")
            .bind(id.0)
            .bind(org.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn next_secret_version(
        &mut self,
        vault: VaultId,
        path: &str,
        now: OffsetDateTime,
    ) -> Result<(SecretId, i64)> {
        let row = sqlx::query(
            "INSERT INTO secrets (id, vault_id, path, current_version, deleted_at, created_at, updated_at) \
             VALUES ($1, $2, $3, 1, NULL, $4, $4) \
             ON CONFLICT (vault_id, path) DO UPDATE SET current_version = secrets.current_version + 1, \
             deleted_at = NULL, updated_at = excluded.updated_at \
             RETURNING id, current_version",
        )
        .bind(SecretId::generate().0)
        .bind(vault.0)
        .bind(path)
        .bind(to_ms(now))
        .fetch_one(&mut *self.tx)
        .await
        .map_err(db_error)?;
        Ok((SecretId(get(&row, "id")?), get(&row, "current_version")?))
    }

    async fn insert_secret_version(&mut self, version: &SecretVersion, sealed: &SealedValue) -> Result<()> {
        sqlx::query(
            "INSERT INTO secret_versions (secret_id, version, secret_type, metadata, rotation_policy, expires_at, \
             max_access_count, access_count, is_disabled, deleted_at, created_by_type, created_by, created_at, \
             ciphertext, wrapped_dek, kek_version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(version.secret_id.0)
        .bind(version.version)
        .bind(&version.secret_type)
        .bind(to_json_text(&version.metadata))
        .bind(version.rotation_policy.as_ref().map(to_json_text))
        .bind(version.expires_at.map(to_ms))
        .bind(version.max_access_count)
        .bind(version.access_count)
        .bind(version.is_disabled)
        .bind(version.deleted_at.map(to_ms))
        .bind(version.created_by.kind.as_str())
        .bind(version.created_by.id)
        .bind(to_ms(version.created_at))
        .bind(&sealed.ciphertext)
        .bind(&sealed.wrapped_dek)
        .bind(sealed.kek_version)
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn secret_for_read(
        &mut self,
        vault: VaultId,
        path: &str,
        version: Option<i64>,
    ) -> Result<Option<SecretRead>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            version_cols!(),
            ", v.ciphertext, v.wrapped_dek, v.kek_version, k.provider, k.handle \
             FROM secrets s \
             JOIN secret_versions v ON v.secret_id = s.id AND v.version = COALESCE($3, s.current_version) \
             JOIN vault_keys k ON k.vault_id = s.vault_id AND k.version = v.kek_version \
             WHERE s.vault_id = $1 AND s.path = $2"
        ))
        .bind(vault.0)
        .bind(path)
        .bind(version)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(db_error)?;
        let Some(row) = row else { return Ok(None) };
        let kek_version: i64 = get(&row, "kek_version")?;
        Ok(Some(SecretRead {
            version: version_from(&row)?,
            sealed: SealedValue {
                ciphertext: get(&row, "ciphertext")?,
                wrapped_dek: get(&row, "wrapped_dek")?,
                kek_version,
            },
            kek: KekRef {
                vault_id: vault,
                version: kek_version,
                provider: get(&row, "provider")?,
                handle: get(&row, "handle")?,
            },
        }))
    }

    async fn count_secret_access(&mut self, secret: SecretId, version: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE secret_versions SET access_count = access_count + 1 \
             WHERE secret_id = $1 AND version = $2 AND (max_access_count IS NULL OR access_count < max_access_count)",
        )
        .bind(secret.0)
        .bind(version)
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn soft_delete_secret(&mut self, vault: VaultId, path: &str, now: OffsetDateTime) -> Result<bool> {
        let id: Option<Uuid> = sqlx::query_scalar(
            "UPDATE secrets SET deleted_at = $3, updated_at = $3 \
             WHERE vault_id = $1 AND path = $2 AND deleted_at IS NULL RETURNING id",
        )
        .bind(vault.0)
        .bind(path)
        .bind(to_ms(now))
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(db_error)?;
        let Some(id) = id else { return Ok(false) };
        sqlx::query("UPDATE secret_versions SET deleted_at = $2 WHERE secret_id = $1 AND deleted_at IS NULL")
            .bind(id)
            .bind(to_ms(now))
            .execute(&mut *self.tx)
            .await
            .map_err(db_error)?;
        Ok(true)
    }

    async fn disable_secret_version(&mut self, vault: VaultId, path: &str, version: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE secret_versions SET is_disabled = TRUE \
             WHERE version = $3 AND secret_id = (SELECT id FROM secrets WHERE vault_id = $1 AND path = $2)",
        )
        .bind(vault.0)
        .bind(path)
        .bind(version)
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn insert_api_key(&mut self, key: &ApiKey) -> Result<()> {
        let scopes = serde_json::to_string(&key.scopes).map_err(|err| Error::Internal(format!("scopes: {err}")))?;
        sqlx::query(concat!(
            "INSERT INTO api_keys (",
            api_key_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(key.id.0)
        .bind(key.user_id.0)
        .bind(key.org_id.0)
        .bind(&key.name)
        .bind(&key.key_prefix)
        .bind(&key.digest)
        .bind(scopes)
        .bind(key.is_active)
        .bind(to_ms(key.created_at))
        .bind(key.expires_at.map(to_ms))
        .bind(key.last_used_at.map(to_ms))
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn deactivate_api_key(&mut self, user: UserId, id: ApiKeyId) -> Result<bool> {
        let done =
            sqlx::query("UPDATE api_keys SET is_active = FALSE WHERE id = $1 AND user_id = $2 AND is_active = TRUE")
                .bind(id.0)
                .bind(user.0)
                .execute(&mut *self.tx)
                .await
                .map_err(db_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn touch_api_key(&mut self, id: ApiKeyId, now: OffsetDateTime) -> Result<()> {
        sqlx::query("UPDATE api_keys SET last_used_at = $2 WHERE id = $1")
            .bind(id.0)
            .bind(to_ms(now))
            .execute(&mut *self.tx)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn insert_session(&mut self, session: &Session) -> Result<()> {
        sqlx::query(concat!("INSERT INTO sessions (", session_cols!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7)"))
            .bind(session.id.0)
            .bind(session.user_id.0)
            .bind(session.org_id.0)
            .bind(session.refresh_digest.as_deref())
            .bind(to_ms(session.created_at))
            .bind(to_ms(session.expires_at))
            .bind(session.revoked_at.map(to_ms))
            .execute(&mut *self.tx)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn rotate_refresh_token(
        &mut self,
        id: SessionId,
        old: &[u8],
        new: &[u8],
        expires_at: OffsetDateTime,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE sessions SET refresh_digest = $3, expires_at = $4 \
             WHERE id = $1 AND refresh_digest = $2 AND revoked_at IS NULL",
        )
        .bind(id.0)
        .bind(old)
        .bind(new)
        .bind(to_ms(expires_at))
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn revoke_session(&mut self, id: SessionId, now: OffsetDateTime) -> Result<()> {
        sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id.0)
            .bind(to_ms(now))
            .execute(&mut *self.tx)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn revoke_user_sessions(&mut self, user: UserId, now: OffsetDateTime) -> Result<Vec<(Uuid, i64)>> {
        let rows = sqlx::query(
            "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
             RETURNING id, expires_at",
        )
        .bind(user.0)
        .bind(to_ms(now))
        .fetch_all(&mut *self.tx)
        .await
        .map_err(db_error)?;
        rows.iter().map(|row| Ok((get(row, "id")?, get::<i64>(row, "expires_at")? / 1000))).collect()
    }

    async fn revoke_token(&mut self, jti: Uuid, forget_after: i64) -> Result<()> {
        sqlx::query("INSERT INTO revoked_tokens (jti, forget_after) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING")
            .bind(jti)
            .bind(forget_after.saturating_mul(1000))
            .execute(&mut *self.tx)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn insert_system_secret(&mut self, purpose: &str, sealed: &[u8], now: OffsetDateTime) -> Result<()> {
        sqlx::query(
            "INSERT INTO system_secrets (purpose, sealed, created_at) VALUES ($1, $2, $3) ON CONFLICT (purpose) DO NOTHING",
        )
        .bind(purpose)
        .bind(sealed)
        .bind(to_ms(now))
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn update_user_role(&mut self, id: UserId, role: Role) -> Result<()> {
        access::update_user_role(&mut self.tx, id, role).await
    }

    async fn disable_user(&mut self, id: UserId, now: OffsetDateTime) -> Result<()> {
        access::set_user_disabled(&mut self.tx, id, Some(now), None).await
    }

    async fn enable_user(&mut self, id: UserId, role: Role) -> Result<()> {
        access::set_user_disabled(&mut self.tx, id, None, Some(role)).await
    }

    async fn insert_invite(&mut self, invite: &Invite) -> Result<()> {
        access::insert_invite(&mut self.tx, invite).await
    }

    async fn accept_invite(&mut self, invite: InviteId, now: OffsetDateTime) -> Result<()> {
        access::accept_invite(&mut self.tx, invite, now).await
    }

    async fn insert_agent(&mut self, agent: &Agent) -> Result<()> {
        access::upsert_agent(&mut self.tx, agent, true).await
    }

    async fn update_agent(&mut self, agent: &Agent) -> Result<()> {
        access::upsert_agent(&mut self.tx, agent, false).await
    }

    async fn touch_agent(&mut self, id: AgentId, now: OffsetDateTime) -> Result<()> {
        access::touch_agent(&mut self.tx, id, now).await
    }

    async fn insert_policy(&mut self, policy: &Policy) -> Result<()> {
        access::upsert_policy(&mut self.tx, policy, true).await
    }

    async fn update_policy(&mut self, policy: &Policy) -> Result<()> {
        access::upsert_policy(&mut self.tx, policy, false).await
    }

    async fn delete_policy(&mut self, vault: VaultId, id: PolicyId) -> Result<bool> {
        access::delete_policy(&mut self.tx, vault, id).await
    }

    async fn insert_ip_rule(&mut self, rule: &IpRule) -> Result<()> {
        access::insert_ip_rule(&mut self.tx, rule).await
    }

    async fn delete_ip_rule(&mut self, org: OrgId, id: IpRuleId) -> Result<bool> {
        access::delete_ip_rule(&mut self.tx, org, id).await
    }

    async fn insert_share(&mut self, share: &Share) -> Result<()> {
        access::insert_share(&mut self.tx, share).await
    }

    async fn update_share(&mut self, share: &Share) -> Result<()> {
        access::update_share(&mut self.tx, share).await
    }

    async fn count_share_access(&mut self, id: ShareId) -> Result<bool> {
        access::count_share_access(&mut self.tx, id).await
    }

    async fn append_audit(&mut self, event: &AuditEvent) -> Result<()> {
        sqlx::query(concat!(
            "INSERT INTO audit_events (",
            audit_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(event.id.0)
        .bind(event.org_id.0)
        .bind(&event.actor_type)
        .bind(event.actor_id)
        .bind(&event.action)
        .bind(&event.resource_type)
        .bind(event.resource_id.as_deref())
        .bind(to_json_text(&event.details))
        .bind(event.ip_address.as_deref())
        .bind(event.user_agent.as_deref())
        .bind(&event.surface)
        .bind(event.outcome.as_str())
        .bind(to_ms(event.created_at))
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        self.tx.commit().await.map_err(db_error)
    }
}
