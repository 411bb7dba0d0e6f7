//! The read side of the one query set (`Store` and its capability ports), generic over the
//! backend (see `backend.rs`). Placeholders are `$N` throughout.

use super::hot_reads::{HotReads, Question};
use super::sql_access as access;
use super::sql_approvals as approvals;
use super::sql_billing as billing;
use super::sql_devices as devices;
use super::sql_env as env;
use super::sql_keys as keys;
use super::sql_mail as mail;
use super::sql_mfa as mfa;
use super::sql_rows::{api_key_from, session_from, user_from, vault_from, version_from};
use super::sql_trust as trust;
use super::sql_tx::SqlTx;
use super::sqlite_inline::InlineReads;
use crate::backend::{SqlBackend, Statement, get};
use crate::convert::to_ms;
use crate::errors::db_error;
use crate::group_commit::WriteGroup;
use crate::write_gate::WriteGate;
use async_trait::async_trait;
use oneclaw_core::Result;
use oneclaw_core::approvals::{Approval, ApprovalStatus};
use oneclaw_core::audit::AuditEvent;
use oneclaw_core::audit::chain::Head;
use oneclaw_core::audit::verify::Checkpoint;
use oneclaw_core::billing::{CreditEntry, OverageMethod, PaidRequest, ResourceCounts, Tier};
use oneclaw_core::env_vars::{EnvScope, EnvVar, VaultEnvironment};
use oneclaw_core::ids::{AgentId, EnvVarId, OrgId, SecretId, SessionId, ShareId, UserId, VaultId};
use oneclaw_core::intents::{Binding, Execution};
use oneclaw_core::model::{Agent, ApiKey, Invite, IpRule, Role, SecretVersion, Session, Share, User, Vault};
use oneclaw_core::path::PathPrefix;
use oneclaw_core::policy::Policy;
use oneclaw_core::ports::store::*;
use oneclaw_core::ports::{
    AuditQuery, KekRef, MfaState, RequestCount, SecretRead, Store, StoreTx, VaultKeyRecord, WrappedDekRow,
};
use oneclaw_core::principal::PrincipalRef;
use sqlx::Pool;
use time::OffsetDateTime;
use uuid::Uuid;

/// A secret's current version number (`$1` vault, `$2` path).
pub(crate) const SECRET_CURRENT_VERSION_SQL: &str =
    "SELECT current_version FROM secrets WHERE vault_id = $1 AND path = $2";
/// A vault key's provider and handle (`$1` vault, `$2` version).
pub(crate) const VAULT_KEY_SQL: &str = "SELECT provider, handle FROM vault_keys WHERE vault_id = $1 AND version = $2";

/// A store over a connection pool of this backend.
pub struct SqlStore<DB: SqlBackend> {
    pool: Pool<DB>,
    writers: std::sync::Arc<WriteGate>,
    /// SQLite: writers share a transaction and its commit (`group_commit.rs`).
    group: Option<std::sync::Arc<WriteGroup<DB>>>,
    /// SQLite on a file: the access check's read without a worker-thread hop.
    inline_reads: Option<InlineReads>,
    /// SQLite on a file: the audit journal's batches in one hand-over (`sqlite_journal.rs`).
    journal_writer: Option<crate::sqlite_journal::JournalWriter>,
    /// Which event types each org's webhooks want (`sql_webhooks.rs`).
    subscriptions: std::sync::Arc<super::sql_webhooks::Subscriptions>,
    /// The secret read's store read, kept for a moment (`hot_reads.rs`).
    hot_reads: std::sync::Arc<HotReads>,
    /// PostgreSQL: the audit journal's batches in one statement (`pg_chain_appends.rs`).
    chain_appends: Option<crate::pg_chain_appends::ChainAppends>,
    /// SQLite on a file: the shared lock that keeps `restore` from replacing it while open.
    _in_use: Option<crate::backup::InUse>,
}

