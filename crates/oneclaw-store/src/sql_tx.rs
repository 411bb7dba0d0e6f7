//! The write half of the query set: every change, inside one transaction that the domain
//! commits together with its audit events. Generic over the backend like `sql_impl.rs`.

use super::sql_access as access;
use super::sql_billing as billing;
use super::sql_devices as devices;
use super::sql_env as env;
use super::sql_keys as keys;
use super::sql_mail as mail;
use super::sql_mfa as mfa;
use super::sql_trust as trust;
use crate::backend::{SqlBackend, Statement, Tx, get};
use crate::convert::{to_json_text, to_ms};
use crate::errors::{conflict_or, db_error};
use crate::group_commit::Membership;
use crate::write_gate::WriteTurn;
use async_trait::async_trait;
use oneclaw_core::audit::AuditEvent;
use oneclaw_core::audit::verify::Checkpoint;
use oneclaw_core::billing::{CreditEntry, OverageMethod, PaidRequest, PaymentNonce, Tier};
use oneclaw_core::env_vars::{EnvVar, VaultEnvironment};
use oneclaw_core::ids::{
    AgentId, ApiKeyId, EnvVarId, InviteId, IpRuleId, OrgId, PolicyId, SecretId, SessionId, ShareId, UserId, VaultId,
};
use oneclaw_core::intents::{Binding, CallLimits, Execution};
use oneclaw_core::model::{
    Agent, ApiKey, Invite, IpRule, Org, Role, SealedValue, SecretVersion, Session, Share, User, Vault,
};
use oneclaw_core::policy::Policy;
use oneclaw_core::ports::store::*;
use oneclaw_core::ports::{KekRef, SecretRead, StoreTx};
use oneclaw_core::{Error, Result};
use time::OffsetDateTime;
use uuid::Uuid;

use super::sql_rows::secret_read_from;

/// One write transaction of this backend: its own, or (SQLite) a savepoint of the group
/// transaction that several writers share and commit together (`group_commit.rs`).
pub(super) struct SqlTx<DB: SqlBackend> {
    /// Present until the transaction ends.
    tx: Option<Tx<DB>>,
    /// A member of a group commit: its savepoint is in `tx`, which goes back to the group.
    membership: Option<Membership<DB>>,
    /// Which webhooks want which events, to enqueue deliveries with the audit records.
    subscriptions: std::sync::Arc<super::sql_webhooks::Subscriptions>,
    /// Orgs whose webhooks this transaction changed: their subscriptions are forgotten again
    /// once it commits (`Subscriptions::forget`).
    changed_webhooks: Vec<OrgId>,
    /// The kept reads this transaction's end makes stale (none for a batch of audit records
    /// and counts, which change nothing they hold).
    ends_reads: Option<std::sync::Arc<crate::hot_reads::HotReads>>,
    /// Held until the transaction ends (commit, or rollback on drop); then the next writer goes.
    _turn: WriteTurn,
}

impl<DB: SqlBackend> SqlTx<DB> {
    /// A transaction of its own, committed alone.
    pub(super) fn alone(
        tx: Tx<DB>,
        turn: WriteTurn,
        subscriptions: std::sync::Arc<super::sql_webhooks::Subscriptions>,
    ) -> Self {
        Self {
            tx: Some(tx),
            membership: None,
            subscriptions,
            changed_webhooks: Vec::new(),
            ends_reads: None,
            _turn: turn,
        }
    }

    /// A savepoint in the group transaction `tx` (none open yet: `prepare_member` opens one).
    pub(super) fn member(
        tx: Option<Tx<DB>>,
        membership: Membership<DB>,
        turn: WriteTurn,
        subscriptions: std::sync::Arc<super::sql_webhooks::Subscriptions>,
    ) -> Self {
        Self {
            tx,
            membership: Some(membership),
            subscriptions,
            changed_webhooks: Vec::new(),
            ends_reads: None,
            _turn: turn,
        }
    }

    /// Once this transaction has committed (or failed to), the reads in `reads` are stale.
    pub(super) fn ending(mut self, reads: Option<std::sync::Arc<crate::hot_reads::HotReads>>) -> Self {
        self.ends_reads = reads;
        self
    }

    /// Readies a member's savepoint (see `Membership::prepare`).
    pub(super) async fn prepare_member(&mut self) -> Result<()> {
        match &self.membership {
            Some(membership) => membership.prepare(&mut self.tx).await,
            None => Ok(()),
        }
    }

    pub(crate) fn conn(&mut self) -> Result<&mut Tx<DB>> {
        self.tx.as_mut().ok_or_else(|| Error::Internal("the write transaction has ended".to_owned()))
    }

