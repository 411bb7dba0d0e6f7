//! Queries of the access model (agents, policies, invites, IP rules, shares, members), generic over
//! the backend like `sql_impl.rs`, which delegates to these functions.

use crate::backend::{Columns, SqlBackend, Statement, Tx, get};
use crate::convert::{from_json_text, from_ms, opt_from_ms, principal, to_json_text, to_ms};
use crate::errors::db_error;
use oneclaw_core::ids::{AgentId, IpRuleId, OrgId, PolicyId, SecretId, ShareId, UserId, VaultId};
use oneclaw_core::model::{Agent, IpRule, IpRuleType, RecipientType, Role, Share};
use oneclaw_core::policy::{Conditions, Effect, PathGlob, Permission, Policy};
use oneclaw_core::principal::PrincipalRef;
use oneclaw_core::{Error, Result};
use sqlx::Pool;
use time::OffsetDateTime;
use uuid::Uuid;

macro_rules! agent_cols {
    () => {
        "id, org_id, name, description, auth_method, scopes, is_active, token_ttl_seconds, vault_ids, expires_at, \
         api_key_expires_at, intents_api_enabled, created_by, created_at, last_active_at, deleted_at, key_prefix, \
         key_digest, token_generation, revision, environment"
    };
}
macro_rules! policy_cols {
    () => {
        "id, vault_id, principal_type, principal_id, secret_path_pattern, permissions, conditions, expires_at, effect, \
         priority, created_by_type, created_by, created_at, policy_schema_version"
    };
}
macro_rules! share_cols {
    () => {
        "sh.id, sh.org_id, sh.secret_id, s.path AS secret_path, sh.created_by_type, sh.created_by, sh.recipient_type, \
         sh.recipient_id, sh.recipient_email, sh.permissions, sh.expires_at, sh.max_access_count, sh.access_count, \
         sh.passphrase_hash, sh.ip_allowlist, sh.failed_attempts, sh.locked_until, sh.accepted_at, sh.declined_at, \
         sh.revoked_at, sh.created_at, sh.link_digest"
    };
}

fn json_list<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|err| Error::Internal(format!("stored {what}: {err}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".to_owned())
}

fn agent_from(row: &impl Columns) -> Result<Agent> {
    let scopes: Option<String> = get(row, "scopes")?;
    let vault_ids: String = get(row, "vault_ids")?;
    Ok(Agent {
        id: AgentId(get(row, "id")?),
        org_id: OrgId(get(row, "org_id")?),
        name: get(row, "name")?,
        description: get(row, "description")?,
        auth_method: get(row, "auth_method")?,
        scopes: scopes.as_deref().map(|s| json_list(s, "scopes")).transpose()?,
        is_active: get(row, "is_active")?,
        token_ttl_seconds: get(row, "token_ttl_seconds")?,
        vault_ids: json_list(&vault_ids, "vault_ids")?,
        expires_at: opt_from_ms(get(row, "expires_at")?)?,
        api_key_expires_at: opt_from_ms(get(row, "api_key_expires_at")?)?,
        intents_api_enabled: get(row, "intents_api_enabled")?,
        environment: get(row, "environment")?,
        created_by: UserId(get(row, "created_by")?),
        created_at: from_ms(get(row, "created_at")?)?,
        last_active_at: opt_from_ms(get(row, "last_active_at")?)?,
        deleted_at: opt_from_ms(get(row, "deleted_at")?)?,
        key_prefix: get(row, "key_prefix")?,
        key_digest: get(row, "key_digest")?,
        token_generation: get(row, "token_generation")?,
        revision: get(row, "revision")?,
    })
}

