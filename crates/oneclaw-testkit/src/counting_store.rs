//! A counting store: the real store behind it answers, and every call is recorded by name, so a
//! test can hold a request to the store calls it makes (`a_secret_read_makes_two_store_calls`).
//! Writes are counted once, as the `begin` of their transaction.

use async_trait::async_trait;
use oneclaw_core::Result;
use oneclaw_core::audit::AuditEvent;
use oneclaw_core::audit::chain::Head;
use oneclaw_core::audit::verify::Checkpoint;
use oneclaw_core::billing::{CreditEntry, OverageMethod, PaidRequest, ResourceCounts, Tier};
use oneclaw_core::env_vars::{EnvScope, EnvVar, VaultEnvironment};
use oneclaw_core::ids::{AgentId, EnvVarId, OrgId, SecretId, SessionId, ShareId, UserId, VaultId};
use oneclaw_core::mail::{EmailToken, OutboxMail};
use oneclaw_core::model::{Agent, ApiKey, Invite, IpRule, Role, SecretVersion, Session, Share, User, Vault};
use oneclaw_core::path::PathPrefix;
use oneclaw_core::policy::Policy;
use oneclaw_core::ports::KekRef;
use oneclaw_core::ports::store::*;
use oneclaw_core::principal::PrincipalRef;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;
use uuid::Uuid;

/// The store calls made since the last `take`, by method name, in order.
#[derive(Debug, Default, Clone)]
pub struct StoreCalls(Arc<Mutex<Vec<&'static str>>>);

impl StoreCalls {
    fn record(&self, name: &'static str) {
        self.0.lock().expect("store call log").push(name);
    }

    /// The calls recorded so far, forgetting them.
    pub fn take(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.0.lock().expect("store call log"))
    }
}

/// Wraps a store; every call goes through to it and is recorded in `calls`.
pub struct CountingStore {
    inner: Arc<dyn Store>,
    calls: StoreCalls,
}

impl CountingStore {
    pub fn wrap(inner: Arc<dyn Store>, calls: StoreCalls) -> Arc<dyn Store> {
        Arc::new(Self { inner, calls })
    }
}

/// Implements a capability trait by recording each call and passing it to the inner store.
macro_rules! delegate {
    ($trait:ident { $(async fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)* }) => {
        #[async_trait]
        impl $trait for CountingStore {
            $(async fn $name(&self $(, $arg: $ty)*) -> $ret {
                self.calls.record(stringify!($name));
                self.inner.$name($($arg),*).await
            })*
        }
    };
}

#[async_trait]
impl Store for CountingStore {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn ping(&self) -> Result<()> {
        self.calls.record("ping");
        self.inner.ping().await
    }

    async fn begin(&self) -> Result<Box<dyn StoreTx>> {
        self.calls.record("begin");
        self.inner.begin().await
    }

    async fn begin_batch(&self) -> Result<Box<dyn StoreTx>> {
        self.calls.record("begin");
        self.inner.begin_batch().await
    }

    async fn append_audit_batch(
        &self,
        events: Vec<oneclaw_core::audit::AuditEvent>,
        counts: Vec<oneclaw_core::ports::RequestCount>,
    ) -> Result<()> {
        // One write transaction, whichever way the backend writes it.
        self.calls.record("begin");
        self.inner.append_audit_batch(events, counts).await
    }
}

delegate! {
    VaultStore {
        async fn vault(&self, org: OrgId, id: VaultId) -> Result<Option<Vault>>;
        async fn vault_by_id(&self, id: VaultId) -> Result<Option<Vault>>;
        async fn vaults(&self, org: OrgId) -> Result<Vec<Vault>>;
    }
}

delegate! {
    SecretStore {
        async fn secret_for_read(&self, vault: VaultId, path: &str, version: Option<i64>) -> Result<Option<SecretRead>>;
        async fn vault_access_with_secret(&self, org: OrgId, vault: VaultId, who: PrincipalRef, held: Option<i64>, path: &str, version: Option<i64>) -> Result<Option<(VaultAccess, Option<SecretRead>)>>;
        async fn secret_current_version(&self, vault: VaultId, path: &str) -> Result<Option<i64>>;
        async fn latest_secret_version(&self, vault: VaultId, path: &str) -> Result<Option<SecretVersion>>;
        async fn latest_secrets(&self, vault: VaultId, prefix: &PathPrefix) -> Result<Vec<SecretVersion>>;
        async fn secret_versions(&self, vault: VaultId, path: &str) -> Result<Vec<SecretVersion>>;
        async fn secret_location(&self, org: OrgId, secret: SecretId) -> Result<Option<(VaultId, String)>>;
    }
}