impl<DB: SqlBackend> SqlStore<DB> {
    pub(super) fn new(pool: Pool<DB>, writers: WriteGate) -> Self {
        Self {
            pool,
            writers: std::sync::Arc::new(writers),
            group: None,
            inline_reads: None,
            journal_writer: None,
            subscriptions: Default::default(),
            hot_reads: Default::default(),
            chain_appends: None,
            _in_use: None,
        }
    }

    /// Writes the audit journal's batches through `appends` (PostgreSQL).
    pub(super) fn with_chain_appends(self, appends: crate::pg_chain_appends::ChainAppends) -> Self {
        Self { chain_appends: Some(appends), ..self }
    }

    /// How many audit journal batches were written in one statement (PostgreSQL; always 0 on
    /// SQLite): the rest went through a transaction.
    pub fn one_statement_audit_batches(&self) -> u64 {
        self.chain_appends.as_ref().map_or(0, crate::pg_chain_appends::ChainAppends::written)
    }

    /// Commits writers together (SQLite; see `group_commit.rs`). Starts the committer task on
    /// the current runtime.
    pub(super) fn with_group_commit(self) -> Self {
        let group = WriteGroup::start(
            self.pool.clone(),
            std::sync::Arc::clone(&self.writers),
            std::sync::Arc::clone(&self.hot_reads),
        );
        Self { group: Some(group), ..self }
    }

    /// Holds `in_use` for as long as the store is open.
    pub(super) fn holding(self, in_use: Option<crate::backup::InUse>) -> Self {
        Self { _in_use: in_use, ..self }
    }

    /// Runs the access check's read through `reads` (SQLite on a file).
    pub(super) fn with_inline_reads(self, reads: Option<InlineReads>) -> Self {
        Self { inline_reads: reads, ..self }
    }

    /// Writes the audit journal's batches through `writer` while no group is open (SQLite on a
    /// file).
    pub(super) fn with_journal_writer(self, writer: Option<crate::sqlite_journal::JournalWriter>) -> Self {
        Self { journal_writer: writer, ..self }
    }

    /// The journal's writer, for tests.
    #[cfg(test)]
    pub(crate) fn journal_writer(&self) -> Option<&crate::sqlite_journal::JournalWriter> {
        self.journal_writer.as_ref()
    }

    /// Chains audit events written before the chain existed (a no-op once done).
    pub(super) async fn chain_legacy_audit(&self) -> Result<()> {
        let pool = self.pool.clone();
        super::sql_audit::chain_legacy_events(&self.pool, async || DB::begin_write(&pool).await).await
    }

    /// A write transaction in the writer's turn; `priority` for group commits (the audit
    /// journal, the meter), which wait behind at most one ordinary writer.
    async fn begin_in_turn(&self, priority: bool) -> Result<Box<dyn StoreTx>> {
        Ok(Box::new(self.write_transaction(priority).await?))
    }

    pub(crate) async fn write_transaction(&self, priority: bool) -> Result<SqlTx<DB>> {
        let subscriptions = std::sync::Arc::clone(&self.subscriptions);
        // A batch (audit records, request counts) changes nothing a kept read holds.
        let changes = (!priority).then(|| std::sync::Arc::clone(&self.hot_reads));
        // Counted in before queueing, so an open group waits for this writer.
        let arrival = self.group.as_ref().map(|group| group.arrive());
        // Queue first, then take a connection: a waiting writer holds no pooled connection.
        let turn = if priority { self.writers.priority_turn().await? } else { self.writers.turn().await? };
        match (&self.group, arrival) {
            (Some(group), Some(arrival)) => {
                // Held by the `SqlTx` before any await, so a dropped request hands it back.
                let (held, membership) = group.take(arrival);
                let mut tx = SqlTx::member(held, membership, turn, subscriptions).ending(changes);
                tx.prepare_member().await?;
                Ok(tx)
            }
            _ => Ok(SqlTx::alone(DB::begin_write(&self.pool).await?, turn, subscriptions).ending(changes)),
        }
    }

