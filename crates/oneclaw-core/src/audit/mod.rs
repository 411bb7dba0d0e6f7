//! Audit events: what every action leaves behind. Details carry ids, paths and versions, never a
//! value, key, token or password (the builders here take no such argument).
//!
//! Each org's events form a hash chain (`chain`): an event's hash covers a canonical encoding of
//! its fields and the previous event's hash, so changing, removing, inserting or reordering
//! events breaks it. Signed checkpoints of the chain head (`verify`) catch a rewrite of the whole
//! chain by someone with database access.

pub mod chain;
pub mod verify;

use crate::ids::{AuditEventId, OrgId};
use crate::principal::{Caller, PrincipalRef, RequestMeta};
use time::OffsetDateTime;
use uuid::Uuid;

/// How the action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Denied,
    Failure,
}

impl Outcome {
    /// Parses a stored name.
    pub fn parse(text: &str) -> Self {
        match text {
            "success" => Self::Success,
            "denied" => Self::Denied,
            _ => Self::Failure,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Denied => "denied",
            Self::Failure => "failure",
        }
    }
}

/// Action names, as the 1claw docs spell them where they name one.
pub mod action {
    pub const AUTH_SIGNUP: &str = "auth.signup";
    /// A sign-up named an address that has an account; its owner was mailed.
    pub const AUTH_SIGNUP_EXISTING: &str = "auth.signup_existing";
    pub const AUTH_SUCCESS: &str = "auth.success";
    pub const AUTH_FAILURE: &str = "auth.failure";
    pub const AUTH_REFRESH: &str = "auth.refresh";
    pub const AUTH_DEVICE_APPROVE: &str = "auth.device_approve";
    pub const AUTH_DEVICE_DENY: &str = "auth.device_deny";
    pub const AUTH_DEVICE_LOGIN: &str = "auth.device_login";
    pub const AUTH_API_KEY_EXCHANGE: &str = "auth.api_key_token";
    pub const AUTH_SIGN_OUT: &str = "auth.token_revoke";
    pub const AUTH_PASSWORD_CHANGE: &str = "auth.password_change";
    pub const AUTH_MFA_ENABLE: &str = "auth.mfa_enable";
    pub const AUTH_MFA_DISABLE: &str = "auth.mfa_disable";
    pub const AUTH_MFA_CHALLENGE: &str = "auth.mfa_challenge";
    pub const AUTH_PROFILE_UPDATE: &str = "auth.profile_update";
    pub const API_KEY_CREATE: &str = "api_key.create";
    pub const MEMBER_INVITE_REVOKE: &str = "member.invite_revoke";
    pub const USER_EMAIL_VERIFIED: &str = "user.email_verified";
    pub const USER_VERIFICATION_SENT: &str = "user.verification_sent";
    pub const USER_PASSWORD_RESET_REQUESTED: &str = "user.password_reset_requested";
    pub const USER_PASSWORD_RESET: &str = "user.password_reset";
    pub const USER_PASSWORD_SET: &str = "user.password_set";
    pub const USER_EMAIL_CHANGE_REQUESTED: &str = "user.email_change_requested";
    pub const USER_EMAIL_CHANGED: &str = "user.email_changed";
    pub const API_KEY_REVOKE: &str = "api_key.revoke";
    pub const VAULT_CREATE: &str = "vault.create";
    pub const VAULT_DELETE: &str = "vault.delete";
    pub const VAULT_KEY_ROTATE: &str = "vault.key_rotate";
    pub const VAULT_KEY_DESTROY: &str = "vault.key_destroy";
    pub const SYSTEM_KEY_RESEAL: &str = "system.key_reseal";
    pub const BILLING_PAYMENT: &str = "billing.payment";
    pub const BILLING_REFUND: &str = "billing.refund";
    pub const BILLING_TIER: &str = "billing.tier_change";
    pub const BILLING_CREDITS: &str = "billing.credits_grant";
    pub const BILLING_OVERAGE_METHOD: &str = "billing.overage_method";
    pub const SECRET_READ: &str = "secret.read";
    pub const APPROVAL_REQUESTED: &str = "approval.requested";
    pub const APPROVAL_APPROVED: &str = "approval.approved";
    pub const APPROVAL_DENIED: &str = "approval.denied";
    pub const APPROVAL_USED: &str = "approval.used";
    pub const APPROVAL_EXPIRED: &str = "approval.expired";
    pub const APPROVAL_CANCELLED: &str = "approval.cancelled";
    /// A verification found the org's chain broken (reserved: nothing records it yet, since
    /// verification must not write into the chain it checks).
    pub const AUDIT_CHAIN_BROKEN: &str = "audit.chain_broken";
    pub const SECRET_WRITE: &str = "secret.write";
    pub const SECRET_DELETE: &str = "secret.delete";
    pub const SECRET_ROTATE: &str = "secret.rotate";
    pub const SECRET_LIST: &str = "secret.list";
    pub const SECRET_VERSIONS: &str = "secret.list_versions";
    pub const SECRET_VERSION_DISABLE: &str = "secret.version_disable";
    pub const AUTH_AGENT_TOKEN: &str = "auth.agent_token";
    pub const AGENT_REGISTER: &str = "agent.register";
    pub const AGENT_UPDATE: &str = "agent.update";
    pub const AGENT_ROTATE_KEY: &str = "agent.rotate_key";
    pub const AGENT_DEACTIVATE: &str = "agent.deactivate";
    pub const POLICY_CREATE: &str = "policy.create";
    pub const POLICY_UPDATE: &str = "policy.update";
    pub const POLICY_DELETE: &str = "policy.delete";
    pub const MEMBER_INVITE: &str = "member.invite";
    pub const MEMBER_JOIN: &str = "member.join";
    pub const MEMBER_ROLE: &str = "member.role_change";
    pub const MEMBER_REMOVE: &str = "member.remove";
    pub const IP_RULE_CREATE: &str = "ip_rule.create";
    pub const IP_RULE_DELETE: &str = "ip_rule.delete";
    pub const IP_RULE_DENY: &str = "ip_rule.deny";
    pub const SHARE_CREATE: &str = "share.create";
    pub const SHARE_ACCESS: &str = "share.access";
    pub const SHARE_REVOKE: &str = "share.revoke";
    pub const SHARE_ACCEPT: &str = "share.accept";
    pub const SHARE_DECLINE: &str = "share.decline";
    pub const ENV_VAR_CREATE: &str = "env_var.create";
    pub const ENV_VAR_UPDATE: &str = "env_var.update";
    pub const ENV_VAR_DELETE: &str = "env_var.delete";
    pub const ENV_VAR_READ: &str = "env_var.read";
    pub const ENV_VAR_LIST: &str = "env_var.list";
    pub const ENV_VAR_RESOLVE: &str = "env_var.resolve";
    pub const ENV_VAR_LINK: &str = "env_var.link";
    pub const ENV_VAR_UNLINK: &str = "env_var.unlink";
    pub const ENVIRONMENT_CREATE: &str = "environment.create";
    pub const ENVIRONMENT_DELETE: &str = "environment.delete";
}