delegate! {
    KeyStore {
        async fn vault_key(&self, vault: VaultId, version: i64) -> Result<Option<KekRef>>;
        async fn vault_keys(&self, vault: VaultId) -> Result<Vec<VaultKeyRecord>>;
        async fn vaults_with_old_keys(&self) -> Result<Vec<VaultId>>;
        async fn vaults_off_provider(&self, provider: &str) -> Result<Vec<VaultId>>;
        async fn deks_under_kek(&self, vault: VaultId, kek_version: i64, limit: i64) -> Result<Vec<WrappedDekRow>>;
        async fn system_secret(&self, purpose: &str) -> Result<Option<Vec<u8>>>;
    }
}

delegate! {
    AccessStore {
        async fn vault_access(&self, org: OrgId, vault: VaultId, who: PrincipalRef, held: Option<i64>) -> Result<Option<VaultAccess>>;
        async fn member_role(&self, org: OrgId, user: UserId) -> Result<Option<Role>>;
        async fn policies_for(&self, vault: VaultId, principal: PrincipalRef) -> Result<Vec<Policy>>;
        async fn vault_policies(&self, vault: VaultId) -> Result<Vec<Policy>>;
        async fn principal_policies(&self, principal: PrincipalRef) -> Result<Vec<Policy>>;
        async fn ip_rules(&self, org: OrgId) -> Result<Vec<IpRule>>;
        async fn share(&self, id: ShareId) -> Result<Option<Share>>;
        async fn share_by_link_digest(&self, digest: &[u8]) -> Result<Option<Share>>;
        async fn shares_created_by(&self, principal: PrincipalRef) -> Result<Vec<Share>>;
        async fn shares_received_by(&self, principal: PrincipalRef, email: Option<&str>) -> Result<Vec<Share>>;
    }
}

delegate! {
    AuditStore {
        async fn audit_events(&self, org: OrgId, query: &AuditQuery) -> Result<Vec<AuditEvent>>;
        async fn audit_head(&self, org: OrgId) -> Result<Head>;
        async fn audit_heads(&self) -> Result<Vec<(OrgId, Head)>>;
        async fn audit_chain(&self, org: OrgId, after_seq: i64, limit: i64) -> Result<Vec<AuditEvent>>;
        async fn audit_link_at(&self, org: OrgId, seq: i64) -> Result<Option<Head>>;
        async fn audit_checkpoints(&self, org: OrgId) -> Result<Vec<Checkpoint>>;
        async fn audit_last_checkpoint_seq(&self, org: OrgId) -> Result<i64>;
    }
}

delegate! {
    BillingStore {
        async fn requests_in(&self, org: OrgId, month: &str) -> Result<i64>;
        async fn org_billing(&self, org: OrgId) -> Result<Option<(Tier, OverageMethod)>>;
        async fn resource_counts(&self, org: OrgId) -> Result<ResourceCounts>;
        async fn credit_balance(&self, org: OrgId) -> Result<i64>;
        async fn credit_ledger(&self, org: OrgId, limit: i64, offset: i64) -> Result<Vec<CreditEntry>>;
        async fn paid_requests(&self, org: OrgId, by: Option<PrincipalRef>, limit: i64) -> Result<Vec<PaidRequest>>;
        async fn paid_between(&self, org: OrgId, since: OffsetDateTime, until: OffsetDateTime) -> Result<(i64, i64)>;
    }
}

delegate! {
    IdentityStore {
        async fn user_by_email(&self, email: &str) -> Result<Option<User>>;
        async fn user(&self, id: UserId) -> Result<Option<User>>;
        async fn count_users(&self) -> Result<i64>;
        async fn mfa_state(&self, user: UserId) -> Result<MfaState>;
        async fn mfa_challenge(&self, digest: &[u8]) -> Result<Option<(UserId, OffsetDateTime, bool)>>;
        async fn api_keys_by_prefix(&self, key_prefix: &str) -> Result<Vec<ApiKey>>;
        async fn api_keys_of(&self, user: UserId) -> Result<Vec<ApiKey>>;
        async fn session_by_refresh_digest(&self, digest: &[u8]) -> Result<Option<Session>>;
        async fn live_revocations(&self, now: OffsetDateTime) -> Result<Vec<(Uuid, i64)>>;
        async fn org_members(&self, org: OrgId) -> Result<Vec<User>>;
        async fn email_token(&self, digest: &[u8]) -> Result<Option<EmailToken>>;
        async fn session(&self, id: SessionId) -> Result<Option<Session>>;
        async fn invite_by_token(&self, digest: &[u8]) -> Result<Option<Invite>>;
        async fn invites(&self, org: OrgId) -> Result<Vec<Invite>>;
        async fn user_generations(&self) -> Result<Vec<(Uuid, i64)>>;
        async fn count_attempt(&self, account: &str, window_start: OffsetDateTime, now: OffsetDateTime) -> Result<i64>;
        async fn clear_attempts(&self, account: &str) -> Result<()>;
    }
}