    /// Group commits made (SQLite), for tests.
    #[cfg(test)]
    pub(crate) fn group_commits(&self) -> u64 {
        self.group.as_ref().map_or(0, |group| group.commits())
    }

    #[cfg(test)]
    pub(crate) fn subscriptions(&self) -> &super::sql_webhooks::Subscriptions {
        &self.subscriptions
    }

    #[cfg(test)]
    pub(crate) fn write_group(&self) -> Option<&std::sync::Arc<WriteGroup<DB>>> {
        self.group.as_ref()
    }

    /// How long a secret read's store read may be answered again from memory (`hot_reads.rs`);
    /// zero turns that off.
    pub fn set_read_cache(&self, lifetime: std::time::Duration) {
        self.hot_reads.set_lifetime(lifetime);
    }

    /// Other nodes write to this database (PostgreSQL): nothing is answered from memory until
    /// their changes are noticed, on a listener of its own started here.
    pub(super) fn follow_other_nodes(&self, url: &str) {
        self.hot_reads.noticing(false);
        let reads = std::sync::Arc::downgrade(&self.hot_reads);
        tokio::spawn(super::sync_notices::follow_read_notices(url.to_owned(), reads));
    }

    /// The pool, for tests and maintenance commands that need raw access.
    pub fn pool(&self) -> &Pool<DB> {
        &self.pool
    }
}

#[async_trait]
impl<DB: SqlBackend> Store for SqlStore<DB> {
    fn backend(&self) -> &'static str {
        DB::BACKEND_NAME
    }

    fn pool_use(&self) -> Option<oneclaw_core::ports::PoolUse> {
        Some(oneclaw_core::ports::PoolUse {
            open: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
        })
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute_on(&self.pool).await.map_err(db_error)?;
        Ok(())
    }

    async fn begin(&self) -> Result<Box<dyn StoreTx>> {
        self.begin_in_turn(false).await
    }

    async fn begin_batch(&self) -> Result<Box<dyn StoreTx>> {
        self.begin_in_turn(true).await
    }

    async fn append_audit_batch(&self, events: Vec<AuditEvent>, counts: Vec<RequestCount>) -> Result<()> {
        let (events, counts) = match &self.chain_appends {
            Some(appends) => match appends.append(&self.subscriptions, events, counts).await? {
                crate::pg_chain_appends::Appended::Done => return Ok(()),
                crate::pg_chain_appends::Appended::NotTaken(events, counts) => (events, counts),
            },
            None => (events, counts),
        };
        if let (Some(writer), Some(group)) = (&self.journal_writer, &self.group)
            && let Some(turn) = group.quiet_turn().await?
        {
            let subscriptions = std::sync::Arc::clone(&self.subscriptions);
            match writer.write(events, counts, subscriptions, turn).await {
                Ok(written) => return written,
                Err(crate::sqlite_journal::NotTaken(events, counts)) => {
                    return oneclaw_core::ports::append_audit_batch_in_tx(self, &events, &counts).await;
                }
            }
        }
        oneclaw_core::ports::append_audit_batch_in_tx(self, &events, &counts).await
    }
}