pub(super) fn policy_from(row: &impl Columns) -> Result<Policy> {
    let kind: String = get(row, "principal_type")?;
    let creator_kind: String = get(row, "created_by_type")?;
    let pattern: String = get(row, "secret_path_pattern")?;
    let permissions: Vec<String> = json_list(&get::<String>(row, "permissions")?, "permissions")?;
    let conditions = from_json_text(&get::<String>(row, "conditions")?)?;
    let effect: String = get(row, "effect")?;
    Ok(Policy {
        id: PolicyId(get(row, "id")?),
        vault_id: VaultId(get(row, "vault_id")?),
        principal: principal(&kind, get(row, "principal_id")?)?,
        pattern: PathGlob::parse(&pattern).map_err(|err| Error::Internal(format!("stored pattern: {err}")))?,
        permissions: permissions.iter().map(|p| Permission::parse(p)).collect::<Result<_>>()?,
        conditions: Conditions::parse(Some(&conditions))
            .map_err(|err| Error::Internal(format!("stored conditions: {err}")))?,
        expires_at: opt_from_ms(get(row, "expires_at")?)?,
        effect: Effect::parse(&effect)?,
        priority: get(row, "priority")?,
        created_by: principal(&creator_kind, get(row, "created_by")?)?,
        created_at: from_ms(get(row, "created_at")?)?,
        policy_schema_version: get(row, "policy_schema_version")?,
    })
}

fn ip_rule_from(row: &impl Columns) -> Result<IpRule> {
    let rule_type: String = get(row, "rule_type")?;
    let cidr: String = get(row, "cidr")?;
    Ok(IpRule {
        id: IpRuleId(get(row, "id")?),
        org_id: OrgId(get(row, "org_id")?),
        rule_type: if rule_type == "deny" { IpRuleType::Deny } else { IpRuleType::Allow },
        cidr: cidr.parse().map_err(|_| Error::Internal(format!("stored CIDR {cidr:?}")))?,
        label: get(row, "label")?,
        applies_to: get(row, "applies_to")?,
        created_by: UserId(get(row, "created_by")?),
        created_at: from_ms(get(row, "created_at")?)?,
    })
}

fn share_from(row: &impl Columns) -> Result<Share> {
    let creator_kind: String = get(row, "created_by_type")?;
    let recipient: String = get(row, "recipient_type")?;
    let allowlist: Option<String> = get(row, "ip_allowlist")?;
    let allowlist: Option<Vec<String>> = allowlist.as_deref().map(|s| json_list(s, "ip_allowlist")).transpose()?;
    Ok(Share {
        id: ShareId(get(row, "id")?),
        org_id: OrgId(get(row, "org_id")?),
        secret_id: SecretId(get(row, "secret_id")?),
        secret_path: get(row, "secret_path")?,
        created_by: principal(&creator_kind, get(row, "created_by")?)?,
        recipient_type: RecipientType::parse(&recipient)
            .ok_or_else(|| Error::Internal(format!("stored recipient type {recipient:?}")))?,
        recipient_id: get(row, "recipient_id")?,
        recipient_email: get(row, "recipient_email")?,
        permissions: json_list(&get::<String>(row, "permissions")?, "permissions")?,
        expires_at: from_ms(get(row, "expires_at")?)?,
        max_access_count: get(row, "max_access_count")?,
        access_count: get(row, "access_count")?,
        passphrase_hash: get(row, "passphrase_hash")?,
        ip_allowlist: allowlist
            .map(|list| {
                list.iter().map(|c| c.parse().map_err(|_| Error::Internal(format!("stored CIDR {c:?}")))).collect()
            })
            .transpose()?,
        failed_attempts: get(row, "failed_attempts")?,
        locked_until: opt_from_ms(get(row, "locked_until")?)?,
        accepted_at: opt_from_ms(get(row, "accepted_at")?)?,
        declined_at: opt_from_ms(get(row, "declined_at")?)?,
        revoked_at: opt_from_ms(get(row, "revoked_at")?)?,
        created_at: from_ms(get(row, "created_at")?)?,
        link_digest: get(row, "link_digest")?,
    })
}

// ---- reads -------------------------------------------------------------------------------

pub(super) async fn agent<DB: SqlBackend>(pool: &Pool<DB>, org: OrgId, id: AgentId) -> Result<Option<Agent>> {
    let row = sqlx::query(concat!("SELECT ", agent_cols!(), " FROM agents WHERE id = $1 AND org_id = $2"))
        .arg(id.0)
        .arg(org.0)
        .fetch_optional_on(pool)
        .await
        .map_err(db_error)?;
    row.as_ref().map(agent_from).transpose()
}