delegate! {
    AgentStore {
        async fn agent(&self, org: OrgId, id: AgentId) -> Result<Option<Agent>>;
        async fn agents(&self, org: OrgId) -> Result<Vec<Agent>>;
        async fn agents_by_key_prefix(&self, key_prefix: &str) -> Result<Vec<Agent>>;
        async fn agent_generations(&self) -> Result<Vec<(Uuid, i64)>>;
    }
}

delegate! {
    MailStore {
        async fn due_mails(&self, now: OffsetDateTime, limit: i64) -> Result<Vec<OutboxMail>>;
        async fn outbox(&self, limit: i64) -> Result<Vec<OutboxMail>>;
        async fn mails_waiting(&self) -> Result<i64>;
    }
}

delegate! {
    EnvStore {
        async fn env_vars(&self, scope: EnvScope) -> Result<Vec<EnvVar>>;
        async fn env_var(&self, org: OrgId, id: EnvVarId) -> Result<Option<EnvVar>>;
        async fn linked_env_vars(&self, vault: VaultId) -> Result<Vec<EnvVar>>;
        async fn shared_env_value(&self, id: EnvVarId, version: i64) -> Result<Option<Vec<u8>>>;
        async fn vault_environments(&self, vault: VaultId) -> Result<Vec<VaultEnvironment>>;
    }
}

delegate! {
    DeviceStore {
        async fn device_code_by_digest(&self, digest: &[u8]) -> Result<Option<oneclaw_core::model::DeviceCode>>;
        async fn device_code_by_user_code(&self, user_code: &str) -> Result<Option<oneclaw_core::model::DeviceCode>>;
    }
}

delegate! {
    WebhookStore {
        async fn webhooks(&self, org: OrgId) -> Result<Vec<oneclaw_core::webhooks::Webhook>>;
        async fn webhook(&self, org: OrgId, id: Uuid) -> Result<Option<oneclaw_core::webhooks::Webhook>>;
        async fn deliveries(&self, webhook: Uuid, limit: i64) -> Result<Vec<DeliveryRecord>>;
        async fn deliveries_waiting(&self) -> Result<i64>;
        async fn claim_due_deliveries(&self, now: OffsetDateTime, claim_until: OffsetDateTime, limit: i64) -> Result<Vec<DueDelivery>>;
        async fn record_attempt(&self, webhook: Uuid, event: Uuid, outcome: &AttemptOutcome, now: OffsetDateTime) -> Result<()>;
    }
}

delegate! {
    BindingStore {
        async fn bindings(&self, org: OrgId, agent: AgentId) -> Result<Vec<oneclaw_core::intents::Binding>>;
        async fn binding(&self, org: OrgId, id: Uuid) -> Result<Option<oneclaw_core::intents::Binding>>;
        async fn binding_by_name(&self, org: OrgId, agent: AgentId, name: &str) -> Result<Option<oneclaw_core::intents::Binding>>;
        async fn binding_credential(&self, id: Uuid) -> Result<Option<Vec<u8>>>;
        async fn executions(&self, org: OrgId, agent: AgentId, limit: i64, offset: i64) -> Result<Vec<oneclaw_core::intents::Execution>>;
    }
}

delegate! {
    ApprovalStore {
        async fn approval(&self, org: OrgId, id: oneclaw_core::ids::ApprovalId) -> Result<Option<oneclaw_core::approvals::Approval>>;
        async fn approvals(&self, org: OrgId, status: Option<oneclaw_core::approvals::ApprovalStatus>, limit: i64, offset: i64) -> Result<Vec<oneclaw_core::approvals::Approval>>;
        async fn pending_approval_for(&self, key: UseKey<'_>, now: OffsetDateTime) -> Result<Option<oneclaw_core::approvals::Approval>>;
        async fn usable_approval_for(&self, key: UseKey<'_>, now: OffsetDateTime) -> Result<Option<oneclaw_core::approvals::Approval>>;
        async fn pending_approvals_of(&self, org: OrgId, requester: PrincipalRef, now: OffsetDateTime) -> Result<i64>;
        async fn approval_link(&self, digest: &[u8], now: OffsetDateTime) -> Result<Option<(OrgId, oneclaw_core::ids::ApprovalId, UserId)>>;
    }
}
