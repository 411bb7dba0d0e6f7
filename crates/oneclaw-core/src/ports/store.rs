//! The storage port. Reads go straight to the store; every change goes through a `StoreTx`,
//! which services only commit together with the audit events that record it (see
//! `services::Change`).

use crate::Result;
use crate::audit::AuditEvent;
use crate::audit::chain::Head;
use crate::audit::verify::Checkpoint;
use crate::billing::{CreditEntry, PaidRequest, PaymentNonce, ResourceCounts};
use crate::ids::{AgentId, ApiKeyId, IpRuleId, OrgId, PolicyId, SecretId, SessionId, ShareId, UserId, VaultId};
use crate::model::{Agent, ApiKey, Invite, IpRule, Org, Role, SealedValue, SecretVersion, Session, Share, User, Vault};
use crate::path::PathPrefix;
use crate::policy::Policy;
use crate::ports::keys::KekRef;
use crate::principal::PrincipalRef;
use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

/// A version to read, with what is needed to decrypt it.
#[derive(Debug, Clone)]
pub struct SecretRead {
    pub version: SecretVersion,
    pub sealed: SealedValue,
    pub kek: KekRef,
}

/// One KEK version of a vault as the store records it. Retired: no data key is wrapped by it
/// any more; destroyed: gone from its key provider too.
#[derive(Debug, Clone)]
pub struct VaultKeyRecord {
    pub kek: KekRef,
    pub created_at: OffsetDateTime,
    pub retired_at: Option<OffsetDateTime>,
    pub destroyed_at: Option<OffsetDateTime>,
}

/// A data key wrapped by some KEK version, with the path that (with the version) binds it.
#[derive(Debug, Clone)]
pub struct WrappedDekRow {
    pub secret_id: SecretId,
    pub version: i64,
    pub path: String,
    pub wrapped_dek: Vec<u8>,
}

/// A user's TOTP state as stored (sealed by the key provider).
#[derive(Debug, Clone, Default)]
pub struct MfaState {
    pub totp_sealed: Option<Vec<u8>>,
    pub pending_sealed: Option<Vec<u8>>,
    pub last_step: Option<i64>,
}

/// Records audit events of actions that change nothing else (reads, refusals). `record`
/// returns once the event is durable, so a caller never answers before its record exists;
/// implementations batch concurrent events into one commit.
#[async_trait]
pub trait AuditJournal: Send + Sync + 'static {
    async fn record(&self, event: AuditEvent) -> Result<()>;
}

/// Counts requests per org and month. `count` returns once the count is durable, with the
/// month's total including this request; implementations batch concurrent requests into one
/// commit (`oneclaw-store`'s `GroupCommitMeter`).
#[async_trait]
pub trait RequestCounter: Send + Sync + 'static {
    async fn count(&self, org: OrgId, month: &str) -> Result<i64>;
}

/// A filter over one org's audit events, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub resource_id: Option<String>,
    pub actor_id: Option<Uuid>,
    /// Only events this principal did or that are about it (its actor or its resource).
    pub about: Option<Uuid>,
    pub action: Option<String>,
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    pub limit: i64,
    pub offset: i64,
}

