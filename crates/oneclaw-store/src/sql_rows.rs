//! Row decoders of the foundation tables, shared by `sql_impl.rs` and `sql_tx.rs`.

use crate::backend::{Columns, SqlBackend, Statement, get};
use crate::convert::{from_json_text, from_ms, opt_from_ms, principal};
use oneclaw_core::audit::chain::Link;
use oneclaw_core::audit::{AuditEvent, Outcome};
use oneclaw_core::ids::{ApiKeyId, AuditEventId, OrgId, SecretId, SessionId, UserId, VaultId};
use oneclaw_core::model::{ApiKey, Role, SealedValue, SecretVersion, Session, User, Vault};
use oneclaw_core::ports::{KekRef, SecretRead};
use oneclaw_core::{Error, Result};

pub(super) fn user_from(row: &impl Columns) -> Result<User> {
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
        credential_generation: get(row, "credential_generation")?,
    })
}

/// The vault's column names: as the vault table has them, and as a join aliases them (`v_…`).
pub(super) struct VaultColumns([&'static str; 9]);

pub(super) const VAULT_COLUMNS: VaultColumns = VaultColumns([
    "id",
    "org_id",
    "name",
    "description",
    "created_by_type",
    "created_by",
    "owner_user_id",
    "created_at",
    "kek_version",
]);
pub(super) const JOINED_VAULT_COLUMNS: VaultColumns = VaultColumns([
    "v_id",
    "v_org_id",
    "v_name",
    "v_description",
    "v_created_by_type",
    "v_created_by",
    "v_owner_user_id",
    "v_created_at",
    "v_kek_version",
]);

pub(super) fn vault_from(row: &impl Columns) -> Result<Vault> {
    vault_from_columns(row, &VAULT_COLUMNS)
}

/// A vault from the columns `names` gives (a plain select or a join's aliases).
pub(super) fn vault_from_columns(row: &impl Columns, names: &VaultColumns) -> Result<Vault> {
    let [id, org_id, name, description, created_by_type, created_by, owner_user_id, created_at, kek_version] = names.0;
    let kind: String = get(row, created_by_type)?;
    Ok(Vault {
        id: VaultId(get(row, id)?),
        org_id: OrgId(get(row, org_id)?),
        name: get(row, name)?,
        description: get(row, description)?,
        created_by: principal(&kind, get(row, created_by)?)?,
        owner_user_id: UserId(get(row, owner_user_id)?),
        created_at: from_ms(get(row, created_at)?)?,
        kek_version: get(row, kek_version)?,
    })
}

/// A secret version's column names: as `version_cols!` selects them, and as the hot read
/// (`sql_read_path.rs`) aliases them (`sec_…`) beside a vault's and a policy's own.
pub(super) struct VersionColumns([&'static str; 15]);

impl VersionColumns {
    pub(super) const fn new(names: [&'static str; 15]) -> Self {
        Self(names)
    }
}

pub(super) const VERSION_COLUMNS: VersionColumns = VersionColumns([
    "id",
    "vault_id",
    "path",
    "version",
    "secret_type",
    "metadata",
    "rotation_policy",
    "expires_at",
    "max_access_count",
    "access_count",
    "is_disabled",
    "deleted_at",
    "created_by_type",
    "created_by",
    "created_at",
]);

pub(super) fn version_from(row: &impl Columns) -> Result<SecretVersion> {
    version_from_columns(row, &VERSION_COLUMNS)
}

pub(super) fn version_from_columns(row: &impl Columns, names: &VersionColumns) -> Result<SecretVersion> {
    let [
        id,
        vault_id,
        path,
        version,
        secret_type,
        metadata,
        rotation_policy,
        expires_at,
        max_access_count,
        access_count,
        is_disabled,
        deleted_at,
        created_by_type,
        created_by,
        created_at,
    ] = names.0;
    let kind: String = get(row, created_by_type)?;
    let metadata: String = get(row, metadata)?;
    let rotation_policy: Option<String> = get(row, rotation_policy)?;
    Ok(SecretVersion {
        secret_id: SecretId(get(row, id)?),
        vault_id: VaultId(get(row, vault_id)?),
        path: get(row, path)?,
        version: get(row, version)?,
        secret_type: get(row, secret_type)?,
        metadata: from_json_text(&metadata)?,
        rotation_policy: rotation_policy.as_deref().map(from_json_text).transpose()?,
        expires_at: opt_from_ms(get(row, expires_at)?)?,
        max_access_count: get(row, max_access_count)?,
        access_count: get(row, access_count)?,
        is_disabled: get(row, is_disabled)?,
        deleted_at: opt_from_ms(get(row, deleted_at)?)?,
        created_by: principal(&kind, get(row, created_by)?)?,
        created_at: from_ms(get(row, created_at)?)?,
    })
}

pub(super) fn api_key_from(row: &impl Columns) -> Result<ApiKey> {
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

pub(super) fn session_from(row: &impl Columns) -> Result<Session> {
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

pub(super) fn audit_from(row: &impl Columns) -> Result<AuditEvent> {
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
        link: link_from(row)?,
    })
}

fn link_from(row: &impl Columns) -> Result<Option<Link>> {
    let seq: Option<i64> = get(row, "seq")?;
    let prev: Option<Vec<u8>> = get(row, "prev_hash")?;
    let hash: Option<Vec<u8>> = get(row, "hash")?;
    match (seq, prev, hash) {
        (Some(seq), Some(prev), Some(hash)) => Ok(Some(Link {
            seq,
            prev_hash: prev.try_into().map_err(|_| Error::Internal("stored prev_hash is not 32 bytes".to_owned()))?,
            hash: hash.try_into().map_err(|_| Error::Internal("stored hash is not 32 bytes".to_owned()))?,
        })),
        _ => Ok(None),
    }
}

/// Decodes a `secret_read_sql!()` row.
/// A readable version's column names: the version's, then its sealed value's and KEK's
/// (ciphertext, wrapped_dek, kek_version, provider, handle).
pub(super) struct SecretReadColumns {
    pub(super) version: VersionColumns,
    pub(super) sealed: [&'static str; 5],
}

pub(super) const SECRET_READ_COLUMNS: SecretReadColumns = SecretReadColumns {
    version: VERSION_COLUMNS,
    sealed: ["ciphertext", "wrapped_dek", "kek_version", "provider", "handle"],
};

pub(super) fn secret_read_from(row: &impl Columns, vault: VaultId) -> Result<SecretRead> {
    secret_read_from_columns(row, vault, &SECRET_READ_COLUMNS)
}

pub(super) fn secret_read_from_columns(
    row: &impl Columns,
    vault: VaultId,
    names: &SecretReadColumns,
) -> Result<SecretRead> {
    let [ciphertext, wrapped_dek, kek_version, provider, handle] = names.sealed;
    let kek_version: i64 = get(row, kek_version)?;
    Ok(SecretRead {
        version: version_from_columns(row, &names.version)?,
        sealed: SealedValue { ciphertext: get(row, ciphertext)?, wrapped_dek: get(row, wrapped_dek)?, kek_version },
        kek: KekRef { vault_id: vault, version: kek_version, provider: get(row, provider)?, handle: get(row, handle)? },
    })
}

/// (id, generation) pairs from a query selecting `id` and `generation`: the credential
/// generations the revocation list keeps for agents and users.
pub(super) async fn id_generation_pairs<DB: SqlBackend>(
    pool: &sqlx::Pool<DB>,
    sql: &'static str,
) -> oneclaw_core::Result<Vec<(uuid::Uuid, i64)>> {
    let rows = sqlx::query(sql).fetch_all_on(pool).await.map_err(crate::errors::db_error)?;
    rows.iter().map(|row| Ok((get(row, "id")?, get(row, "generation")?))).collect()
}