/// One audit record.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub id: AuditEventId,
    /// The org whose log holds it; the nil id for events with no org (an unknown user's login).
    pub org_id: OrgId,
    /// `user`, `agent`, `anonymous` or `system`.
    pub actor_type: String,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub details: serde_json::Value,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub surface: String,
    pub outcome: Outcome,
    pub created_at: OffsetDateTime,
    /// The event's place in its org's chain; `None` until the store appends it.
    pub link: Option<chain::Link>,
}

impl AuditEvent {
    /// An event by an authenticated caller.
    pub fn by(caller: &Caller, action: &str, resource_type: &str, now: OffsetDateTime) -> Self {
        Self::by_principal(caller.principal.who, caller.org_id(), &caller.meta, action, resource_type, now)
    }

    /// An event by a known principal that has no token yet (login, signup).
    pub fn by_principal(
        who: PrincipalRef,
        org_id: OrgId,
        meta: &RequestMeta,
        action: &str,
        resource_type: &str,
        now: OffsetDateTime,
    ) -> Self {
        Self::base(org_id, who.kind.as_str(), Some(who.id), meta, action, resource_type, now)
    }

    /// An event by nobody known (a failed login for an unknown account).
    pub fn anonymous(meta: &RequestMeta, action: &str, resource_type: &str, now: OffsetDateTime) -> Self {
        Self::base(OrgId(Uuid::nil()), "anonymous", None, meta, action, resource_type, now)
    }

    /// An event by the server itself (key creation at first start, maintenance commands).
    pub fn system(meta: &RequestMeta, action: &str, resource_type: &str, now: OffsetDateTime) -> Self {
        Self::base(OrgId(Uuid::nil()), "system", None, meta, action, resource_type, now)
    }

    /// An event by the server or its operator (a `oneclaw keys` command, a resumed rotation)
    /// that belongs to one org's chain.
    pub fn system_in(
        org_id: OrgId,
        meta: &RequestMeta,
        action: &str,
        resource_type: &str,
        now: OffsetDateTime,
    ) -> Self {
        Self::base(org_id, "system", None, meta, action, resource_type, now)
    }

    fn base(
        org_id: OrgId,
        actor_type: &str,
        actor_id: Option<Uuid>,
        meta: &RequestMeta,
        action: &str,
        resource_type: &str,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id: AuditEventId::generate(),
            org_id,
            actor_type: actor_type.to_owned(),
            actor_id,
            action: action.to_owned(),
            resource_type: resource_type.to_owned(),
            resource_id: None,
            details: serde_json::Value::Object(serde_json::Map::new()),
            ip_address: meta.ip.map(|ip| ip.to_string()),
            user_agent: meta.user_agent.clone(),
            surface: meta.surface.as_str().to_owned(),
            outcome: Outcome::Success,
            created_at: now,
            link: None,
        }
    }

    /// Names the resource acted on.
    pub fn resource(mut self, id: impl ToString) -> Self {
        self.resource_id = Some(id.to_string());
        self
    }

    /// Adds one detail. Callers pass ids, paths, versions, names: never a credential or value.
    pub fn detail(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        if let serde_json::Value::Object(map) = &mut self.details {
            map.insert(key.to_owned(), value.into());
        }
        self
    }

    /// Marks how it ended.
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }
}