pub(super) async fn agents<DB: SqlBackend>(pool: &Pool<DB>, org: OrgId) -> Result<Vec<Agent>> {
    let rows = sqlx::query(concat!("SELECT ", agent_cols!(), " FROM agents WHERE org_id = $1 ORDER BY created_at, id"))
        .arg(org.0)
        .fetch_all_on(pool)
        .await
        .map_err(db_error)?;
    rows.iter().map(agent_from).collect()
}

pub(super) async fn agents_by_key_prefix<DB: SqlBackend>(pool: &Pool<DB>, prefix: &str) -> Result<Vec<Agent>> {
    let rows = sqlx::query(concat!("SELECT ", agent_cols!(), " FROM agents WHERE key_prefix = $1"))
        .arg(prefix)
        .fetch_all_on(pool)
        .await
        .map_err(db_error)?;
    rows.iter().map(agent_from).collect()
}

pub(super) async fn agent_generations<DB: SqlBackend>(pool: &Pool<DB>) -> Result<Vec<(Uuid, i64)>> {
    super::sql_rows::id_generation_pairs(
        pool,
        "SELECT id, token_generation AS generation FROM agents WHERE token_generation > 0",
    )
    .await
}

pub(super) async fn member_role<DB: SqlBackend>(pool: &Pool<DB>, org: OrgId, user: UserId) -> Result<Option<Role>> {
    let role: Option<String> =
        sqlx::query("SELECT role FROM users WHERE id = $1 AND org_id = $2 AND disabled_at IS NULL")
            .arg(user.0)
            .arg(org.0)
            .fetch_optional_scalar_on(pool)
            .await
            .map_err(db_error)?;
    role.map(|role| Role::parse(&role).ok_or_else(|| Error::Internal(format!("stored role {role:?}")))).transpose()
}

pub(super) async fn policies_for<DB: SqlBackend>(
    pool: &Pool<DB>,
    vault: VaultId,
    who: PrincipalRef,
) -> Result<Vec<Policy>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        policy_cols!(),
        " FROM policies WHERE principal_id = $1 AND vault_id = $2 AND principal_type = $3"
    ))
    .arg(who.id)
    .arg(vault.0)
    .arg(who.kind.as_str())
    .fetch_all_on(pool)
    .await
    .map_err(db_error)?;
    rows.iter().map(policy_from).collect()
}

pub(super) async fn vault_policies<DB: SqlBackend>(pool: &Pool<DB>, vault: VaultId) -> Result<Vec<Policy>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        policy_cols!(),
        " FROM policies WHERE vault_id = $1 ORDER BY priority DESC, created_at, id"
    ))
    .arg(vault.0)
    .fetch_all_on(pool)
    .await
    .map_err(db_error)?;
    rows.iter().map(policy_from).collect()
}

pub(super) async fn principal_policies<DB: SqlBackend>(pool: &Pool<DB>, who: PrincipalRef) -> Result<Vec<Policy>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        policy_cols!(),
        " FROM policies WHERE principal_id = $1 AND principal_type = $2"
    ))
    .arg(who.id)
    .arg(who.kind.as_str())
    .fetch_all_on(pool)
    .await
    .map_err(db_error)?;
    rows.iter().map(policy_from).collect()
}

pub(super) async fn ip_rules<DB: SqlBackend>(pool: &Pool<DB>, org: OrgId) -> Result<Vec<IpRule>> {
    let rows = sqlx::query(
        "SELECT id, org_id, rule_type, cidr, label, applies_to, created_by, created_at FROM ip_rules \
         WHERE org_id = $1 ORDER BY created_at, id",
    )
    .arg(org.0)
    .fetch_all_on(pool)
    .await
    .map_err(db_error)?;
    rows.iter().map(ip_rule_from).collect()
}