    /// The org's webhooks change in this transaction: what this node remembers of them is
    /// forgotten now and again at commit, so no list read by another transaction in between
    /// (which cannot see this change yet) is kept.
    fn webhooks_change(&mut self, org: OrgId) {
        self.subscriptions.forget(org);
        self.changed_webhooks.push(org);
    }

    /// Commits: a transaction of its own at once; a group member once its group is durable.
    async fn commit_changes(mut self: Box<Self>) -> Result<()> {
        if self.membership.is_none() {
            let tx = self.tx.take().ok_or_else(|| Error::Internal("the write transaction has ended".to_owned()))?;
            return tx.commit().await.map_err(db_error);
        }
        // Released before handing back: a savepoint left open makes SQLite journal every page
        // the next writers change once more per open level (measured: writes 15% slower).
        // The membership stays in `self` across this await: dropped here, the transaction goes
        // back to the group, and this writer's change is undone if the RELEASE had not run, or
        // committed whole with the group if it had (like a COMMIT in flight when dropped).
        let release = self.membership.as_ref().map(|membership| membership.release_statement());
        if let Some(release) = release {
            sqlx::query(sqlx::AssertSqlSafe(release))
                .persistent(false)
                .execute_on(self.conn()?)
                .await
                .map_err(db_error)?;
        }
        let (Some(membership), Some(tx)) = (self.membership.take(), self.tx.take()) else {
            return Err(Error::Internal("the write transaction has ended".to_owned()));
        };
        let committed = membership.hand_back(tx);
        // The turn goes to the next writer, who works in the same transaction meanwhile.
        drop(self);
        committed.wait().await
    }
}

impl<DB: SqlBackend> Drop for SqlTx<DB> {
    fn drop(&mut self) {
        // Runs before the turn is released, so the group gets its transaction back first. A
        // transaction of its own rolls back as sqlx drops it.
        if let (Some(membership), Some(tx)) = (self.membership.take(), self.tx.take()) {
            membership.abandon(tx);
        }
    }
}

#[async_trait]
impl<DB: SqlBackend> StoreTx for SqlTx<DB> {
    async fn commit(mut self: Box<Self>) -> Result<()> {
        let subscriptions = std::sync::Arc::clone(&self.subscriptions);
        let changed_webhooks = std::mem::take(&mut self.changed_webhooks);
        // Once the commit has ended, failed or not (a failed COMMIT may still have been
        // applied), or this future was dropped during it: a read that began before must not be
        // answered again.
        let ends_reads = self.ends_reads.take().map(crate::hot_reads::EndsReads);
        let committed = self.commit_changes().await;
        drop(ends_reads);
        if committed.is_ok() {
            for org in changed_webhooks {
                subscriptions.forget(org);
            }
        }
        committed
    }

    async fn next_secret_version_under_current_kek(
        &mut self,
        vault: VaultId,
        path: &str,
        now: OffsetDateTime,
    ) -> Result<((SecretId, i64), Option<KekRef>)> {
        let Some(sql) = DB::NEXT_VERSION_WITH_KEK else {
            let next = self.next_secret_version(vault, path, now).await?;
            return Ok((next, keys::current_kek(self.conn()?, vault).await?));
        };
        let row = next_version_row(self.conn()?, sql, vault, path, now).await?;
        let next = (SecretId(get(&row, "id")?), get(&row, "current_version")?);
        let kek = match get::<Option<i64>>(&row, "kek_version")? {
            Some(version) => Some(KekRef {
                vault_id: vault,
                version,
                provider: get(&row, "kek_provider")?,
                handle: get(&row, "kek_handle")?,
            }),
            None => None,
        };
        Ok((next, kek))
    }
}

/// Runs a `next_version_insert!` statement (possibly with more RETURNING columns).
async fn next_version_row<DB: SqlBackend>(
    conn: &mut Tx<DB>,
    sql: &'static str,
    vault: VaultId,
    path: &str,
    now: OffsetDateTime,
) -> Result<DB::Row> {
    sqlx::query(sql)
        .arg(SecretId::generate().0)
        .arg(vault.0)
        .arg(path)
        .arg(to_ms(now))
        .fetch_one_on(conn)
        .await
        .map_err(db_error)
}

