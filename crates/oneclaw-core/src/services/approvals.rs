//! Approvals: the gate a `require_approval` policy puts on a secret use, and the requests
//! humans decide.
//!
//! The gate: a use only an approval policy allows is served if an approval for exactly that
//! use (requester, vault, path, operation) is still good, and spends it (one use) in a
//! transaction of its own, recorded as `approval.used`. Otherwise the pending request for that
//! use is reused, or a new one made (`approval.requested`), and the caller gets 403
//! `approval_required` with its id. Approving never widens access: the gate runs only after
//! the policy check has allowed the use apart from the approval.
//!
//! Who decides: a human member of the org other than the requester who is the vault's owner
//! (or, for an agent's own request, the agent's creator), an org owner or admin, or a user the
//! policy names. Agents never decide.

use super::Deps;
use super::access::Access;
use super::change::Change;
use crate::approvals::{Approval, ApprovalStatus, REQUEST_TTL_SECONDS, SecretUse};
use crate::audit::{AuditEvent, action};
use crate::ids::{AgentId, ApprovalId, PolicyId, UserId};
use crate::model::Vault;
use crate::path::SecretPath;
use crate::policy::{Operation, PolicySet};
use crate::ports::store::UseKey;
use crate::principal::{Caller, PrincipalKind};
use crate::{Error, Result};
use time::OffsetDateTime;

/// The prefix of a mailed one-click link's token.
pub const LINK_PREFIX: &str = "oca_";

/// Most requests one principal may have waiting at once.
pub const MAX_PENDING: i64 = 20;

/// Most approvals one list answers.
pub const MAX_LIST: i64 = 200;

/// A human's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Approve,
    Reject,
}

impl Verdict {
    /// `approve`/`approved` or `reject`/`rejected`/`deny`/`denied`.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "approve" | "approved" => Ok(Self::Approve),
            "reject" | "rejected" | "deny" | "denied" => Ok(Self::Reject),
            _ => Err(Error::invalid_field("decision", "must be approve or reject")),
        }
    }
}

/// What an agent asks a human for (`POST /v1/approvals/request`).
#[derive(Debug, Clone)]
pub struct AgentRequest {
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub summary: serde_json::Value,
    pub reason: Option<String>,
    pub risk_tier: Option<i64>,
}

/// Approvals service.
pub struct Approvals<'a> {
    deps: &'a Deps,
}

impl<'a> Approvals<'a> {
    pub(crate) fn new(deps: &'a Deps) -> Self {
        Self { deps }
    }

    /// The gate for a secret use that `evaluate` found only an approval policy allows (its
    /// `ApprovalRequired` error names the policy). `Ok` once an approval is spent on it;
    /// otherwise the 403 naming the request a human decides.
    pub(crate) async fn gate(
        &self,
        caller: &Caller,
        vault: &Vault,
        policies: &PolicySet,
        path: &SecretPath,
        operation: Operation,
        policy: PolicyId,
    ) -> Result<()> {
        let now = self.deps.clock.now();
        let key = UseKey {
            org: caller.org_id(),
            requester: caller.principal.who,
            vault: vault.id,
            path: path.as_str(),
            operation: operation.as_str(),
            policy,
        };
        let rule = policies.get(policy).and_then(|p| p.conditions.require_approval.clone()).unwrap_or_default();
        // A window is good only as long as the policy allows now (it may have been narrowed).
        let still_good = |approved: &Approval| {
            approved.uses_left.is_some()
                || approved.decided_at.is_some_and(|at| now < at + time::Duration::seconds(rule.max_window_seconds))
        };
        let usable = self.deps.store.usable_approval_for(key, now).await?.filter(still_good);
        if let Some(approved) = usable {
            let mut change = Change::begin(self.deps.store.as_ref()).await?;
            if change.tx().use_approval(approved.id, now).await? {
                let event = AuditEvent::by(caller, action::APPROVAL_USED, "approval", now)
                    .resource(approved.id)
                    .detail("vault_id", vault.id.to_string())
                    .detail("path", path.as_str())
                    .detail("operation", operation.as_str());
                change.commit([event]).await?;
                return Ok(());
            }
            // Another request spent it first: this one asks again.
        }
        let pending = self.deps.store.pending_approval_for(key, now).await?;
        let request = match pending {
            Some(pending) => pending.id,
            None => {
                self.within_pending_limit(caller, now).await?;
                self.open_for_use(caller, vault, policies, path, operation, policy, now).await?
            }
        };
        Err(Error::ApprovalRequired {
            detail: format!(
                "A human must approve {} on '{path}' first: ask them to approve request {request} at {}/approvals, \
                 then retry",
                operation.as_str(),
                self.deps.settings.public_url.trim_end_matches('/'),
            ),
            policy: Some(policy),
            request: Some(request),
        })
    }