/// Persistent state. Implementations: SQLite and PostgreSQL in `oneclaw-store`.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Checks the database answers.
    async fn ping(&self) -> Result<()>;

    /// Starts a write transaction.
    async fn begin(&self) -> Result<Box<dyn StoreTx>>;

    /// A version to read (the latest when `version` is `None`), outside any transaction.
    async fn secret_for_read(&self, vault: VaultId, path: &str, version: Option<i64>) -> Result<Option<SecretRead>>;

    async fn user_by_email(&self, email: &str) -> Result<Option<User>>;
    async fn user(&self, id: UserId) -> Result<Option<User>>;
    async fn count_users(&self) -> Result<i64>;

    async fn vault(&self, org: OrgId, id: VaultId) -> Result<Option<Vault>>;

    /// A vault by id alone, for operator commands that act outside any org's request.
    async fn vault_by_id(&self, id: VaultId) -> Result<Option<Vault>>;
    async fn vaults(&self, org: OrgId) -> Result<Vec<Vault>>;
    async fn vault_key(&self, vault: VaultId, version: i64) -> Result<Option<KekRef>>;
    /// The newest version number a path has had (deleted ones included), if it ever had one.
    async fn secret_current_version(&self, vault: VaultId, path: &str) -> Result<Option<i64>>;

    /// Requests of the org counted in `month`.
    async fn requests_in(&self, org: OrgId, month: &str) -> Result<i64>;

    /// A user's second-factor state: the sealed TOTP secret, one awaiting confirmation, and the
    /// last time step accepted.
    async fn mfa_state(&self, user: UserId) -> Result<MfaState>;

    /// A login challenge waiting for its second factor: (user, expires at, used).
    async fn mfa_challenge(&self, digest: &[u8]) -> Result<Option<(UserId, OffsetDateTime, bool)>>;

    /// The org's tier and overage method as stored (`free`, `credits` by default).
    async fn org_billing(&self, org: OrgId) -> Result<Option<(String, String)>>;

    /// What the org holds now: vaults, live secrets, active agents.
    async fn resource_counts(&self, org: OrgId) -> Result<ResourceCounts>;

    /// The org's prepaid credit balance in micro-dollars.
    async fn credit_balance(&self, org: OrgId) -> Result<i64>;

    /// The org's credit movements, newest first.
    async fn credit_ledger(&self, org: OrgId, limit: i64, offset: i64) -> Result<Vec<CreditEntry>>;

    /// The org's paid requests, newest first.
    async fn paid_requests(&self, org: OrgId, limit: i64) -> Result<Vec<PaidRequest>>;

    /// Every KEK version the vault ever had, oldest first.
    async fn vault_keys(&self, vault: VaultId) -> Result<Vec<VaultKeyRecord>>;

    /// Vaults with an old KEK version not yet destroyed: rotations still to finish.
    async fn vaults_with_old_keys(&self) -> Result<Vec<VaultId>>;

    /// Vaults whose current KEK is not held by `provider` (what a migration must move).
    async fn vaults_off_provider(&self, provider: &str) -> Result<Vec<VaultId>>;

    /// Up to `limit` data keys of the vault still wrapped by KEK `kek_version`.
    async fn deks_under_kek(&self, vault: VaultId, kek_version: i64, limit: i64) -> Result<Vec<WrappedDekRow>>;

    /// The latest version of every live secret in a vault whose path starts with `prefix`.
    async fn latest_secrets(&self, vault: VaultId, prefix: &PathPrefix) -> Result<Vec<SecretVersion>>;
    /// Every version of the secret at `path`, oldest first.
    async fn secret_versions(&self, vault: VaultId, path: &str) -> Result<Vec<SecretVersion>>;

    async fn api_keys_by_prefix(&self, key_prefix: &str) -> Result<Vec<ApiKey>>;
    async fn api_keys_of(&self, user: UserId) -> Result<Vec<ApiKey>>;

    async fn session_by_refresh_digest(&self, digest: &[u8]) -> Result<Option<Session>>;
    /// Revoked sessions and tokens that could still be presented: (id, forget after, unix s).
    async fn live_revocations(&self, now: OffsetDateTime) -> Result<Vec<(Uuid, i64)>>;

    /// A sealed server secret by purpose.
    async fn system_secret(&self, purpose: &str) -> Result<Option<Vec<u8>>>;

    async fn audit_events(&self, org: OrgId, query: &AuditQuery) -> Result<Vec<AuditEvent>>;
    /// The org's audit chain head.
    async fn audit_head(&self, org: OrgId) -> Result<Head>;
    /// Every org's audit chain head (the nil org holds events of no org).
    async fn audit_heads(&self) -> Result<Vec<(OrgId, Head)>>;
    /// Up to `limit` events of the org's chain after `after_seq`, in chain order.
    async fn audit_chain(&self, org: OrgId, after_seq: i64, limit: i64) -> Result<Vec<AuditEvent>>;
    /// The (seq, hash) of the event at `seq`, as stored.
    async fn audit_link_at(&self, org: OrgId, seq: i64) -> Result<Option<Head>>;
    async fn audit_checkpoints(&self, org: OrgId) -> Result<Vec<Checkpoint>>;
    /// The seq of the org's last checkpoint (0 without one).
    async fn audit_last_checkpoint_seq(&self, org: OrgId) -> Result<i64>;

    /// Active (not removed) members of an org, oldest first.
    async fn org_members(&self, org: OrgId) -> Result<Vec<User>>;
    /// Mails due for a (first or next) attempt, oldest first.
    async fn due_mails(&self, now: OffsetDateTime, limit: i64) -> Result<Vec<crate::mail::OutboxMail>>;
    /// The outbox, newest first (sent and failed mails included), for operators.
    async fn outbox(&self, limit: i64) -> Result<Vec<crate::mail::OutboxMail>>;
    /// The mailed token whose keyed digest this is.
    async fn email_token(&self, digest: &[u8]) -> Result<Option<crate::mail::EmailToken>>;
    /// A login session by id.
    async fn session(&self, id: SessionId) -> Result<Option<Session>>;
    /// The invitation whose token has this keyed digest.
    async fn invite_by_token(&self, digest: &[u8]) -> Result<Option<Invite>>;
    /// The org's invitations, newest first (accepted, revoked and expired ones included).
    async fn invites(&self, org: OrgId) -> Result<Vec<Invite>>;
    /// (user id, credential generation) of every user whose generation moved from its first.
    async fn user_generations(&self) -> Result<Vec<(Uuid, i64)>>;
    /// Counts one attempt against `account` in the window that started after `window_start`
    /// (older counts start again at 1); the attempts in the window, this one included. One
    /// atomic statement, so parallel attempts each count and the limit holds across nodes.
    async fn count_attempt(&self, account: &str, window_start: OffsetDateTime, now: OffsetDateTime) -> Result<i64>;
    /// Forgets an account's attempts (a success).
    async fn clear_attempts(&self, account: &str) -> Result<()>;

    /// An agent of the org (deleted ones included; callers decide).
    async fn agent(&self, org: OrgId, id: AgentId) -> Result<Option<Agent>>;
    async fn agents(&self, org: OrgId) -> Result<Vec<Agent>>;
    async fn agents_by_key_prefix(&self, key_prefix: &str) -> Result<Vec<Agent>>;
    /// (agent id, token generation) of every agent whose generation moved from its first.
    async fn agent_generations(&self) -> Result<Vec<(Uuid, i64)>>;

    /// The policies of one principal on one vault.
    async fn policies_for(&self, vault: VaultId, principal: PrincipalRef) -> Result<Vec<Policy>>;
    /// Every policy of a vault, highest priority first.
    async fn vault_policies(&self, vault: VaultId) -> Result<Vec<Policy>>;
    /// Every policy naming a principal, across vaults (for scopes and vault visibility).
    async fn principal_policies(&self, principal: PrincipalRef) -> Result<Vec<Policy>>;

    async fn ip_rules(&self, org: OrgId) -> Result<Vec<IpRule>>;

    /// (vault, path) of a live secret of the org by its id.
    async fn secret_location(&self, org: OrgId, secret: SecretId) -> Result<Option<(VaultId, String)>>;
    async fn share(&self, id: ShareId) -> Result<Option<Share>>;
    /// The link share whose token has this keyed digest.
    async fn share_by_link_digest(&self, digest: &[u8]) -> Result<Option<Share>>;
    async fn shares_created_by(&self, principal: PrincipalRef) -> Result<Vec<Share>>;
    /// Shares addressed to a principal by id, or (for users) by email.
    async fn shares_received_by(&self, principal: PrincipalRef, email: Option<&str>) -> Result<Vec<Share>>;
}