#[async_trait]
impl<DB: SqlBackend> VaultTx for SqlTx<DB> {
    async fn insert_vault(&mut self, vault: &Vault, kek: &KekRef) -> Result<()> {
        sqlx::query(concat!("INSERT INTO vaults (", vault_cols!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"))
            .arg(vault.id.0)
            .arg(vault.org_id.0)
            .arg(&vault.name)
            .arg(&vault.description)
            .arg(vault.created_by.kind.as_str())
            .arg(vault.created_by.id)
            .arg(to_ms(vault.created_at))
            .arg(vault.kek_version)
            .arg(vault.owner_user_id.0)
            .execute_on(self.conn()?)
            .await
            .map_err(conflict_or("A vault with this name already exists"))?;
        keys::insert_vault_key(self.conn()?, kek, vault.created_at).await
    }

    async fn delete_vault(&mut self, org: OrgId, id: VaultId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM vaults WHERE id = $1 AND org_id = $2")
            .arg(id.0)
            .arg(org.0)
            .execute_on(self.conn()?)
            .await
            .map_err(db_error)?;
        Ok(done > 0)
    }
}

#[async_trait]
impl<DB: SqlBackend> SecretTx for SqlTx<DB> {
    async fn next_secret_version(
        &mut self,
        vault: VaultId,
        path: &str,
        now: OffsetDateTime,
    ) -> Result<(SecretId, i64)> {
        let row = next_version_row(self.conn()?, next_version_insert!(), vault, path, now).await?;
        Ok((SecretId(get(&row, "id")?), get(&row, "current_version")?))
    }

    async fn insert_secret_version(&mut self, version: &SecretVersion, sealed: &SealedValue) -> Result<()> {
        sqlx::query(
            "INSERT INTO secret_versions (secret_id, version, secret_type, metadata, rotation_policy, expires_at, \
             max_access_count, access_count, is_disabled, deleted_at, created_by_type, created_by, created_at, \
             ciphertext, wrapped_dek, kek_version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .arg(version.secret_id.0)
        .arg(version.version)
        .arg(&version.secret_type)
        .arg(to_json_text(&version.metadata))
        .arg(version.rotation_policy.as_ref().map(to_json_text))
        .arg(version.expires_at.map(to_ms))
        .arg(version.max_access_count)
        .arg(version.access_count)
        .arg(version.is_disabled)
        .arg(version.deleted_at.map(to_ms))
        .arg(version.created_by.kind.as_str())
        .arg(version.created_by.id)
        .arg(to_ms(version.created_at))
        .arg(&sealed.ciphertext)
        .arg(&sealed.wrapped_dek)
        .arg(sealed.kek_version)
        .execute_on(self.conn()?)
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
        let row = sqlx::query(secret_read_sql!())
            .arg(vault.0)
            .arg(path)
            .arg(version)
            .fetch_optional_on(self.conn()?)
            .await
            .map_err(db_error)?;
        row.map(|row| secret_read_from(&row, vault)).transpose()
    }

    async fn count_secret_access(&mut self, secret: SecretId, version: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE secret_versions SET access_count = access_count + 1 \
             WHERE secret_id = $1 AND version = $2 AND (max_access_count IS NULL OR access_count < max_access_count)",
        )
        .arg(secret.0)
        .arg(version)
        .execute_on(self.conn()?)
        .await
        .map_err(db_error)?;
        Ok(done > 0)
    }

    async fn soft_delete_secret(&mut self, vault: VaultId, path: &str, now: OffsetDateTime) -> Result<bool> {
        let id: Option<Uuid> = sqlx::query(
            "UPDATE secrets SET deleted_at = $3, updated_at = $3 \
             WHERE vault_id = $1 AND path = $2 AND deleted_at IS NULL RETURNING id",
        )
        .arg(vault.0)
        .arg(path)
        .arg(to_ms(now))
        .fetch_optional_scalar_on(self.conn()?)
        .await
        .map_err(db_error)?;
        let Some(id) = id else { return Ok(false) };
        sqlx::query("UPDATE secret_versions SET deleted_at = $2 WHERE secret_id = $1 AND deleted_at IS NULL")
            .arg(id)
            .arg(to_ms(now))
            .execute_on(self.conn()?)
            .await
            .map_err(db_error)?;
        // The secret keeps its id if the path is written again; its old shares must not revive.
        trust::revoke_shares_of_secret(self.conn()?, SecretId(id), now).await?;
        Ok(true)
    }

    async fn disable_secret_version(&mut self, vault: VaultId, path: &str, version: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE secret_versions SET is_disabled = TRUE \
             WHERE version = $3 AND secret_id = (SELECT id FROM secrets WHERE vault_id = $1 AND path = $2)",
        )
        .arg(vault.0)
        .arg(path)
        .arg(version)
        .execute_on(self.conn()?)
        .await
        .map_err(db_error)?;
        Ok(done > 0)
    }
}

#[async_trait]
impl<DB: SqlBackend> KeyTx for SqlTx<DB> {
    async fn current_kek(&mut self, vault: VaultId) -> Result<Option<KekRef>> {
        keys::current_kek(self.conn()?, vault).await
    }