    /// Refuses a new request while the requester has `MAX_PENDING` waiting: a flood would bury
    /// real requests and mail approvers without end.
    async fn within_pending_limit(&self, caller: &Caller, now: OffsetDateTime) -> Result<()> {
        let pending = self.deps.store.pending_approvals_of(caller.org_id(), caller.principal.who, now).await?;
        if pending >= MAX_PENDING {
            return Err(Error::TooManyRequests {
                detail: format!(
                    "{MAX_PENDING} approval requests of yours are already waiting; wait for a decision or for them to \
                     expire"
                ),
                retry_after_secs: 60,
            });
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)] // the use, and the policy that gates it
    async fn open_for_use(
        &self,
        caller: &Caller,
        vault: &Vault,
        policies: &PolicySet,
        path: &SecretPath,
        operation: Operation,
        policy: PolicyId,
        now: OffsetDateTime,
    ) -> Result<ApprovalId> {
        let rule = policies.get(policy).and_then(|p| p.conditions.require_approval.clone()).unwrap_or_default();
        let summary = serde_json::json!({
            "vault_id": vault.id.to_string(),
            "vault_name": vault.name,
            "path": path.as_str(),
            "operation": operation.as_str(),
        });
        let approval = Approval {
            action: format!("secret.{}", operation.as_str()),
            target_type: "secret".to_owned(),
            target_id: format!("{}/{}", vault.id, path.as_str()),
            secret_use: Some(SecretUse {
                vault_id: vault.id,
                path: path.as_str().to_owned(),
                operation: operation.as_str().to_owned(),
                policy_id: policy,
            }),
            summary,
            approvers: rule.approvers,
            max_window_seconds: rule.max_window_seconds,
            ..pending(caller, vault.owner_user_id, now)
        };
        self.insert(caller, &approval, now).await?;
        Ok(approval.id)
    }

    /// Mails each human who may decide `approval` by name (the addressed user and the policy's
    /// approvers, not the requester) a one-click link, when the server sends mail. Prepared
    /// before the transaction (sealing is a key-provider call); links and mails are written in it.
    async fn notices(&self, approval: &Approval) -> Result<Vec<(Vec<u8>, UserId, crate::mail::OutboxMail)>> {
        let mailer = super::Mailer::new(self.deps);
        if !mailer.enabled() {
            return Ok(Vec::new());
        }
        let mut people = vec![approval.addressed_to];
        people.extend(approval.approvers.iter().map(|id| UserId(*id)));
        people.sort();
        people.dedup();
        let requester = match approval.requester.kind {
            PrincipalKind::Agent => {
                let agent = self.deps.store.agent(approval.org_id, AgentId(approval.requester.id)).await?;
                agent.map_or_else(|| "An agent".to_owned(), |agent| format!("Agent {}", agent.name))
            }
            PrincipalKind::User => "A member".to_owned(),
        };
        let what = match &approval.secret_use {
            Some(secret_use) => format!("{} {}", secret_use.operation, secret_use.path),
            None => format!("{} on {} {}", approval.action, approval.target_type, approval.target_id),
        };
        let mut notices = Vec::new();
        for person in people {
            if approval.requester.id == person.0 {
                continue;
            }
            let Some(user) = self.deps.store.user(person).await? else { continue };
            if user.org_id != approval.org_id || user.disabled_at.is_some() {
                continue;
            }
            let token = crate::tokens::random_credential(LINK_PREFIX);
            let digest = self.deps.hasher.digest_credential(token.expose());
            let link = super::accounts::link(self.deps, "/approvals/quick", "token", token.expose());
            let message = super::mail_templates::approval_request(&what, &requester, &link, REQUEST_TTL_SECONDS / 60);
            if let Some(mail) = mailer.prepare(&user.email, crate::mail::MailKind::ApprovalRequest, &message).await? {
                notices.push((digest, person, mail));
            }
        }
        Ok(notices)
    }