/// One write transaction. Dropping it without `commit` rolls everything back.
#[async_trait]
pub trait StoreTx: Send {
    async fn insert_org(&mut self, org: &Org) -> Result<()>;
    /// Fails with `Conflict` when the email is taken.
    async fn insert_user(&mut self, user: &User) -> Result<()>;
    async fn update_user_profile(&mut self, id: UserId, display_name: &str, marketing_emails: bool) -> Result<()>;
    async fn update_password(&mut self, id: UserId, phc: &str) -> Result<()>;

    async fn insert_vault(&mut self, vault: &Vault, kek: &KekRef) -> Result<()>;

    /// The vault's current KEK, held against retirement until this transaction ends; `None`
    /// if the vault is gone (or, between two statements, its KEK was just rotated out).
    async fn current_kek(&mut self, vault: VaultId) -> Result<Option<KekRef>>;

    /// Records a new KEK version and makes it current, if `from_version` is still current.
    /// False (and nothing to commit) if another rotation got there first.
    async fn add_vault_key(&mut self, kek: &KekRef, from_version: i64, now: OffsetDateTime) -> Result<bool>;

    /// Replaces one wrapped data key, if it is still `old_wrapped`. False if it changed.
    async fn rewrap_dek(
        &mut self,
        secret_id: SecretId,
        version: i64,
        old_wrapped: &[u8],
        new_wrapped: &[u8],
        new_kek_version: i64,
    ) -> Result<bool>;