    async fn add_vault_key(&mut self, kek: &KekRef, from_version: i64, now: OffsetDateTime) -> Result<bool> {
        keys::add_vault_key(self.conn()?, kek, from_version, now).await
    }

    async fn rewrap_dek(
        &mut self,
        secret_id: SecretId,
        version: i64,
        old_wrapped: &[u8],
        new_wrapped: &[u8],
        new_kek_version: i64,
    ) -> Result<bool> {
        keys::rewrap_dek(self.conn()?, secret_id, version, old_wrapped, new_wrapped, new_kek_version).await
    }

    async fn retire_vault_key(&mut self, vault: VaultId, version: i64, now: OffsetDateTime) -> Result<bool> {
        keys::retire_vault_key(self.conn()?, vault, version, now).await
    }

    async fn mark_vault_key_destroyed(&mut self, vault: VaultId, version: i64, now: OffsetDateTime) -> Result<bool> {
        keys::mark_vault_key_destroyed(self.conn()?, vault, version, now).await
    }

    async fn replace_system_secret(&mut self, purpose: &str, sealed: &[u8]) -> Result<()> {
        keys::replace_system_secret(self.conn()?, purpose, sealed).await
    }

    async fn insert_system_secret(&mut self, purpose: &str, sealed: &[u8], now: OffsetDateTime) -> Result<()> {
        sqlx::query(
            "INSERT INTO system_secrets (purpose, sealed, created_at) VALUES ($1, $2, $3) ON CONFLICT (purpose) DO NOTHING",
        )
        .arg(purpose)
        .arg(sealed)
        .arg(to_ms(now))
        .execute_on(self.conn()?)
        .await
        .map_err(db_error)?;
        Ok(())
    }
}

#[async_trait]
impl<DB: SqlBackend> AccessTx for SqlTx<DB> {
    async fn insert_policy(&mut self, policy: &Policy) -> Result<()> {
        access::upsert_policy(self.conn()?, policy, true).await
    }

    async fn update_policy(&mut self, policy: &Policy) -> Result<()> {
        access::upsert_policy(self.conn()?, policy, false).await
    }

    async fn delete_policy(&mut self, vault: VaultId, id: PolicyId) -> Result<bool> {
        access::delete_policy(self.conn()?, vault, id).await
    }

    async fn insert_ip_rule(&mut self, rule: &IpRule) -> Result<()> {
        access::insert_ip_rule(self.conn()?, rule).await
    }

    async fn delete_ip_rule(&mut self, org: OrgId, id: IpRuleId) -> Result<bool> {
        access::delete_ip_rule(self.conn()?, org, id).await
    }

    async fn insert_share(&mut self, share: &Share) -> Result<()> {
        access::insert_share(self.conn()?, share).await
    }

    async fn claim_share_attempt(
        &mut self,
        id: ShareId,
        max: i64,
        now: OffsetDateTime,
        lock_until: OffsetDateTime,
    ) -> Result<bool> {
        trust::claim_share_attempt(self.conn()?, id, max, now, lock_until).await
    }

    async fn clear_share_failures(&mut self, id: ShareId) -> Result<()> {
        trust::clear_share_failures(self.conn()?, id).await
    }

    async fn revoke_share(&mut self, id: ShareId, now: OffsetDateTime) -> Result<bool> {
        trust::revoke_share(self.conn()?, id, now).await
    }

    async fn respond_share(&mut self, id: ShareId, accept: bool, now: OffsetDateTime) -> Result<bool> {
        trust::respond_share(self.conn()?, id, accept, now).await
    }

    async fn revoke_shares_of_member(&mut self, member: UserId, now: OffsetDateTime) -> Result<u64> {
        trust::revoke_shares_of_member(self.conn()?, member, now).await
    }

    async fn count_share_access(&mut self, id: ShareId, now: OffsetDateTime) -> Result<bool> {
        access::count_share_access(self.conn()?, id, now).await
    }
}

#[async_trait]
impl<DB: SqlBackend> AuditTx for SqlTx<DB> {
    async fn append_audit(&mut self, event: &AuditEvent) -> Result<()> {
        super::sql_audit::append(self.conn()?, event).await
    }

