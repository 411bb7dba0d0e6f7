//! The domain services. Every surface (REST, MCP, dashboard, CLI) calls these, so the rules,
//! the audit trail and (later) metering are the same whichever door a request used.

pub mod access;
mod accounts;
mod agents;
mod api_keys;
mod approvals;
mod audit;
mod auth;
mod billing;
mod bindings;
pub(crate) mod change;
mod charging;
mod device_login;
mod env_shared;
mod env_vars;
mod execute;
mod generate;
mod ip_rules;
mod keys;
mod mail;
mod mail_templates;
mod mfa;
mod policies;
mod rate;
mod request_leases;
mod secrets;
mod shares;
mod team;
mod throttle;
mod vaults;
mod verified_tokens;
mod webhooks;

pub use accounts::{Accounts, CHANGE_TTL, RESET_TTL, VERIFY_TTL};
pub use agents::{AgentSettings, AgentToken, Agents, DEFAULT_AGENT_TTL_SECS};
pub use api_keys::{ApiKeys, CreatedApiKey};
pub use approvals::{AgentRequest, Approvals, MAX_LIST as MAX_APPROVALS, Verdict};
pub use audit::{Audit, MAX_PAGE};
pub use auth::{Auth, IssuedToken, LoginOutcome, NewAccount, SignupOutcome};
pub use billing::{Billing, BillingSettings, Reservation, Subscription, Usage};
pub use bindings::{BindingDraft, Bindings, CredentialInput, credential_purpose};
pub use device_login::{DEVICE_CODE_TTL_SECS, DEVICE_POLL_INTERVAL_SECS, DevicePoll, DeviceStart, normalize_user_code};
pub use env_shared::{EnvironmentView, SharedEnv};
pub use env_vars::{EnvSelector, EnvSource, EnvVarChange, EnvVars, NewEnvVar, ResolvedEnv};
pub use execute::{ExecuteOutcome, ExecuteRequest, Executions, TestOutcome};
pub use generate::Charset;
pub use ip_rules::{IpRuleCache, IpRules};
pub use keys::{KeyActor, KeyLifecycle, KeyMigration, KeyRotation};
pub use mail::{Delivery, Mailer};
pub use mfa::{Mfa, TotpEnrolment};
pub use policies::{Policies, PolicyDraft};
pub use secrets::{NewSecret, RevealedSecret, Rotation, Secrets};
pub use shares::{CreatedShare, NewShare, ShareKey, SharedSecret, Shares};
pub use team::Team;
pub use throttle::Throttle;
pub use vaults::Vaults;
pub use webhooks::{
    SECRET_PREFIX as WEBHOOK_SECRET_PREFIX, WebhookDraft, Webhooks, host_of, is_public, secret_purpose,
};

use crate::Result;
use crate::audit::verify::ChainSigner;
use crate::clock::Clock;
use crate::ports::{CredentialHasher, KeyProvider, SecretCipher, Store, TokenSigner};
use crate::revocation::RevocationList;
use std::sync::Arc;

/// Tunables of the domain, fixed at start-up.
#[derive(Debug, Clone)]
pub struct CoreSettings {
    /// Lifetime of a user access token.
    pub access_token_ttl_secs: i64,
    /// Lifetime of a login session (its refresh token).
    pub session_ttl_secs: i64,
    /// Whether anyone may sign up.
    pub signup_open: bool,
    /// Largest secret value accepted, in bytes.
    pub max_secret_bytes: usize,
    /// Metering, tier limits and payment; off for a private deployment.
    pub billing: BillingSettings,
    /// The base of every link the server hands out (mails, `share_url`), e.g.
    /// `https://vault.example.com`.
    pub public_url: String,
    /// Whether mail is sent (SMTP configured); without it nothing is queued.
    pub mail_enabled: bool,
    /// Whether webhooks may target private, loopback and link-local addresses.
    pub webhook_allow_private: bool,
    /// Whether execution intents may reach private, loopback and link-local addresses (each
    /// binding must still name such a host in `guardrails.allow_private_hosts`).
    pub execute_allow_private: bool,
}