pub(super) async fn secret_location<DB: SqlBackend>(
    pool: &Pool<DB>,
    org: OrgId,
    secret: SecretId,
) -> Result<Option<(VaultId, String)>> {
    let row = sqlx::query(
        "SELECT s.vault_id, s.path FROM secrets s JOIN vaults v ON v.id = s.vault_id \
         WHERE s.id = $1 AND v.org_id = $2 AND s.deleted_at IS NULL",
    )
    .arg(secret.0)
    .arg(org.0)
    .fetch_optional_on(pool)
    .await
    .map_err(db_error)?;
    row.map(|row| Ok((VaultId(get(&row, "vault_id")?), get(&row, "path")?))).transpose()
}

pub(super) async fn share<DB: SqlBackend>(pool: &Pool<DB>, id: ShareId) -> Result<Option<Share>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        share_cols!(),
        " FROM shares sh JOIN secrets s ON s.id = sh.secret_id WHERE sh.id = $1"
    ))
    .arg(id.0)
    .fetch_optional_on(pool)
    .await
    .map_err(db_error)?;
    row.as_ref().map(share_from).transpose()
}

pub(super) async fn share_by_link_digest<DB: SqlBackend>(pool: &Pool<DB>, digest: &[u8]) -> Result<Option<Share>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        share_cols!(),
        " FROM shares sh JOIN secrets s ON s.id = sh.secret_id WHERE sh.link_digest = $1"
    ))
    .arg(digest)
    .fetch_optional_on(pool)
    .await
    .map_err(db_error)?;
    row.as_ref().map(share_from).transpose()
}

pub(super) async fn shares_created_by<DB: SqlBackend>(pool: &Pool<DB>, who: PrincipalRef) -> Result<Vec<Share>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        share_cols!(),
        " FROM shares sh JOIN secrets s ON s.id = sh.secret_id \
         WHERE sh.created_by = $1 AND sh.created_by_type = $2 ORDER BY sh.created_at DESC"
    ))
    .arg(who.id)
    .arg(who.kind.as_str())
    .fetch_all_on(pool)
    .await
    .map_err(db_error)?;
    rows.iter().map(share_from).collect()
}

pub(super) async fn shares_received_by<DB: SqlBackend>(
    pool: &Pool<DB>,
    who: PrincipalRef,
    email: Option<&str>,
) -> Result<Vec<Share>> {
    let kinds: &[&str] = match who.kind {
        oneclaw_core::principal::PrincipalKind::User => &["user", "creator"],
        oneclaw_core::principal::PrincipalKind::Agent => &["agent"],
    };
    let rows = sqlx::query(concat!(
        "SELECT ",
        share_cols!(),
        " FROM shares sh JOIN secrets s ON s.id = sh.secret_id \
         WHERE (sh.recipient_id = $1 AND sh.recipient_type IN ($2, $3)) \
            OR (sh.recipient_type = 'external_email' AND sh.recipient_email = $4) \
         ORDER BY sh.created_at DESC"
    ))
    .arg(who.id)
    .arg(kinds[0])
    .arg(kinds.get(1).copied().unwrap_or(kinds[0]))
    // No address matches the empty string (PostgreSQL refuses a NUL, so it cannot be the marker).
    .arg(email.unwrap_or(""))
    .fetch_all_on(pool)
    .await
    .map_err(db_error)?;
    rows.iter().map(share_from).collect()
}

// ---- writes ------------------------------------------------------------------------------