#[async_trait]
impl<DB: SqlBackend> VaultStore for SqlStore<DB> {
    async fn vault(&self, org: OrgId, id: VaultId) -> Result<Option<Vault>> {
        let row = sqlx::query(concat!("SELECT ", vault_cols!(), " FROM vaults WHERE id = $1 AND org_id = $2"))
            .arg(id.0)
            .arg(org.0)
            .fetch_optional_on(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(vault_from).transpose()
    }

    async fn vault_by_id(&self, id: VaultId) -> Result<Option<Vault>> {
        let row = sqlx::query(concat!("SELECT ", vault_cols!(), " FROM vaults WHERE id = $1"))
            .arg(id.0)
            .fetch_optional_on(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(vault_from).transpose()
    }

    async fn vaults(&self, org: OrgId) -> Result<Vec<Vault>> {
        let rows =
            sqlx::query(concat!("SELECT ", vault_cols!(), " FROM vaults WHERE org_id = $1 ORDER BY created_at, id"))
                .arg(org.0)
                .fetch_all_on(&self.pool)
                .await
                .map_err(db_error)?;
        rows.iter().map(vault_from).collect()
    }
}

#[async_trait]
impl<DB: SqlBackend> SecretStore for SqlStore<DB> {
    async fn secret_for_read(&self, vault: VaultId, path: &str, version: Option<i64>) -> Result<Option<SecretRead>> {
        let row = sqlx::query(secret_read_sql!())
            .arg(vault.0)
            .arg(path)
            .arg(version)
            .fetch_optional_on(&self.pool)
            .await
            .map_err(db_error)?;
        row.map(|row| super::sql_rows::secret_read_from(&row, vault)).transpose()
    }

    async fn vault_access_with_secret(
        &self,
        org: OrgId,
        vault: VaultId,
        who: PrincipalRef,
        held: Option<i64>,
        path: &str,
        version: Option<i64>,
    ) -> Result<Option<(VaultAccess, Option<SecretRead>)>> {
        let question = Question { org, vault, path, version };
        if let Some(kept) = self.hot_reads.get(question, held) {
            return Ok(Some(kept));
        }
        let stamp = self.hot_reads.stamp();
        let found = match &self.inline_reads {
            Some(inline) => inline.vault_access_with_secret(org, vault, who, held, path, version)?,
            None => {
                super::sql_read_path::vault_access_with_secret(&self.pool, org, vault, who, held, path, version).await?
            }
        };
        if let Some(found) = &found {
            self.hot_reads.keep(stamp, question, found);
        }
        Ok(found)
    }

    async fn secret_current_version(&self, vault: VaultId, path: &str) -> Result<Option<i64>> {
        if let Some(inline) = &self.inline_reads {
            return inline.secret_current_version(vault, path);
        }
        sqlx::query(SECRET_CURRENT_VERSION_SQL)
            .arg(vault.0)
            .arg(path)
            .fetch_optional_scalar_on(&self.pool)
            .await
            .map_err(db_error)
    }

    async fn latest_secrets(&self, vault: VaultId, prefix: &PathPrefix) -> Result<Vec<SecretVersion>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            version_cols!(),
            " FROM secrets s JOIN secret_versions v ON v.secret_id = s.id AND v.version = s.current_version \
             WHERE s.vault_id = $1 AND s.deleted_at IS NULL AND ($2 = '' OR substr(s.path, 1, length($2)) = $2) \
             ORDER BY s.path"
        ))
        .arg(vault.0)
        .arg(prefix.as_str())
        .fetch_all_on(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter().map(version_from).collect()
    }

    async fn latest_secret_version(&self, vault: VaultId, path: &str) -> Result<Option<SecretVersion>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            version_cols!(),
            " FROM secrets s JOIN secret_versions v ON v.secret_id = s.id AND v.version = s.current_version \
             WHERE s.vault_id = $1 AND s.path = $2"
        ))
        .arg(vault.0)
        .arg(path)
        .fetch_optional_on(&self.pool)
        .await
        .map_err(db_error)?;
        row.as_ref().map(version_from).transpose()
    }

    async fn secret_versions(&self, vault: VaultId, path: &str) -> Result<Vec<SecretVersion>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            version_cols!(),
            " FROM secrets s JOIN secret_versions v ON v.secret_id = s.id \
             WHERE s.vault_id = $1 AND s.path = $2 ORDER BY v.version"
        ))
        .arg(vault.0)
        .arg(path)
        .fetch_all_on(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter().map(version_from).collect()
    }

    async fn secret_location(&self, org: OrgId, secret: SecretId) -> Result<Option<(VaultId, String)>> {
        access::secret_location(&self.pool, org, secret).await
    }
}