    /// Decides a request through a mailed one-click link: as the user it was minted for, who
    /// must still be allowed to decide it. The link works once (spent even if the decision is
    /// refused).
    pub async fn decide_by_link(
        &self,
        meta: &crate::principal::RequestMeta,
        token: &str,
        verdict: Verdict,
    ) -> Result<Approval> {
        let gone = || Error::invalid_field("token", "is not valid: it may have expired or been used already");
        let digest = self.deps.hasher.digest_credential(token);
        let now = self.deps.clock.now();
        let (org, id, user) = self.deps.store.approval_link(&digest, now).await?.ok_or_else(gone)?;
        let person = self.deps.store.user(user).await?.filter(|u| u.org_id == org && u.disabled_at.is_none());
        let person = person.ok_or_else(gone)?;
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if !change.tx().use_approval_link(&digest, now).await? {
            return Err(gone());
        }
        change.commit(std::iter::empty()).await?;
        let caller = Caller::new(
            crate::principal::Principal {
                who: crate::principal::PrincipalRef::user(person.id),
                org_id: org,
                session_id: None,
                token_id: uuid::Uuid::nil(),
                expires_at: now.unix_timestamp(),
                scopes: Vec::new(),
                vault_ids: Vec::new(),
                api_key_id: None,
            },
            meta.clone(),
        );
        self.decide(&caller, id, verdict, Some("decided from the mailed link"), None).await
    }

    async fn insert(&self, caller: &Caller, approval: &Approval, now: OffsetDateTime) -> Result<()> {
        let mut event = AuditEvent::by(caller, action::APPROVAL_REQUESTED, "approval", now)
            .resource(approval.id)
            .detail("action", approval.action.as_str())
            .detail("target_type", approval.target_type.as_str())
            .detail("target_id", approval.target_id.as_str());
        if let Some(secret_use) = &approval.secret_use {
            event = event
                .detail("vault_id", secret_use.vault_id.to_string())
                .detail("path", secret_use.path.as_str())
                .detail("operation", secret_use.operation.as_str());
        }
        let notices = self.notices(approval).await?;
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        change.tx().insert_approval(approval).await?;
        for (digest, person, mail) in &notices {
            change.tx().insert_approval_link(digest, approval, *person, now).await?;
            change.tx().enqueue_mail(mail).await?;
        }
        change.commit([event]).await
    }