    /// Marks an old KEK version retired if no data key of the vault is wrapped by it any more
    /// (and it is not current). False if some still are.
    async fn retire_vault_key(&mut self, vault: VaultId, version: i64, now: OffsetDateTime) -> Result<bool>;

    /// Records that a retired KEK is gone from its provider. False if that was already recorded.
    async fn mark_vault_key_destroyed(&mut self, vault: VaultId, version: i64, now: OffsetDateTime) -> Result<bool>;

    /// Adds `n` requests to the org's count for `month` (`YYYY-MM`) and returns the new total:
    /// one atomic statement, correct with many processes on one database.
    async fn add_requests(&mut self, org: OrgId, month: &str, n: i64) -> Result<i64>;

    /// Keeps a TOTP secret until its first code confirms it.
    async fn set_totp_pending(&mut self, user: UserId, sealed: &[u8]) -> Result<()>;

    /// Turns TOTP on with the confirmed secret and the digests of fresh recovery codes.
    async fn enable_totp(&mut self, user: UserId, sealed: &[u8], recovery_digests: &[Vec<u8>]) -> Result<()>;

    /// Turns TOTP off and forgets its secret and recovery codes.
    async fn disable_totp(&mut self, user: UserId) -> Result<()>;

    /// Accepts time step `step` for the user once: false if it (or a later one) was used.
    async fn accept_totp_step(&mut self, user: UserId, step: i64) -> Result<bool>;

    /// Spends a recovery code: false if unknown or used.
    async fn use_recovery_code(&mut self, user: UserId, digest: &[u8], now: OffsetDateTime) -> Result<bool>;

    /// Records a login challenge waiting for its second factor.
    async fn insert_mfa_challenge(&mut self, digest: &[u8], user: UserId, expires_at: OffsetDateTime) -> Result<()>;

    /// Uses a challenge once, if it has not expired: false otherwise.
    async fn use_mfa_challenge(&mut self, digest: &[u8], now: OffsetDateTime) -> Result<bool>;

    /// Sets the org's tier. False if there is no such org.
    async fn set_org_tier(&mut self, org: OrgId, tier: &str) -> Result<bool>;

    /// Sets how the org pays past its allowance.
    async fn set_overage_method(&mut self, org: OrgId, method: &str) -> Result<()>;

    /// Moves credits (`amount` > 0 grants, < 0 spends) and records the movement; `None`, and
    /// nothing changed, if a spend would take the balance below zero.
    async fn move_credits(&mut self, entry: &CreditEntry) -> Result<Option<i64>>;

    /// Spends an x402 authorization: true the first time (chain, asset, payer, nonce) is seen.
    async fn consume_payment_nonce(&mut self, spent: &PaymentNonce, now: OffsetDateTime) -> Result<bool>;

    /// Records a paid request.
    async fn insert_paid_request(&mut self, paid: &PaidRequest) -> Result<()>;

    /// Replaces a sealed server secret (after resealing it with another key provider).
    async fn replace_system_secret(&mut self, purpose: &str, sealed: &[u8]) -> Result<()>;
    /// Deletes a vault with its secrets and key references; false when there was none.
    async fn delete_vault(&mut self, org: OrgId, id: VaultId) -> Result<bool>;