    async fn append_audits(&mut self, events: &[AuditEvent]) -> Result<()> {
        super::sql_audit::append_many(self.conn()?, events).await?;
        // Announced in the same transaction: a webhook hears of an event iff it was recorded.
        let subscriptions = std::sync::Arc::clone(&self.subscriptions);
        super::sql_webhooks::enqueue(self.conn()?, &subscriptions, events).await
    }

    async fn insert_checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<()> {
        super::sql_audit::insert_checkpoint(self.conn()?, checkpoint).await
    }
}

#[async_trait]
impl<DB: SqlBackend> BillingTx for SqlTx<DB> {
    async fn add_requests(&mut self, org: OrgId, month: &str, n: i64) -> Result<i64> {
        billing::add_requests(self.conn()?, org, month, n).await
    }

    async fn lease_requests(
        &mut self,
        org: OrgId,
        month: &str,
        rule: oneclaw_core::ports::LeaseRule,
    ) -> Result<oneclaw_core::ports::LeasedPlaces> {
        billing::lease_requests(self.conn()?, org, month, rule).await
    }

    async fn return_requests_lease(&mut self, org: OrgId, month: &str, end: i64, keep: i64) -> Result<bool> {
        billing::return_lease(self.conn()?, org, month, end, keep).await
    }

    async fn set_org_tier(&mut self, org: OrgId, tier: Tier) -> Result<bool> {
        billing::set_org_tier(self.conn()?, org, tier).await
    }

    async fn set_overage_method(&mut self, org: OrgId, method: OverageMethod) -> Result<()> {
        billing::set_overage_method(self.conn()?, org, method).await
    }

    async fn move_credits(&mut self, entry: &CreditEntry) -> Result<Option<i64>> {
        billing::move_credits(self.conn()?, entry).await
    }

    async fn consume_payment_nonce(&mut self, spent: &PaymentNonce, now: OffsetDateTime) -> Result<bool> {
        billing::consume_payment_nonce(self.conn()?, spent, now).await
    }