impl Default for CoreSettings {
    fn default() -> Self {
        Self {
            access_token_ttl_secs: 900,
            session_ttl_secs: 30 * 24 * 3600,
            signup_open: true,
            max_secret_bytes: 256 * 1024,
            billing: BillingSettings::default(),
            public_url: "http://127.0.0.1:8443".to_owned(),
            mail_enabled: false,
            webhook_allow_private: false,
            execute_allow_private: false,
        }
    }
}

/// The adapters the domain runs on, chosen by the composition root.
pub struct Deps {
    pub store: Arc<dyn Store>,
    pub keys: Arc<dyn KeyProvider>,
    pub cipher: Arc<dyn SecretCipher>,
    pub tokens: Arc<dyn TokenSigner>,
    pub hasher: Arc<dyn CredentialHasher>,
    pub clock: Arc<dyn Clock>,
    /// Durable, batched recording of events that come with no other change.
    pub journal: Arc<dyn crate::ports::AuditJournal>,
    /// Durable, batched counting of requests for billing.
    pub counter: Arc<dyn crate::ports::RequestCounter>,
    /// Signs audit checkpoints with a key held by the key provider.
    pub chain_signer: Arc<dyn ChainSigner>,
    pub settings: CoreSettings,
    /// Callers' compiled policies, kept while their vault's policy generation holds.
    pub policy_sets: access::PolicyCache,
    /// Makes execution intents' outside calls (HTTP, PostgreSQL).
    pub intents: Arc<dyn crate::ports::IntentRunner>,
}

/// The domain, ready to serve: cheap to clone and share across tasks.
#[derive(Clone)]
pub struct Core {
    inner: Arc<Inner>,
}

struct Inner {
    deps: Deps,
    revocations: RevocationList,
    ip_rules: IpRuleCache,
    /// 1claw allows 10 new shares per minute per org.
    share_rate: rate::OrgRateLimit,
    /// Orgs' plans as recently read (metering reads them on every request).
    plans: billing::PlanCache,
    /// Request places leased to this node (metering).
    leases: request_leases::LeaseBook,
    /// Abuse limits on credential checks.
    throttle: Throttle,
    /// Bearer tokens verified since start (a metric; tests hold it to one per request).
    verifications: std::sync::atomic::AtomicU64,
    /// Bearer tokens whose signature this node has checked.
    verified: verified_tokens::VerifiedTokens,
}

impl Core {
    /// Builds the domain and loads what it keeps in memory (the revocation list).
    pub async fn start(deps: Deps) -> Result<Self> {
        let core = Self {
            inner: Arc::new(Inner {
                deps,
                revocations: RevocationList::default(),
                ip_rules: IpRuleCache::default(),
                share_rate: rate::OrgRateLimit::new(10, time::Duration::minutes(1)),
                plans: billing::PlanCache::default(),
                leases: request_leases::LeaseBook::default(),
                throttle: Throttle::default(),
                verifications: std::sync::atomic::AtomicU64::new(0),
                verified: Default::default(),
            }),
        };
        core.sync().await?;
        Ok(core)
    }

    /// Reloads what other nodes may have changed: revocations, agent token generations, IP
    /// rules. The server runs it every few seconds, so a revocation on one node reaches all.
    pub async fn sync(&self) -> Result<()> {
        let deps = &self.inner.deps;
        let now = deps.clock.now();
        for (id, forget_after) in deps.store.live_revocations(now).await? {
            self.inner.revocations.revoke(id, forget_after);
        }
        for (agent, generation) in deps.store.agent_generations().await? {
            self.inner.revocations.set_generation(agent, generation);
        }
        for (user, generation) in deps.store.user_generations().await? {
            self.inner.revocations.set_generation(user, generation);
        }
        self.inner.revocations.prune(now.unix_timestamp());
        self.inner.verified.prune(now.unix_timestamp());
        self.inner.throttle.prune();
        self.inner.ip_rules.clear();
        Ok(())
    }