#[async_trait]
impl<DB: SqlBackend> KeyStore for SqlStore<DB> {
    async fn vault_key(&self, vault: VaultId, version: i64) -> Result<Option<KekRef>> {
        if let Some(inline) = &self.inline_reads {
            return inline.vault_key(vault, version);
        }
        let row = sqlx::query(VAULT_KEY_SQL)
            .arg(vault.0)
            .arg(version)
            .fetch_optional_on(&self.pool)
            .await
            .map_err(db_error)?;
        row.map(|row| {
            Ok(KekRef { vault_id: vault, version, provider: get(&row, "provider")?, handle: get(&row, "handle")? })
        })
        .transpose()
    }

    async fn vault_keys(&self, vault: VaultId) -> Result<Vec<VaultKeyRecord>> {
        keys::vault_keys(&self.pool, vault).await
    }

    async fn vaults_with_old_keys(&self) -> Result<Vec<VaultId>> {
        keys::vaults_with_old_keys(&self.pool).await
    }

    async fn vaults_off_provider(&self, provider: &str) -> Result<Vec<VaultId>> {
        keys::vaults_off_provider(&self.pool, provider).await
    }

    async fn deks_under_kek(&self, vault: VaultId, kek_version: i64, limit: i64) -> Result<Vec<WrappedDekRow>> {
        keys::deks_under_kek(&self.pool, vault, kek_version, limit).await
    }

    async fn system_secret(&self, purpose: &str) -> Result<Option<Vec<u8>>> {
        sqlx::query("SELECT sealed FROM system_secrets WHERE purpose = $1")
            .arg(purpose)
            .fetch_optional_scalar_on(&self.pool)
            .await
            .map_err(db_error)
    }
}

#[async_trait]
impl<DB: SqlBackend> AccessStore for SqlStore<DB> {
    async fn vault_access(
        &self,
        org: OrgId,
        vault: VaultId,
        who: PrincipalRef,
        held: Option<i64>,
    ) -> Result<Option<VaultAccess>> {
        if let Some(inline) = &self.inline_reads {
            return inline.vault_access(org, vault, who, held);
        }
        super::sql_read_path::vault_access(&self.pool, org, vault, who, held).await
    }

    async fn member_role(&self, org: OrgId, user: UserId) -> Result<Option<Role>> {
        access::member_role(&self.pool, org, user).await
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

    async fn share(&self, id: ShareId) -> Result<Option<Share>> {
        access::share(&self.pool, id).await
    }

    async fn share_by_link_digest(&self, digest: &[u8]) -> Result<Option<Share>> {
        access::share_by_link_digest(&self.pool, digest).await
    }

    async fn shares_created_by(&self, principal: PrincipalRef) -> Result<Vec<Share>> {
        access::shares_created_by(&self.pool, principal).await
    }

    async fn shares_received_by(&self, principal: PrincipalRef, email: Option<&str>) -> Result<Vec<Share>> {
        access::shares_received_by(&self.pool, principal, email).await
    }
}

#[async_trait]
impl<DB: SqlBackend> AuditStore for SqlStore<DB> {
    async fn audit_events(&self, org: OrgId, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
        super::sql_audit_query::page(&self.pool, org, query).await
    }

    async fn audit_head(&self, org: OrgId) -> Result<Head> {
        super::sql_audit::head(&self.pool, org).await
    }

    async fn audit_heads(&self) -> Result<Vec<(OrgId, Head)>> {
        super::sql_audit::heads(&self.pool).await
    }

    async fn audit_chain(&self, org: OrgId, after_seq: i64, limit: i64) -> Result<Vec<AuditEvent>> {
        super::sql_audit::chain(&self.pool, org, after_seq, limit).await
    }