    async fn insert_paid_request(&mut self, paid: &PaidRequest) -> Result<()> {
        billing::insert_paid_request(self.conn()?, paid).await
    }
}

#[async_trait]
impl<DB: SqlBackend> IdentityTx for SqlTx<DB> {
    async fn insert_org(&mut self, org: &Org) -> Result<()> {
        sqlx::query("INSERT INTO orgs (id, name, created_at) VALUES ($1, $2, $3)")
            .arg(org.id.0)
            .arg(&org.name)
            .arg(to_ms(org.created_at))
            .execute_on(self.conn()?)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn insert_user(&mut self, user: &User) -> Result<()> {
        sqlx::query(concat!(
            "INSERT INTO users (",
            user_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .arg(user.id.0)
        .arg(user.org_id.0)
        .arg(&user.email)
        .arg(&user.display_name)
        .arg(user.password_hash.as_deref())
        .arg(user.role.as_str())
        .arg(&user.auth_method)
        .arg(user.email_verified)
        .arg(user.marketing_emails)
        .arg(user.totp_enabled)
        .arg(to_ms(user.created_at))
        .arg(user.disabled_at.map(to_ms))
        .arg(user.credential_generation)
        .execute_on(self.conn()?)
        .await
        .map_err(conflict_or("An account with this email already exists"))?;
        Ok(())
    }

    async fn update_user_profile(&mut self, id: UserId, display_name: &str, marketing_emails: bool) -> Result<()> {
        sqlx::query("UPDATE users SET display_name = $2, marketing_emails = $3 WHERE id = $1")
            .arg(id.0)
            .arg(display_name)
            .arg(marketing_emails)
            .execute_on(self.conn()?)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn update_password(&mut self, id: UserId, phc: &str) -> Result<()> {
        sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
            .arg(id.0)
            .arg(phc)
            .execute_on(self.conn()?)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn set_totp_pending(&mut self, user: UserId, sealed: &[u8]) -> Result<()> {
        mfa::set_totp_pending(self.conn()?, user, sealed).await
    }

    async fn enable_totp(&mut self, user: UserId, sealed: &[u8], recovery_digests: &[Vec<u8>]) -> Result<()> {
        mfa::enable_totp(self.conn()?, user, sealed, recovery_digests).await
    }

    async fn disable_totp(&mut self, user: UserId) -> Result<()> {
        mfa::disable_totp(self.conn()?, user).await
    }

    async fn accept_totp_step(&mut self, user: UserId, step: i64) -> Result<bool> {
        mfa::accept_totp_step(self.conn()?, user, step).await
    }

    async fn use_recovery_code(&mut self, user: UserId, digest: &[u8], now: OffsetDateTime) -> Result<bool> {
        mfa::use_recovery_code(self.conn()?, user, digest, now).await
    }

    async fn insert_mfa_challenge(&mut self, digest: &[u8], user: UserId, expires_at: OffsetDateTime) -> Result<()> {
        mfa::insert_mfa_challenge(self.conn()?, digest, user, expires_at).await
    }

    async fn use_mfa_challenge(&mut self, digest: &[u8], now: OffsetDateTime) -> Result<bool> {
        mfa::use_mfa_challenge(self.conn()?, digest, now).await
    }

    async fn insert_api_key(&mut self, key: &ApiKey) -> Result<()> {
        let scopes = serde_json::to_string(&key.scopes).map_err(|err| Error::Internal(format!("scopes: {err}")))?;
        sqlx::query(concat!(
            "INSERT INTO api_keys (",
            api_key_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .arg(key.id.0)
        .arg(key.user_id.0)
        .arg(key.org_id.0)
        .arg(&key.name)
        .arg(&key.key_prefix)
        .arg(&key.digest)
        .arg(scopes)
        .arg(key.is_active)
        .arg(to_ms(key.created_at))
        .arg(key.expires_at.map(to_ms))
        .arg(key.last_used_at.map(to_ms))
        .execute_on(self.conn()?)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn deactivate_api_key(&mut self, user: UserId, id: ApiKeyId) -> Result<bool> {
        let done =
            sqlx::query("UPDATE api_keys SET is_active = FALSE WHERE id = $1 AND user_id = $2 AND is_active = TRUE")
                .arg(id.0)
                .arg(user.0)
                .execute_on(self.conn()?)
                .await
                .map_err(db_error)?;
        Ok(done > 0)
    }

    async fn touch_api_key(&mut self, id: ApiKeyId, now: OffsetDateTime) -> Result<()> {
        sqlx::query("UPDATE api_keys SET last_used_at = $2 WHERE id = $1")
            .arg(id.0)
            .arg(to_ms(now))
            .execute_on(self.conn()?)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn insert_session(&mut self, session: &Session) -> Result<()> {
        sqlx::query(concat!("INSERT INTO sessions (", session_cols!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7)"))
            .arg(session.id.0)
            .arg(session.user_id.0)
            .arg(session.org_id.0)
            .arg(session.refresh_digest.as_deref())
            .arg(to_ms(session.created_at))
            .arg(to_ms(session.expires_at))
            .arg(session.revoked_at.map(to_ms))
            .execute_on(self.conn()?)
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
        .arg(id.0)
        .arg(old)
        .arg(new)
        .arg(to_ms(expires_at))
        .execute_on(self.conn()?)
        .await
        .map_err(db_error)?;
        Ok(done > 0)
    }

    async fn revoke_session(&mut self, id: SessionId, now: OffsetDateTime) -> Result<()> {
        sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .arg(id.0)
            .arg(to_ms(now))
            .execute_on(self.conn()?)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn revoke_user_sessions(&mut self, user: UserId, now: OffsetDateTime) -> Result<Vec<(Uuid, i64)>> {
        let rows = sqlx::query(
            "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
             RETURNING id, expires_at",
        )
        .arg(user.0)
        .arg(to_ms(now))
        .fetch_all_on(self.conn()?)
        .await
        .map_err(db_error)?;
        rows.iter().map(|row| Ok((get(row, "id")?, get::<i64>(row, "expires_at")? / 1000))).collect()
    }

    async fn revoke_token(&mut self, jti: Uuid, forget_after: i64) -> Result<()> {
        sqlx::query("INSERT INTO revoked_tokens (jti, forget_after) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING")
            .arg(jti)
            .arg(forget_after.saturating_mul(1000))
            .execute_on(self.conn()?)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn update_user_role(&mut self, id: UserId, role: Role) -> Result<()> {
        access::update_user_role(self.conn()?, id, role).await
    }

    async fn disable_user(&mut self, id: UserId, now: OffsetDateTime) -> Result<()> {
        access::set_user_disabled(self.conn()?, id, Some(now), None).await
    }

    async fn enable_user(&mut self, id: UserId, role: Role) -> Result<()> {
        access::set_user_disabled(self.conn()?, id, None, Some(role)).await
    }

    async fn insert_invite(&mut self, invite: &Invite, token_digest: &[u8]) -> Result<()> {
        trust::insert_invite(self.conn()?, invite, token_digest).await
    }

    async fn accept_invite(&mut self, invite: InviteId, now: OffsetDateTime) -> Result<bool> {
        trust::accept_invite(self.conn()?, invite, now).await
    }

    async fn revoke_invite(&mut self, org: OrgId, invite: InviteId, now: OffsetDateTime) -> Result<bool> {
        trust::revoke_invite(self.conn()?, org, invite, now).await
    }

    async fn insert_email_token(&mut self, digest: &[u8], token: &oneclaw_core::mail::EmailToken) -> Result<()> {
        mail::insert_email_token(self.conn()?, digest, token).await
    }

    async fn use_email_token(&mut self, digest: &[u8], now: OffsetDateTime) -> Result<bool> {
        mail::use_email_token(self.conn()?, digest, now).await
    }

    async fn retire_email_tokens(
        &mut self,
        user: UserId,
        purpose: oneclaw_core::mail::TokenPurpose,
        now: OffsetDateTime,
    ) -> Result<()> {
        mail::retire_email_tokens(self.conn()?, user, purpose, now).await
    }

    async fn set_email_verified(&mut self, user: UserId, verified: bool) -> Result<()> {
        mail::set_email_verified(self.conn()?, user, verified).await
    }

    async fn change_email(&mut self, user: UserId, email: &str) -> Result<()> {
        mail::change_email(self.conn()?, user, email).await
    }

    async fn bump_credential_generation(&mut self, id: UserId) -> Result<i64> {
        trust::bump_credential_generation(self.conn()?, id).await
    }

    async fn deactivate_api_keys_of(&mut self, user: UserId) -> Result<Vec<Uuid>> {
        trust::deactivate_api_keys_of(self.conn()?, user).await
    }
}

#[async_trait]
impl<DB: SqlBackend> AgentTx for SqlTx<DB> {
    async fn disable_agents_of(&mut self, creator: UserId) -> Result<Vec<(AgentId, i64)>> {
        trust::disable_agents_of(self.conn()?, creator).await
    }

    async fn insert_agent(&mut self, agent: &Agent) -> Result<()> {
        access::upsert_agent(self.conn()?, agent, true).await.map(drop)
    }

    async fn update_agent(&mut self, agent: &Agent) -> Result<bool> {
        access::upsert_agent(self.conn()?, agent, false).await
    }

    async fn touch_agent(&mut self, id: AgentId, now: OffsetDateTime) -> Result<()> {
        access::touch_agent(self.conn()?, id, now).await
    }
}

#[async_trait]
impl<DB: SqlBackend> MailTx for SqlTx<DB> {
    async fn enqueue_mail(&mut self, outgoing: &oneclaw_core::mail::OutboxMail) -> Result<()> {
        mail::enqueue_mail(self.conn()?, outgoing).await
    }

    async fn claim_mail(&mut self, id: Uuid, now: OffsetDateTime, lease_until: OffsetDateTime) -> Result<bool> {
        mail::claim_mail(self.conn()?, id, now, lease_until).await
    }

    async fn mark_mail_sent(&mut self, id: Uuid, now: OffsetDateTime) -> Result<()> {
        mail::mark_mail_sent(self.conn()?, id, now).await
    }

    async fn mark_mail_attempt_failed(
        &mut self,
        id: Uuid,
        next_attempt_at: OffsetDateTime,
        failed_at: Option<OffsetDateTime>,
        error: &str,
    ) -> Result<()> {
        mail::mark_mail_attempt_failed(self.conn()?, id, next_attempt_at, failed_at, error).await
    }
}

#[async_trait]
impl<DB: SqlBackend> EnvTx for SqlTx<DB> {
    async fn insert_env_var(&mut self, var: &EnvVar) -> Result<()> {
        env::insert_env_var(self.conn()?, var).await
    }

    async fn update_env_var(&mut self, var: &EnvVar) -> Result<()> {
        env::update_env_var(self.conn()?, var).await
    }

    async fn delete_env_var(&mut self, org: OrgId, id: EnvVarId) -> Result<bool> {
        env::delete_env_var(self.conn()?, org, id).await
    }

    async fn insert_shared_env_value(
        &mut self,
        id: EnvVarId,
        version: i64,
        sealed: &[u8],
        now: OffsetDateTime,
    ) -> Result<()> {
        env::insert_shared_env_value(self.conn()?, id, version, sealed, now).await
    }

    async fn link_env_var(&mut self, id: EnvVarId, vault: VaultId, now: OffsetDateTime) -> Result<bool> {
        env::link_env_var(self.conn()?, id, vault, now).await
    }

    async fn unlink_env_var(&mut self, id: EnvVarId, vault: VaultId) -> Result<bool> {
        env::unlink_env_var(self.conn()?, id, vault).await
    }

    async fn insert_environment(&mut self, environment: &VaultEnvironment, max_custom: usize) -> Result<()> {
        env::insert_environment(self.conn()?, environment, max_custom).await
    }

    async fn delete_environment(&mut self, vault: VaultId, slug: &str) -> Result<bool> {
        env::delete_environment(self.conn()?, vault, slug).await
    }
}

#[async_trait]
impl<DB: SqlBackend> DeviceTx for SqlTx<DB> {
    async fn insert_device_code(&mut self, code: &oneclaw_core::model::DeviceCode) -> Result<()> {
        devices::insert(self.conn()?, code).await
    }

    async fn decide_device_code(
        &mut self,
        user_code: &str,
        status: oneclaw_core::model::DeviceStatus,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<bool> {
        devices::decide(self.conn()?, user_code, status, user, now).await
    }

    async fn use_device_code(&mut self, digest: &[u8], now: OffsetDateTime) -> Result<bool> {
        devices::use_code(self.conn()?, digest, now).await
    }

    async fn touch_device_code(&mut self, digest: &[u8], now: OffsetDateTime) -> Result<()> {
        devices::touch(self.conn()?, digest, now).await
    }
}

#[async_trait]
impl<DB: SqlBackend> ApprovalTx for SqlTx<DB> {
    async fn insert_approval(&mut self, approval: &oneclaw_core::approvals::Approval) -> Result<()> {
        super::sql_approvals::insert(self.conn()?, approval).await
    }

    async fn decide_approval(
        &mut self,
        decided: &oneclaw_core::approvals::Approval,
        now: OffsetDateTime,
    ) -> Result<bool> {
        super::sql_approvals::decide(self.conn()?, decided, now).await
    }

    async fn use_approval(&mut self, id: oneclaw_core::ids::ApprovalId, now: OffsetDateTime) -> Result<bool> {
        super::sql_approvals::use_once(self.conn()?, id, now).await
    }

    async fn expire_approval(&mut self, id: oneclaw_core::ids::ApprovalId, now: OffsetDateTime) -> Result<bool> {
        super::sql_approvals::expire(self.conn()?, id, now).await
    }

    async fn insert_approval_link(
        &mut self,
        digest: &[u8],
        approval: &oneclaw_core::approvals::Approval,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<()> {
        super::sql_approvals::insert_link(self.conn()?, digest, approval, user, now).await
    }

    async fn use_approval_link(&mut self, digest: &[u8], now: OffsetDateTime) -> Result<bool> {
        super::sql_approvals::use_link(self.conn()?, digest, now).await
    }
}

#[async_trait]
impl<DB: SqlBackend> WebhookTx for SqlTx<DB> {
    async fn insert_webhook(&mut self, webhook: &oneclaw_core::webhooks::Webhook, secret_sealed: &[u8]) -> Result<()> {
        self.webhooks_change(webhook.org_id);
        super::sql_webhooks::insert(self.conn()?, webhook, secret_sealed).await
    }

    async fn update_webhook(&mut self, webhook: &oneclaw_core::webhooks::Webhook) -> Result<bool> {
        self.webhooks_change(webhook.org_id);
        super::sql_webhooks::update(self.conn()?, webhook).await
    }

    async fn delete_webhook(&mut self, org: OrgId, id: Uuid, now: OffsetDateTime) -> Result<bool> {
        self.webhooks_change(org);
        super::sql_webhooks::delete(self.conn()?, org, id, now).await
    }
}

#[async_trait]
impl<DB: SqlBackend> BindingTx for SqlTx<DB> {
    async fn insert_binding(&mut self, binding: &Binding, sealed: Option<&[u8]>) -> Result<bool> {
        super::sql_intents::insert(self.conn()?, binding, sealed).await
    }

    async fn update_binding(&mut self, binding: &Binding, sealed: Option<Option<&[u8]>>) -> Result<bool> {
        super::sql_intents::update(self.conn()?, binding, sealed).await
    }

    async fn delete_binding(&mut self, org: OrgId, id: Uuid) -> Result<bool> {
        super::sql_intents::delete(self.conn()?, org, id).await
    }

    async fn reserve_execution(&mut self, execution: &Execution, limits: CallLimits) -> Result<Reservation> {
        super::sql_intents::reserve(self.conn()?, execution, limits).await
    }

    async fn finish_execution(&mut self, execution: &Execution) -> Result<()> {
        super::sql_intents::finish(self.conn()?, execution).await
    }
}