    /// The TOTP second factor.
    pub fn mfa(&self) -> Mfa<'_> {
        Mfa::new(&self.inner.deps, &self.inner.throttle, &self.inner.revocations)
    }

    /// Metering, tiers, credits and payments.
    pub fn billing(&self) -> Billing<'_> {
        Billing::with_cache(&self.inner.deps, &self.inner.plans, &self.inner.leases)
    }

    /// KEK rotation and migration between key providers.
    pub fn keys(&self) -> KeyLifecycle<'_> {
        KeyLifecycle::new(&self.inner.deps)
    }

    /// Sign-up, sign-in, tokens, profile.
    pub fn auth(&self) -> Auth<'_> {
        let inner = &self.inner;
        Auth::new(
            &inner.deps,
            &inner.revocations,
            &inner.ip_rules,
            &inner.throttle,
            &inner.verifications,
            &inner.verified,
        )
    }

    /// Agents and their token exchange.
    pub fn agents(&self) -> Agents<'_> {
        Agents::new(&self.inner.deps, &self.inner.revocations, &self.inner.ip_rules, &self.inner.throttle)
    }

    /// Vault policies.
    pub fn policies(&self) -> Policies<'_> {
        Policies::new(&self.inner.deps)
    }

    /// Members, invitations, roles.
    pub fn team(&self) -> Team<'_> {
        Team::new(&self.inner.deps, &self.inner.revocations, &self.inner.throttle)
    }

    /// Org IP rules.
    pub fn ip_rules(&self) -> IpRules<'_> {
        IpRules::new(&self.inner.deps, &self.inner.ip_rules)
    }

    /// The audit log.
    pub fn audit(&self) -> Audit<'_> {
        Audit::new(&self.inner.deps)
    }

    /// Shares.
    pub fn shares(&self) -> Shares<'_> {
        Shares::new(&self.inner.deps, &self.inner.share_rate, &self.inner.throttle)
    }

    /// The outbox.
    pub fn mail(&self) -> Mailer<'_> {
        Mailer::new(&self.inner.deps)
    }

    /// Email verification, password reset, email change.
    pub fn accounts(&self) -> Accounts<'_> {
        Accounts::new(&self.inner.deps, &self.inner.revocations, &self.inner.throttle)
    }

    /// Personal API keys.
    pub fn api_keys(&self) -> ApiKeys<'_> {
        ApiKeys::new(&self.inner.deps, &self.inner.revocations)
    }

    /// Approval requests and decisions.
    pub fn approvals(&self) -> Approvals<'_> {
        Approvals::new(&self.inner.deps)
    }

    /// Event webhooks.
    pub fn webhooks(&self) -> Webhooks<'_> {
        Webhooks::new(&self.inner.deps)
    }

    pub fn bindings(&self) -> Bindings<'_> {
        Bindings::new(&self.inner.deps)
    }

    pub fn executions(&self) -> Executions<'_> {
        Executions::new(&self.inner.deps)
    }

    /// Vaults.
    pub fn vaults(&self) -> Vaults<'_> {
        Vaults::new(&self.inner.deps)
    }

    /// Secrets.
    pub fn env_vars(&self) -> EnvVars<'_> {
        EnvVars::new(&self.inner.deps)
    }

    pub fn shared_env(&self) -> SharedEnv<'_> {
        SharedEnv::new(&self.inner.deps)
    }

    pub fn secrets(&self) -> Secrets<'_> {
        Secrets::new(&self.inner.deps)
    }

    /// How many bearer tokens have been verified since start.
    pub fn token_verifications(&self) -> u64 {
        self.inner.verifications.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The adapters, for the server's own wiring (health checks, JWKS).
    pub fn deps(&self) -> &Deps {
        &self.inner.deps
    }
}