pub(super) async fn update_user_role<DB: SqlBackend>(conn: &mut Tx<DB>, id: UserId, role: Role) -> Result<()> {
    sqlx::query("UPDATE users SET role = $2 WHERE id = $1")
        .arg(id.0)
        .arg(role.as_str())
        .execute_on(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

pub(super) async fn set_user_disabled<DB: SqlBackend>(
    conn: &mut Tx<DB>,
    id: UserId,
    at: Option<OffsetDateTime>,
    role: Option<Role>,
) -> Result<()> {
    sqlx::query("UPDATE users SET disabled_at = $2, role = COALESCE($3, role) WHERE id = $1")
        .arg(id.0)
        .arg(at.map(to_ms))
        .arg(role.map(Role::as_str))
        .execute_on(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Inserts an agent, or (with `insert` false) writes it over the row at revision
/// `agent.revision - 1` that is not deleted: false when another change got there first.
pub(super) async fn upsert_agent<DB: SqlBackend>(conn: &mut Tx<DB>, agent: &Agent, insert: bool) -> Result<bool> {
    let sql = if insert {
        concat!(
            "INSERT INTO agents (",
            agent_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)"
        )
    } else {
        "UPDATE agents SET org_id = $2, name = $3, description = $4, auth_method = $5, scopes = $6, is_active = $7, \
         token_ttl_seconds = $8, vault_ids = $9, expires_at = $10, api_key_expires_at = $11, intents_api_enabled = $12, \
         created_by = $13, created_at = $14, last_active_at = $15, deleted_at = $16, key_prefix = $17, key_digest = $18, \
         token_generation = $19, revision = $20, environment = $21 WHERE id = $1 AND revision = $20 - 1 AND deleted_at IS NULL"
    };
    let done = sqlx::query(sql)
        .arg(agent.id.0)
        .arg(agent.org_id.0)
        .arg(&agent.name)
        .arg(&agent.description)
        .arg(&agent.auth_method)
        .arg(agent.scopes.as_ref().map(to_json))
        .arg(agent.is_active)
        .arg(agent.token_ttl_seconds)
        .arg(to_json(&agent.vault_ids))
        .arg(agent.expires_at.map(to_ms))
        .arg(agent.api_key_expires_at.map(to_ms))
        .arg(agent.intents_api_enabled)
        .arg(agent.created_by.0)
        .arg(to_ms(agent.created_at))
        .arg(agent.last_active_at.map(to_ms))
        .arg(agent.deleted_at.map(to_ms))
        .arg(&agent.key_prefix)
        .arg(&agent.key_digest)
        .arg(agent.token_generation)
        .arg(agent.revision)
        .arg(agent.environment.as_deref())
        .execute_on(conn)
        .await
        .map_err(db_error)?;
    Ok(done > 0)
}

pub(super) async fn touch_agent<DB: SqlBackend>(conn: &mut Tx<DB>, id: AgentId, now: OffsetDateTime) -> Result<()> {
    sqlx::query("UPDATE agents SET last_active_at = $2 WHERE id = $1")
        .arg(id.0)
        .arg(to_ms(now))
        .execute_on(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Moves the policy generation of the vault that holds policy `id` (before a delete or an
/// update, which may move the policy to another vault; after an insert).
async fn policies_changed<DB: SqlBackend>(conn: &mut Tx<DB>, id: PolicyId) -> Result<()> {
    sqlx::query(
        "UPDATE vaults SET policy_generation = policy_generation + 1 \
         WHERE id = (SELECT vault_id FROM policies WHERE id = $1)",
    )
    .arg(id.0)
    .execute_on(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

pub(super) async fn upsert_policy<DB: SqlBackend>(conn: &mut Tx<DB>, policy: &Policy, insert: bool) -> Result<()> {
    if !insert {
        policies_changed(conn, policy.id).await?;
    }
    let sql = if insert {
        concat!(
            "INSERT INTO policies (",
            policy_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        )
    } else {
        "UPDATE policies SET vault_id = $2, principal_type = $3, principal_id = $4, secret_path_pattern = $5, \
         permissions = $6, conditions = $7, expires_at = $8, effect = $9, priority = $10, created_by_type = $11, \
         created_by = $12, created_at = $13, policy_schema_version = $14 WHERE id = $1"
    };
    let permissions: Vec<&str> = policy.permissions.iter().map(|p| p.as_str()).collect();
    sqlx::query(sql)
        .arg(policy.id.0)
        .arg(policy.vault_id.0)
        .arg(policy.principal.kind.as_str())
        .arg(policy.principal.id)
        .arg(policy.pattern.as_str())
        .arg(to_json(&permissions))
        .arg(to_json_text(&policy.conditions.to_json()))
        .arg(policy.expires_at.map(to_ms))
        .arg(policy.effect.as_str())
        .arg(policy.priority)
        .arg(policy.created_by.kind.as_str())
        .arg(policy.created_by.id)
        .arg(to_ms(policy.created_at))
        .arg(policy.policy_schema_version)
        .execute_on(&mut *conn)
        .await
        .map_err(db_error)?;
    policies_changed(conn, policy.id).await
}

pub(super) async fn delete_policy<DB: SqlBackend>(conn: &mut Tx<DB>, vault: VaultId, id: PolicyId) -> Result<bool> {
    policies_changed(conn, id).await?;
    let done = sqlx::query("DELETE FROM policies WHERE id = $1 AND vault_id = $2")
        .arg(id.0)
        .arg(vault.0)
        .execute_on(&mut *conn)
        .await
        .map_err(db_error)?;
    Ok(done > 0)
}

pub(super) async fn insert_ip_rule<DB: SqlBackend>(conn: &mut Tx<DB>, rule: &IpRule) -> Result<()> {
    sqlx::query(
        "INSERT INTO ip_rules (id, org_id, rule_type, cidr, label, applies_to, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .arg(rule.id.0)
    .arg(rule.org_id.0)
    .arg(rule.rule_type.as_str())
    .arg(rule.cidr.to_string())
    .arg(&rule.label)
    .arg(&rule.applies_to)
    .arg(rule.created_by.0)
    .arg(to_ms(rule.created_at))
    .execute_on(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

pub(super) async fn delete_ip_rule<DB: SqlBackend>(conn: &mut Tx<DB>, org: OrgId, id: IpRuleId) -> Result<bool> {
    let done = sqlx::query("DELETE FROM ip_rules WHERE id = $1 AND org_id = $2")
        .arg(id.0)
        .arg(org.0)
        .execute_on(conn)
        .await
        .map_err(db_error)?;
    Ok(done > 0)
}

pub(super) async fn insert_share<DB: SqlBackend>(conn: &mut Tx<DB>, share: &Share) -> Result<()> {
    let allowlist =
        share.ip_allowlist.as_ref().map(|nets| to_json(&nets.iter().map(ToString::to_string).collect::<Vec<_>>()));
    sqlx::query(
        "INSERT INTO shares (id, org_id, secret_id, created_by_type, created_by, recipient_type, recipient_id, \
         recipient_email, permissions, expires_at, max_access_count, access_count, passphrase_hash, ip_allowlist, \
         failed_attempts, locked_until, accepted_at, declined_at, revoked_at, created_at, link_digest) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
    )
    .arg(share.id.0)
    .arg(share.org_id.0)
    .arg(share.secret_id.0)
    .arg(share.created_by.kind.as_str())
    .arg(share.created_by.id)
    .arg(share.recipient_type.as_str())
    .arg(share.recipient_id)
    .arg(share.recipient_email.as_deref())
    .arg(to_json(&share.permissions))
    .arg(to_ms(share.expires_at))
    .arg(share.max_access_count)
    .arg(share.access_count)
    .arg(share.passphrase_hash.as_deref())
    .arg(allowlist)
    .arg(share.failed_attempts)
    .arg(share.locked_until.map(to_ms))
    .arg(share.accepted_at.map(to_ms))
    .arg(share.declined_at.map(to_ms))
    .arg(share.revoked_at.map(to_ms))
    .arg(to_ms(share.created_at))
    .arg(share.link_digest.as_deref())
    .execute_on(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

pub(super) async fn count_share_access<DB: SqlBackend>(
    conn: &mut Tx<DB>,
    id: ShareId,
    now: OffsetDateTime,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE shares SET access_count = access_count + 1 \
         WHERE id = $1 AND (max_access_count IS NULL OR access_count < max_access_count) \
           AND revoked_at IS NULL AND expires_at > $2",
    )
    .arg(id.0)
    .arg(to_ms(now))
    .execute_on(conn)
    .await
    .map_err(db_error)?;
    Ok(done > 0)
}