    /// Takes the next version number for a path, creating the secret (or reviving a deleted one).
    async fn next_secret_version(&mut self, vault: VaultId, path: &str, now: OffsetDateTime)
    -> Result<(SecretId, i64)>;
    async fn insert_secret_version(&mut self, version: &SecretVersion, sealed: &SealedValue) -> Result<()>;
    /// A version to read: the latest when `version` is `None`.
    async fn secret_for_read(&mut self, vault: VaultId, path: &str, version: Option<i64>)
    -> Result<Option<SecretRead>>;
    /// Counts one read against `max_access_count`; false when the limit was already reached.
    async fn count_secret_access(&mut self, secret: SecretId, version: i64) -> Result<bool>;
    /// Soft-deletes every version at a path; false when there was no live secret.
    /// Also revokes the secret's shares: a path made again later is a new secret to them.
    async fn soft_delete_secret(&mut self, vault: VaultId, path: &str, now: OffsetDateTime) -> Result<bool>;
    /// Disables one version; false when it does not exist.
    async fn disable_secret_version(&mut self, vault: VaultId, path: &str, version: i64) -> Result<bool>;

    async fn insert_api_key(&mut self, key: &ApiKey) -> Result<()>;
    /// Deactivates a user's key; false when the user has no such active key.
    async fn deactivate_api_key(&mut self, user: UserId, id: ApiKeyId) -> Result<bool>;
    async fn touch_api_key(&mut self, id: ApiKeyId, now: OffsetDateTime) -> Result<()>;

    async fn insert_session(&mut self, session: &Session) -> Result<()>;
    /// Swaps a session's refresh token; false when `old` is no longer its token.
    async fn rotate_refresh_token(
        &mut self,
        id: SessionId,
        old: &[u8],
        new: &[u8],
        expires_at: OffsetDateTime,
    ) -> Result<bool>;
    async fn revoke_session(&mut self, id: SessionId, now: OffsetDateTime) -> Result<()>;
    /// Revokes every live session of a user and returns them as (id, forget after).
    async fn revoke_user_sessions(&mut self, user: UserId, now: OffsetDateTime) -> Result<Vec<(Uuid, i64)>>;
    /// Revokes a single token that belongs to no session (an API-key exchange).
    async fn revoke_token(&mut self, jti: Uuid, forget_after: i64) -> Result<()>;

    /// Stores a sealed server secret unless one exists for the purpose (first writer wins).
    async fn insert_system_secret(&mut self, purpose: &str, sealed: &[u8], now: OffsetDateTime) -> Result<()>;

    async fn update_user_role(&mut self, id: UserId, role: Role) -> Result<()>;
    async fn disable_user(&mut self, id: UserId, now: OffsetDateTime) -> Result<()>;
    /// Re-admits a removed user (an invitation accepted again).
    async fn enable_user(&mut self, id: UserId, role: Role) -> Result<()>;
    /// Stores an invitation with the keyed digest of its token.
    async fn insert_invite(&mut self, invite: &Invite, token_digest: &[u8]) -> Result<()>;
    /// Marks an open invitation accepted; false when it was already accepted, revoked or expired.
    async fn accept_invite(&mut self, invite: crate::ids::InviteId, now: OffsetDateTime) -> Result<bool>;
    /// Revokes an open invitation of the org; false when there is none.
    async fn revoke_invite(&mut self, org: OrgId, invite: crate::ids::InviteId, now: OffsetDateTime) -> Result<bool>;
    /// Puts a mail in the outbox, to be sent once the transaction commits.
    async fn enqueue_mail(&mut self, mail: &crate::mail::OutboxMail) -> Result<()>;
    /// Takes a due mail for sending until `lease_until` (so no other node sends it meanwhile);
    /// false when it is not due any more (sent, failed, or taken by another node).
    async fn claim_mail(&mut self, id: Uuid, now: OffsetDateTime, lease_until: OffsetDateTime) -> Result<bool>;
    async fn mark_mail_sent(&mut self, id: Uuid, now: OffsetDateTime) -> Result<()>;
    /// Records a failed attempt: the next one at `next_attempt_at`, or none (`failed`).
    async fn mark_mail_attempt_failed(
        &mut self,
        id: Uuid,
        next_attempt_at: OffsetDateTime,
        failed_at: Option<OffsetDateTime>,
        error: &str,
    ) -> Result<()>;
    /// Stores a mailed token by the keyed digest of its text.
    async fn insert_email_token(&mut self, digest: &[u8], token: &crate::mail::EmailToken) -> Result<()>;
    /// Spends a token that is unused and unexpired; false otherwise (one statement decides).
    async fn use_email_token(&mut self, digest: &[u8], now: OffsetDateTime) -> Result<bool>;
    /// Spends every open token of a user for a purpose (a newer one replaces them).
    async fn retire_email_tokens(&mut self, user: UserId, purpose: &str, now: OffsetDateTime) -> Result<()>;
    async fn set_email_verified(&mut self, user: UserId, verified: bool) -> Result<()>;
    /// Gives the user a new (verified) address; a conflict if another account has it.
    async fn change_email(&mut self, user: UserId, email: &str) -> Result<()>;
    /// Bumps a user's credential generation (every older token stops); the new generation.
    async fn bump_credential_generation(&mut self, id: UserId) -> Result<i64>;
    /// Deactivates every live agent the user registered, bumping each one's token generation:
    /// (agent id, new generation) of each.
    async fn disable_agents_of(&mut self, creator: UserId) -> Result<Vec<(AgentId, i64)>>;