    /// An agent asks a human to take an action it may not take itself (202 in the API).
    pub async fn request(&self, caller: &Caller, asked: AgentRequest) -> Result<Approval> {
        let agent = caller
            .principal
            .agent_id()
            .ok_or_else(|| Error::Forbidden("Only agents request approvals; humans decide them".to_owned()))?;
        let creator = self.creator_of(caller, agent).await?;
        let text = |value: &str, field: &str, max: usize| {
            let value = value.trim();
            if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
                return Err(Error::invalid_field(field, format!("must be 1 to {max} printable characters")));
            }
            Ok(value.to_owned())
        };
        let reason = asked.reason.as_deref().map(|r| text(r, "reason", 1000)).transpose()?;
        let risk_tier = asked.risk_tier.unwrap_or(1);
        if !(1..=5).contains(&risk_tier) {
            return Err(Error::invalid_field("risk_tier", "must be 1 to 5"));
        }
        if asked.summary.to_string().len() > 8192 {
            return Err(Error::invalid_field("summary", "must be at most 8 KiB of JSON"));
        }
        // The spec's summary is an object; the Python SDK sends a string, kept as its `text`
        // so every answer has the spec's shape.
        let summary = match asked.summary {
            serde_json::Value::Object(_) => asked.summary,
            serde_json::Value::String(text) => serde_json::json!({ "text": text }),
            _ => return Err(Error::invalid_field("summary", "must be an object (or a string)")),
        };
        let now = self.deps.clock.now();
        self.within_pending_limit(caller, now).await?;
        let approval = Approval {
            action: text(&asked.action, "action", 100)?,
            target_type: text(&asked.target_type, "target_type", 100)?,
            target_id: text(&asked.target_id, "target_id", 300)?,
            summary,
            reason,
            risk_tier,
            ..pending(caller, creator, now)
        };
        self.insert(caller, &approval, now).await?;
        Ok(approval)
    }

    async fn creator_of(&self, caller: &Caller, agent: AgentId) -> Result<UserId> {
        let found = self.deps.store.agent(caller.org_id(), agent).await?;
        found.map(|agent| agent.created_by).ok_or_else(|| Error::Unauthenticated("Unknown agent".to_owned()))
    }

    /// The org's requests a human may see: all of them for owners and admins, otherwise those
    /// addressed to them or naming them as an approver. Newest first.
    pub async fn list(&self, caller: &Caller, status: Option<&str>, limit: i64, offset: i64) -> Result<Vec<Approval>> {
        let user = human(caller)?;
        let status = status.map(parse_status).transpose()?;
        let limit = limit.clamp(1, MAX_LIST);
        let offset = offset.max(0);
        let admin = Access::new(self.deps).is_admin(caller).await?;
        let now = self.deps.clock.now();
        // Pending and expired are one stored status until the request is touched, and approved
        // includes used: only rejected is filtered in the store, the rest on the wire status
        // as of now.
        let stored = status.filter(|wanted| *wanted == ApprovalStatus::Rejected);
        let mut shown = Vec::new();
        let mut skipped = 0;
        let mut page = 0;
        // Read pages of the org's requests until `limit` visible ones past `offset` are found.
        loop {
            let batch = self.deps.store.approvals(caller.org_id(), stored, MAX_LIST, page * MAX_LIST).await?;
            let done = i64::try_from(batch.len()).unwrap_or(MAX_LIST) < MAX_LIST;
            for approval in batch {
                let visible = admin || may_decide_as_named(&approval, user);
                let matches = status.is_none_or(|wanted| approval.status_at(now).wire() == wanted.wire());
                if visible && matches {
                    if skipped < offset {
                        skipped += 1;
                    } else if i64::try_from(shown.len()).unwrap_or(MAX_LIST) < limit {
                        shown.push(approval);
                    }
                }
            }
            if done || i64::try_from(shown.len()).unwrap_or(MAX_LIST) >= limit {
                return Ok(shown);
            }
            page += 1;
        }
    }

    /// One request: for a human who may see it, or for the agent that asked (to poll).
    pub async fn get(&self, caller: &Caller, id: ApprovalId) -> Result<Approval> {
        let approval = self.deps.store.approval(caller.org_id(), id).await?.ok_or_else(not_found)?;
        match caller.principal.who.kind {
            PrincipalKind::Agent if approval.requester == caller.principal.who => Ok(approval),
            PrincipalKind::Agent => Err(not_found()),
            PrincipalKind::User => {
                let user = human(caller)?;
                if approval.requester == caller.principal.who
                    || may_decide_as_named(&approval, user)
                    || Access::new(self.deps).is_admin(caller).await?
                {
                    Ok(approval)
                } else {
                    Err(not_found())
                }
            }
        }
    }

    /// Approves (for one use, or for `window_seconds` up to what the policy allows) or rejects
    /// a pending request. 409 when it was decided, cancelled or expired first.
    pub async fn decide(
        &self,
        caller: &Caller,
        id: ApprovalId,
        verdict: Verdict,
        reason: Option<&str>,
        window_seconds: Option<i64>,
    ) -> Result<Approval> {
        let user = human(caller)?;
        let approval = self.get(caller, id).await?;
        if approval.requester == caller.principal.who {
            return Err(Error::Forbidden("Nobody approves their own request".to_owned()));
        }
        let admin = Access::new(self.deps).is_admin(caller).await?;
        if !(admin || may_decide_as_named(&approval, user)) {
            return Err(Error::Forbidden(
                "Only the vault's owner, an org admin or an approver the policy names may decide this".to_owned(),
            ));
        }
        let now = self.deps.clock.now();
        self.expire_if_due(caller, &approval, now).await?;
        let reason = clean_reason(reason)?;
        let mut decided = approval.clone();
        decided.decided_by = Some(user);
        decided.decision_reason = reason;
        decided.decided_at = Some(now);
        let event_action = match verdict {
            Verdict::Reject => {
                decided.status = ApprovalStatus::Rejected;
                action::APPROVAL_DENIED
            }
            Verdict::Approve => {
                decided.status = ApprovalStatus::Approved;
                if window_seconds.is_some_and(|secs| secs < 0) {
                    return Err(Error::invalid_field("window_seconds", "must not be negative"));
                }
                match window_seconds.filter(|secs| *secs > 0) {
                    Some(secs) if secs > approval.max_window_seconds => {
                        return Err(Error::invalid_field(
                            "window_seconds",
                            format!("the policy allows at most {} seconds", approval.max_window_seconds),
                        ));
                    }
                    Some(secs) => decided.grant_until = Some(now + time::Duration::seconds(secs)),
                    None => decided.uses_left = Some(1),
                }
                action::APPROVAL_APPROVED
            }
        };
        let mut event = AuditEvent::by(caller, event_action, "approval", now)
            .resource(approval.id)
            .detail("action", approval.action.as_str())
            .detail("requester_id", approval.requester.id.to_string());
        if let Some(until) = decided.grant_until {
            event = event.detail("grant_until", until.unix_timestamp());
        }
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if !change.tx().decide_approval(&decided, now).await? {
            return Err(Error::Conflict("This request is no longer pending".to_owned()));
        }
        change.commit([event]).await?;
        Ok(decided)
    }

    /// Withdraws a pending request: by the agent that asked, or by a human who may decide it.
    /// A request already decided is returned as it is (the first answer wins).
    pub async fn cancel(&self, caller: &Caller, id: ApprovalId, reason: Option<&str>) -> Result<Approval> {
        let approval = self.get(caller, id).await?;
        let now = self.deps.clock.now();
        if approval.status_at(now) != ApprovalStatus::Pending {
            return Ok(approval);
        }
        let by_requester = approval.requester == caller.principal.who;
        if !by_requester {
            let user = human(caller)?;
            if !(may_decide_as_named(&approval, user) || Access::new(self.deps).is_admin(caller).await?) {
                return Err(Error::Forbidden("Only the requester or an approver may cancel this".to_owned()));
            }
        }
        let mut cancelled = approval.clone();
        cancelled.status = ApprovalStatus::Rejected;
        cancelled.decided_by = caller.principal.user_id();
        cancelled.decided_at = Some(now);
        cancelled.decision_reason = Some(clean_reason(reason)?.unwrap_or_else(|| "cancelled".to_owned()));
        let event = AuditEvent::by(caller, action::APPROVAL_CANCELLED, "approval", now).resource(approval.id);
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if !change.tx().decide_approval(&cancelled, now).await? {
            drop(change);
            return self.get(caller, id).await;
        }
        change.commit([event]).await?;
        Ok(cancelled)
    }

    /// A pending request past its expiry becomes expired (recorded once), and the caller is
    /// told it can no longer be decided.
    async fn expire_if_due(&self, caller: &Caller, approval: &Approval, now: OffsetDateTime) -> Result<()> {
        match approval.status_at(now) {
            ApprovalStatus::Pending => Ok(()),
            ApprovalStatus::Expired => {
                let mut change = Change::begin(self.deps.store.as_ref()).await?;
                if change.tx().expire_approval(approval.id, now).await? {
                    let event = AuditEvent::by(caller, action::APPROVAL_EXPIRED, "approval", now).resource(approval.id);
                    change.commit([event]).await?;
                }
                Err(Error::Conflict("This request has expired; the requester must ask again".to_owned()))
            }
            _ => Err(Error::Conflict("This request is no longer pending".to_owned())),
        }
    }
}