    async fn audit_link_at(&self, org: OrgId, seq: i64) -> Result<Option<Head>> {
        super::sql_audit::link_at(&self.pool, org, seq).await
    }

    async fn audit_last_checkpoint_seq(&self, org: OrgId) -> Result<i64> {
        super::sql_audit::last_checkpoint_seq(&self.pool, org).await
    }

    async fn audit_checkpoints(&self, org: OrgId) -> Result<Vec<Checkpoint>> {
        super::sql_audit::checkpoints(&self.pool, org).await
    }
}

#[async_trait]
impl<DB: SqlBackend> BillingStore for SqlStore<DB> {
    async fn requests_in(&self, org: OrgId, month: &str) -> Result<i64> {
        billing::requests_in(&self.pool, org, month).await
    }

    async fn org_billing(&self, org: OrgId) -> Result<Option<(Tier, OverageMethod)>> {
        billing::org_billing(&self.pool, org).await
    }

    async fn resource_counts(&self, org: OrgId) -> Result<ResourceCounts> {
        billing::resource_counts(&self.pool, org).await
    }

    async fn credit_balance(&self, org: OrgId) -> Result<i64> {
        billing::credit_balance(&self.pool, org).await
    }

    async fn credit_ledger(&self, org: OrgId, limit: i64, offset: i64) -> Result<Vec<CreditEntry>> {
        billing::credit_ledger(&self.pool, org, limit, offset).await
    }

    async fn paid_requests(&self, org: OrgId, by: Option<PrincipalRef>, limit: i64) -> Result<Vec<PaidRequest>> {
        billing::paid_requests(&self.pool, org, by, limit).await
    }

    async fn paid_between(&self, org: OrgId, since: OffsetDateTime, until: OffsetDateTime) -> Result<(i64, i64)> {
        billing::paid_between(&self.pool, org, since, until).await
    }
}

#[async_trait]
impl<DB: SqlBackend> IdentityStore for SqlStore<DB> {
    async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let row = sqlx::query(concat!("SELECT ", user_cols!(), " FROM users WHERE email = $1"))
            .arg(email)
            .fetch_optional_on(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(user_from).transpose()
    }