    async fn insert_agent(&mut self, agent: &Agent) -> Result<()>;
    /// Writes every mutable field of an agent (settings, key, generation, deletion) if it is still
    /// at `agent.revision - 1` and not deleted; false when something changed it meanwhile.
    async fn update_agent(&mut self, agent: &Agent) -> Result<bool>;
    async fn touch_agent(&mut self, id: AgentId, now: OffsetDateTime) -> Result<()>;

    async fn insert_policy(&mut self, policy: &Policy) -> Result<()>;
    async fn update_policy(&mut self, policy: &Policy) -> Result<()>;
    /// False when the vault has no such policy.
    async fn delete_policy(&mut self, vault: VaultId, id: PolicyId) -> Result<bool>;

    async fn insert_ip_rule(&mut self, rule: &IpRule) -> Result<()>;
    async fn delete_ip_rule(&mut self, org: OrgId, id: IpRuleId) -> Result<bool>;

    async fn insert_share(&mut self, share: &Share) -> Result<()>;
    /// Claims one passphrase attempt before it is checked: false while the share is locked.
    /// The `max`-th attempt since the last success (or lock) locks it until `lock_until`. One
    /// statement, so parallel guesses each count and at most `max` are ever checked per lock.
    async fn claim_share_attempt(
        &mut self,
        id: ShareId,
        max: i64,
        now: OffsetDateTime,
        lock_until: OffsetDateTime,
    ) -> Result<bool>;
    /// Forgets a share's attempts and lock (a right passphrase was given).
    async fn clear_share_failures(&mut self, id: ShareId) -> Result<()>;
    /// Revokes a live share; false when it was already revoked.
    async fn revoke_share(&mut self, id: ShareId, now: OffsetDateTime) -> Result<bool>;
    /// Accepts or declines a live share; false when it was revoked meanwhile.
    async fn respond_share(&mut self, id: ShareId, accept: bool, now: OffsetDateTime) -> Result<bool>;
    /// Revokes every live share a user created, and every live share made by the agents they
    /// registered (a removed member); how many.
    async fn revoke_shares_of_member(&mut self, member: UserId, now: OffsetDateTime) -> Result<u64>;
    /// Deactivates every API key of a user; the ids of those that were active.
    async fn deactivate_api_keys_of(&mut self, user: UserId) -> Result<Vec<Uuid>>;
    /// Counts one access against the limit; false when it was used up, revoked or expired.
    async fn count_share_access(&mut self, id: ShareId, now: OffsetDateTime) -> Result<bool>;

    /// Appends an event to its org's hash chain (locking the org's chain head).
    async fn append_audit(&mut self, event: &AuditEvent) -> Result<()>;
    /// Appends several events, in order (one head read and write per org).
    async fn append_audits(&mut self, events: &[AuditEvent]) -> Result<()>;
    async fn insert_checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<()>;

    /// Commits. Only `services::Change` calls this, after appending the audit events.
    async fn commit(self: Box<Self>) -> Result<()>;
}