/// A new request by `caller` addressed to `addressed_to`, undecided, expiring after
/// `REQUEST_TTL_SECONDS`; the caller fills in what it asks for.
fn pending(caller: &Caller, addressed_to: UserId, now: OffsetDateTime) -> Approval {
    Approval {
        id: ApprovalId::generate(),
        org_id: caller.org_id(),
        requester: caller.principal.who,
        addressed_to,
        action: String::new(),
        target_type: String::new(),
        target_id: String::new(),
        secret_use: None,
        summary: serde_json::Value::Null,
        reason: None,
        risk_tier: 1,
        requester_ip: caller.meta.ip.map(|ip| ip.to_string()),
        approvers: Vec::new(),
        max_window_seconds: 0,
        status: ApprovalStatus::Pending,
        decided_by: None,
        decision_reason: None,
        decided_at: None,
        expires_at: now + time::Duration::seconds(REQUEST_TTL_SECONDS),
        grant_until: None,
        uses_left: None,
        created_at: now,
    }
}

/// True when `user` is the human the request is addressed to or an approver the policy names.
fn may_decide_as_named(approval: &Approval, user: UserId) -> bool {
    approval.addressed_to == user || approval.approvers.contains(&user.0)
}

fn human(caller: &Caller) -> Result<UserId> {
    caller.principal.user_id().ok_or_else(|| Error::Forbidden("Only humans see and decide approvals".to_owned()))
}

fn not_found() -> Error {
    Error::NotFound("Approval request not found".to_owned())
}

fn parse_status(text: &str) -> Result<ApprovalStatus> {
    match ApprovalStatus::parse(text) {
        Some(status) if status != ApprovalStatus::Used => Ok(status),
        _ => Err(Error::invalid_field("status", "must be pending, approved, rejected or expired")),
    }
}

fn clean_reason(reason: Option<&str>) -> Result<Option<String>> {
    let Some(reason) = reason.map(str::trim).filter(|r| !r.is_empty()) else { return Ok(None) };
    if reason.chars().count() > 1000 || reason.chars().any(char::is_control) {
        return Err(Error::invalid_field("reason", "must be at most 1000 printable characters"));
    }
    Ok(Some(reason.to_owned()))
}