    async fn user(&self, id: UserId) -> Result<Option<User>> {
        let row = sqlx::query(concat!("SELECT ", user_cols!(), " FROM users WHERE id = $1"))
            .arg(id.0)
            .fetch_optional_on(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(user_from).transpose()
    }

    async fn count_users(&self) -> Result<i64> {
        sqlx::query("SELECT COUNT(*) FROM users").fetch_scalar_on(&self.pool).await.map_err(db_error)
    }

    async fn mfa_state(&self, user: UserId) -> Result<MfaState> {
        mfa::mfa_state(&self.pool, user).await
    }

    async fn mfa_challenge(&self, digest: &[u8]) -> Result<Option<(UserId, OffsetDateTime, bool)>> {
        mfa::mfa_challenge(&self.pool, digest).await
    }

    async fn api_keys_by_prefix(&self, key_prefix: &str) -> Result<Vec<ApiKey>> {
        let rows = sqlx::query(concat!("SELECT ", api_key_cols!(), " FROM api_keys WHERE key_prefix = $1"))
            .arg(key_prefix)
            .fetch_all_on(&self.pool)
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
        .arg(user.0)
        .fetch_all_on(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter().map(api_key_from).collect()
    }

    async fn session_by_refresh_digest(&self, digest: &[u8]) -> Result<Option<Session>> {
        let row = sqlx::query(concat!("SELECT ", session_cols!(), " FROM sessions WHERE refresh_digest = $1"))
            .arg(digest)
            .fetch_optional_on(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(session_from).transpose()
    }

    async fn email_token(&self, digest: &[u8]) -> Result<Option<oneclaw_core::mail::EmailToken>> {
        mail::email_token(&self.pool, digest).await
    }

    async fn session(&self, id: SessionId) -> Result<Option<Session>> {
        let row = sqlx::query(concat!("SELECT ", session_cols!(), " FROM sessions WHERE id = $1"))
            .arg(id.0)
            .fetch_optional_on(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(session_from).transpose()
    }

    async fn live_revocations(&self, now: OffsetDateTime) -> Result<Vec<(Uuid, i64)>> {
        let rows = sqlx::query(
            "SELECT id, expires_at AS forget_after FROM sessions WHERE revoked_at IS NOT NULL AND expires_at > $1 \
             UNION ALL SELECT jti AS id, forget_after FROM revoked_tokens WHERE forget_after > $1",
        )
        .arg(to_ms(now))
        .fetch_all_on(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter().map(|row| Ok((get(row, "id")?, get::<i64>(row, "forget_after")? / 1000))).collect()
    }

    async fn org_members(&self, org: OrgId) -> Result<Vec<User>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            user_cols!(),
            " FROM users WHERE org_id = $1 AND disabled_at IS NULL ORDER BY created_at, id"
        ))
        .arg(org.0)
        .fetch_all_on(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter().map(user_from).collect()
    }

    async fn invite_by_token(&self, digest: &[u8]) -> Result<Option<Invite>> {
        trust::invite_by_token(&self.pool, digest).await
    }

    async fn invites(&self, org: OrgId) -> Result<Vec<Invite>> {
        trust::invites(&self.pool, org).await
    }

    async fn user_generations(&self) -> Result<Vec<(Uuid, i64)>> {
        trust::user_generations(&self.pool).await
    }

    async fn count_attempt(&self, account: &str, window_start: OffsetDateTime, now: OffsetDateTime) -> Result<i64> {
        trust::count_attempt(&self.pool, account, window_start, now).await
    }

    async fn clear_attempts(&self, account: &str) -> Result<()> {
        trust::clear_attempts(&self.pool, account).await
    }
}

#[async_trait]
impl<DB: SqlBackend> AgentStore for SqlStore<DB> {
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
}

#[async_trait]
impl<DB: SqlBackend> MailStore for SqlStore<DB> {
    async fn due_mails(&self, now: OffsetDateTime, limit: i64) -> Result<Vec<oneclaw_core::mail::OutboxMail>> {
        mail::due_mails(&self.pool, now, limit).await
    }

    async fn outbox(&self, limit: i64) -> Result<Vec<oneclaw_core::mail::OutboxMail>> {
        mail::outbox(&self.pool, limit).await
    }

    async fn mails_waiting(&self) -> Result<i64> {
        mail::mails_waiting(&self.pool).await
    }
}

#[async_trait]
impl<DB: SqlBackend> EnvStore for SqlStore<DB> {
    async fn env_vars(&self, scope: EnvScope) -> Result<Vec<EnvVar>> {
        env::env_vars(&self.pool, scope).await
    }

    async fn env_var(&self, org: OrgId, id: EnvVarId) -> Result<Option<EnvVar>> {
        env::env_var(&self.pool, org, id).await
    }

    async fn linked_env_vars(&self, vault: VaultId) -> Result<Vec<EnvVar>> {
        env::linked_env_vars(&self.pool, vault).await
    }

    async fn shared_env_value(&self, id: EnvVarId, version: i64) -> Result<Option<Vec<u8>>> {
        env::shared_env_value(&self.pool, id, version).await
    }

    async fn vault_environments(&self, vault: VaultId) -> Result<Vec<VaultEnvironment>> {
        env::vault_environments(&self.pool, vault).await
    }
}

#[async_trait]
impl<DB: SqlBackend> DeviceStore for SqlStore<DB> {
    async fn device_code_by_digest(&self, digest: &[u8]) -> Result<Option<oneclaw_core::model::DeviceCode>> {
        devices::by_digest(&self.pool, digest).await
    }

    async fn device_code_by_user_code(&self, user_code: &str) -> Result<Option<oneclaw_core::model::DeviceCode>> {
        devices::by_user_code(&self.pool, user_code).await
    }
}

#[async_trait]
impl<DB: SqlBackend> ApprovalStore for SqlStore<DB> {
    async fn approval(&self, org: OrgId, id: oneclaw_core::ids::ApprovalId) -> Result<Option<Approval>> {
        approvals::by_id(&self.pool, org, id).await
    }

    async fn approvals(
        &self,
        org: OrgId,
        status: Option<ApprovalStatus>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Approval>> {
        approvals::list(&self.pool, org, status, limit, offset).await
    }

    async fn pending_approval_for(&self, key: UseKey<'_>, now: OffsetDateTime) -> Result<Option<Approval>> {
        approvals::pending_for(&self.pool, key, now).await
    }

    async fn pending_approvals_of(&self, org: OrgId, requester: PrincipalRef, now: OffsetDateTime) -> Result<i64> {
        approvals::pending_of(&self.pool, org, requester, now).await
    }

    async fn usable_approval_for(&self, key: UseKey<'_>, now: OffsetDateTime) -> Result<Option<Approval>> {
        approvals::usable_for(&self.pool, key, now).await
    }

    async fn approval_link(
        &self,
        digest: &[u8],
        now: OffsetDateTime,
    ) -> Result<Option<(OrgId, oneclaw_core::ids::ApprovalId, UserId)>> {
        approvals::link(&self.pool, digest, now).await
    }
}

#[async_trait]
impl<DB: SqlBackend> WebhookStore for SqlStore<DB> {
    async fn webhooks(&self, org: OrgId) -> Result<Vec<oneclaw_core::webhooks::Webhook>> {
        super::sql_webhooks::list(&self.pool, org).await
    }

    async fn webhook(&self, org: OrgId, id: Uuid) -> Result<Option<oneclaw_core::webhooks::Webhook>> {
        super::sql_webhooks::by_id(&self.pool, org, id).await
    }

    async fn deliveries(&self, webhook: Uuid, limit: i64) -> Result<Vec<DeliveryRecord>> {
        super::sql_webhooks::deliveries(&self.pool, webhook, limit).await
    }

    async fn deliveries_waiting(&self) -> Result<i64> {
        super::sql_webhooks::deliveries_waiting(&self.pool).await
    }

    async fn claim_due_deliveries(
        &self,
        now: OffsetDateTime,
        claim_until: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<DueDelivery>> {
        super::sql_webhooks::claim_due(&self.pool, now, claim_until, limit).await
    }

    async fn record_attempt(
        &self,
        webhook: Uuid,
        event: Uuid,
        outcome: &AttemptOutcome,
        now: OffsetDateTime,
    ) -> Result<()> {
        super::sql_webhooks::record_attempt(&self.pool, webhook, event, outcome, now).await
    }
}

#[async_trait]
impl<DB: SqlBackend> BindingStore for SqlStore<DB> {
    async fn bindings(&self, org: OrgId, agent: AgentId) -> Result<Vec<Binding>> {
        super::sql_intents::list(&self.pool, org, agent).await
    }

    async fn binding(&self, org: OrgId, id: Uuid) -> Result<Option<Binding>> {
        super::sql_intents::by_id(&self.pool, org, id).await
    }

    async fn binding_by_name(&self, org: OrgId, agent: AgentId, name: &str) -> Result<Option<Binding>> {
        super::sql_intents::by_name(&self.pool, org, agent, name).await
    }

    async fn binding_credential(&self, id: Uuid) -> Result<Option<Vec<u8>>> {
        super::sql_intents::credential(&self.pool, id).await
    }

    async fn executions(&self, org: OrgId, agent: AgentId, limit: i64, offset: i64) -> Result<Vec<Execution>> {
        super::sql_intents::executions(&self.pool, org, agent, limit, offset).await
    }
}
