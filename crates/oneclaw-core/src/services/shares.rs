//! Sharing a secret with a user, an agent, an email address, anyone holding the link, or (for
//! agents) the human who registered the agent. A share points at the secret, not a version: it
//! reveals the latest value, within its expiry, access limit, passphrase and IP allowlist.
//!
//! Answers: unknown, revoked, declined or not-for-you shares are 404; expired or used up 410;
//! a wrong passphrase or address 403; five wrong passphrases lock the share for 15 minutes (429).
//!
//! Identifiers are not credentials: a link share opens only with its own random token (the
//! `share_url` handed to its creator once), kept as a keyed digest; its id opens nothing. An
//! `external_email` share opens only for an account whose email is verified.

use super::Deps;
use super::access::Access;
use super::change::{Change, record_alone};
use super::secrets::{binding, open_value, readable};
use crate::audit::{AuditEvent, Outcome, action};
use crate::billing::PaidOperation;
use crate::ids::{AgentId, SecretId, ShareId, UserId};
use crate::model::{RecipientType, SecretVersion, Share};
use crate::path::SecretPath;
use crate::policy::{Operation, conditions_net, ip_in};
use crate::principal::{Caller, Principal, PrincipalKind, PrincipalRef, RequestMeta};
use crate::tokens::{SHARE_LINK_PREFIX, random_credential};
use crate::{Error, Result};
use oneclaw_types::SecretString;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const MAX_FAILED_PASSPHRASES: i64 = 5;
const LOCKOUT: Duration = Duration::minutes(15);
const MAX_SHARE_LIFETIME: Duration = Duration::days(365);

/// A share as requested.
#[derive(Debug, Default)]
pub struct NewShare {
    pub recipient_type: String,
    pub recipient_id: Option<String>,
    pub email: Option<String>,
    pub permissions: Option<Vec<String>>,
    pub max_access_count: Option<i64>,
    pub expires_at: Option<OffsetDateTime>,
    pub passphrase: Option<SecretString>,
    pub ip_allowlist: Option<Vec<String>>,
}

/// How a share is named when it is opened.
#[derive(Debug)]
pub enum ShareKey {
    /// By id: for shares addressed to a user or an agent, who must be the caller.
    Id(ShareId),
    /// By the link token of an `anyone_with_link` share.
    Link(SecretString),
}

/// A share just made, and for a link share its token (never available again).
#[derive(Debug)]
pub struct CreatedShare {
    pub share: Share,
    pub link_token: Option<SecretString>,
}

/// What an accessed share reveals.
#[derive(Debug)]
pub struct SharedSecret {
    pub share: Share,
    pub version: SecretVersion,
    pub value: SecretString,
}

/// Share service.
pub struct Shares<'a> {
    deps: &'a Deps,
    rate: &'a super::rate::OrgRateLimit,
    throttle: &'a super::Throttle,
}

impl<'a> Shares<'a> {
    pub(crate) fn new(deps: &'a Deps, rate: &'a super::rate::OrgRateLimit, throttle: &'a super::Throttle) -> Self {
        Self { deps, rate, throttle }
    }

    /// Shares a secret the caller may read.
    pub async fn create(&self, caller: &Caller, secret: SecretId, new: NewShare) -> Result<CreatedShare> {
        let (vault_id, path) = self
            .deps
            .store
            .secret_location(caller.org_id(), secret)
            .await?
            .ok_or_else(|| Error::NotFound("Secret not found".to_owned()))?;
        let secret_path = SecretPath::parse(&path)?;
        Access::new(self.deps).secret(caller, vault_id, &secret_path, Operation::Read).await?;
        let now = self.deps.clock.now();
        let recipient_type = RecipientType::parse(&new.recipient_type).ok_or_else(|| {
            Error::invalid_field("recipient_type", "must be user, agent, external_email, anyone_with_link or creator")
        })?;
        let (recipient_id, recipient_email) = self.recipient(caller, recipient_type, &new).await?;
        let expires_at = new.expires_at.ok_or_else(|| Error::invalid_field("expires_at", "is required"))?;
        if expires_at <= now || expires_at > now + MAX_SHARE_LIFETIME {
            return Err(Error::invalid_field("expires_at", "must be in the future and within a year"));
        }
        if new.max_access_count.is_some_and(|n| n < 1) {
            return Err(Error::invalid_field("max_access_count", "must be at least 1"));
        }
        let permissions = new.permissions.unwrap_or_else(|| vec!["read".to_owned()]);
        if permissions.is_empty() || permissions.iter().any(|p| p != "read") {
            return Err(Error::invalid_field("permissions", "a share can only grant read"));
        }
        let passphrase_hash = match &new.passphrase {
            Some(phrase) if phrase.expose().chars().count() < 4 => {
                return Err(Error::invalid_field("passphrase", "must be at least 4 characters"));
            }
            Some(phrase) => Some(self.deps.hasher.hash_password(phrase).await?),
            None => None,
        };
        let ip_allowlist = match new.ip_allowlist {
            None => None,
            Some(entries) if entries.is_empty() => None,
            Some(entries) => Some(
                entries
                    .iter()
                    .map(|e| {
                        conditions_net(e)
                            .ok_or_else(|| Error::invalid_field("ip_allowlist", format!("{e:?} is not an IP or CIDR")))
                    })
                    .collect::<Result<Vec<_>>>()?,
            ),
        };
        let link_token =
            (recipient_type == RecipientType::AnyoneWithLink).then(|| random_credential(SHARE_LINK_PREFIX));
        let share = Share {
            id: ShareId::random(),
            org_id: caller.org_id(),
            secret_id: secret,
            secret_path: path.clone(),
            created_by: caller.principal.who,
            recipient_type,
            recipient_id,
            recipient_email,
            permissions,
            expires_at,
            max_access_count: new.max_access_count,
            access_count: 0,
            passphrase_hash,
            ip_allowlist,
            failed_attempts: 0,
            locked_until: None,
            accepted_at: None,
            declined_at: None,
            revoked_at: None,
            created_at: now,
            link_digest: link_token.as_ref().map(|token| self.deps.hasher.digest_credential(token.expose())),
        };
        self.rate.take(caller.org_id(), now, "new shares")?;
        let payment = super::charging::pay_before(self.deps, caller, PaidOperation::CreateShare).await?;
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        change.tx().insert_share(&share).await?;
        let event = AuditEvent::by(caller, action::SHARE_CREATE, "share", now)
            .resource(share.id)
            .detail("secret_id", secret.to_string())
            .detail("path", path)
            .detail("recipient_type", recipient_type.as_str())
            .detail("has_passphrase", share.passphrase_hash.is_some());
        // Paid before it is kept.
        super::charging::commit_paid(self.deps, change, caller, PaidOperation::CreateShare, payment, [event]).await?;
        Ok(CreatedShare { share, link_token })
    }

    /// Opens a share. Link shares need no caller; the others need their recipient.
    pub async fn access(
        &self,
        meta: &RequestMeta,
        caller: Option<&Principal>,
        key: ShareKey,
        passphrase: Option<&SecretString>,
    ) -> Result<SharedSecret> {
        let not_found = || Error::NotFound("Share not found".to_owned());
        let mut share = match &key {
            ShareKey::Id(id) => self
                .deps
                .store
                .share(*id)
                .await?
                .filter(|share| share.recipient_type != RecipientType::AnyoneWithLink)
                .ok_or_else(not_found)?,
            ShareKey::Link(token) if token.expose().starts_with(SHARE_LINK_PREFIX) => {
                let digest = self.deps.hasher.digest_credential(token.expose());
                self.deps.store.share_by_link_digest(&digest).await?.ok_or_else(not_found)?
            }
            ShareKey::Link(_) => return Err(not_found()),
        };
        if share.revoked_at.is_some() || share.declined_at.is_some() || !self.is_recipient(&share, caller).await? {
            return Err(not_found());
        }
        let now = self.deps.clock.now();
        let event = match caller {
            Some(p) => AuditEvent::by_principal(p.who, share.org_id, meta, action::SHARE_ACCESS, "share", now),
            None => AuditEvent::anonymous(meta, action::SHARE_ACCESS, "share", now),
        };
        let mut event = event.resource(share.id).detail("secret_id", share.secret_id.to_string());
        event.org_id = share.org_id;
        if let Some(until) = share.locked_until.filter(|until| *until > now) {
            let retry_after_secs = (until - now).whole_seconds().max(1);
            return Err(self
                .refuse(
                    event,
                    Error::TooManyRequests {
                        detail: "Too many wrong passphrases; the share is locked for now".to_owned(),
                        retry_after_secs,
                    },
                )
                .await);
        }
        if share.expires_at <= now {
            return Err(self.refuse(event, Error::Gone("Share has expired".to_owned())).await);
        }
        if share.max_access_count.is_some_and(|max| share.access_count >= max) {
            return Err(self.refuse(event, Error::Gone("Share has reached its maximum access count".to_owned())).await);
        }
        if let Some(nets) = &share.ip_allowlist
            && !meta.ip.is_some_and(|ip| ip_in(nets, ip))
        {
            return Err(self
                .refuse(event, Error::Forbidden("Your IP address may not open this share".to_owned()))
                .await);
        }
        let guarded = share.passphrase_hash.is_some();
        if let Some(phc) = share.passphrase_hash.clone() {
            self.throttle.check_ip(meta.ip)?;
            // The attempt is counted before the (slow) check, in one statement: guesses sent in
            // parallel each count, and no more than five are ever checked per lock.
            let mut change = Change::begin(self.deps.store.as_ref()).await?;
            let claimed = change.tx().claim_share_attempt(share.id, MAX_FAILED_PASSPHRASES, now, now + LOCKOUT).await?;
            change.commit([]).await?;
            if !claimed {
                let locked = Error::TooManyRequests {
                    detail: "Too many wrong passphrases; the share is locked for now".to_owned(),
                    retry_after_secs: LOCKOUT.whole_seconds(),
                };
                return Err(self.refuse(event, locked).await);
            }
            let given = passphrase.cloned().unwrap_or_default();
            if !self.deps.hasher.verify_password(&given, Some(&phc)).await? {
                let event = event.detail("reason", "wrong passphrase").outcome(Outcome::Denied);
                record_alone(self.deps.journal.as_ref(), event).await;
                return Err(Error::Forbidden("Wrong or missing passphrase".to_owned()));
            }
        }
        let vault = self
            .deps
            .store
            .secret_location(share.org_id, share.secret_id)
            .await?
            .ok_or_else(|| Error::Gone("The shared secret has been deleted".to_owned()))?;
        let vault = self.deps.store.vault(share.org_id, vault.0).await?.ok_or_else(not_found)?;
        let path = SecretPath::parse(&share.secret_path)?;
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        let found = change.tx().secret_for_read(vault.id, path.as_str(), None).await?;
        let Some(found) = found else {
            drop(change);
            return Err(self.refuse(event, Error::Gone("The shared secret has been deleted".to_owned())).await);
        };
        if let Err(gone) = readable(&found.version, now) {
            drop(change);
            return Err(self.refuse(event, gone).await);
        }
        if !change.tx().count_share_access(share.id, now).await?
            || (found.version.max_access_count.is_some()
                && !change.tx().count_secret_access(found.version.secret_id, found.version.version).await?)
        {
            drop(change);
            return Err(self.refuse(event, Error::Gone("Share has reached its maximum access count".to_owned())).await);
        }
        if guarded {
            change.tx().clear_share_failures(share.id).await?;
            share.failed_attempts = 0;
        }
        let value = open_value(self.deps, binding(&vault, &path, found.version.version), &found).await?;
        change.commit([event.detail("version", found.version.version)]).await?;
        share.access_count += 1;
        Ok(SharedSecret { share, version: found.version, value })
    }

    /// Revokes a share: its creator, or an owner or admin of its org.
    pub async fn revoke(&self, caller: &Caller, id: ShareId) -> Result<()> {
        let not_found = || Error::NotFound("Share not found".to_owned());
        let share = self
            .deps
            .store
            .share(id)
            .await?
            .filter(|s| s.org_id == caller.org_id() && s.revoked_at.is_none())
            .ok_or_else(not_found)?;
        if share.created_by != caller.principal.who && !Access::new(self.deps).is_admin(caller).await? {
            return Err(not_found());
        }
        let now = self.deps.clock.now();
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if !change.tx().revoke_share(share.id, now).await? {
            return Err(not_found());
        }
        let event = AuditEvent::by(caller, action::SHARE_REVOKE, "share", now).resource(share.id);
        change.commit([event]).await
    }

    /// Shares the caller made.
    pub async fn outbound(&self, caller: &Caller) -> Result<Vec<Share>> {
        Ok(self
            .deps
            .store
            .shares_created_by(caller.principal.who)
            .await?
            .into_iter()
            .filter(|s| s.revoked_at.is_none())
            .collect())
    }

    /// Shares made for the caller.
    pub async fn inbound(&self, caller: &Caller) -> Result<Vec<Share>> {
        let email = self.caller_email(Some(&caller.principal)).await?;
        Ok(self
            .deps
            .store
            .shares_received_by(caller.principal.who, email.as_deref())
            .await?
            .into_iter()
            .filter(|s| s.revoked_at.is_none() && s.declined_at.is_none())
            .collect())
    }

    /// Accepts (`true`) or declines a share addressed to the caller.
    pub async fn respond(&self, caller: &Caller, id: ShareId, accept: bool) -> Result<()> {
        let share = self.deps.store.share(id).await?.ok_or_else(|| Error::NotFound("Share not found".to_owned()))?;
        let for_me = share.recipient_type != RecipientType::AnyoneWithLink
            && self.is_recipient(&share, Some(&caller.principal)).await?;
        if !for_me || share.revoked_at.is_some() {
            return Err(Error::NotFound("Share not found".to_owned()));
        }
        let now = self.deps.clock.now();
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        // Conditional on the share being live, so a response can never undo a revocation.
        if !change.tx().respond_share(share.id, accept, now).await? {
            return Err(Error::NotFound("Share not found".to_owned()));
        }
        let action = if accept { action::SHARE_ACCEPT } else { action::SHARE_DECLINE };
        let mut event = AuditEvent::by(caller, action, "share", now).resource(share.id);
        event.org_id = share.org_id;
        change.commit([event]).await
    }

    async fn recipient(
        &self,
        caller: &Caller,
        kind: RecipientType,
        new: &NewShare,
    ) -> Result<(Option<Uuid>, Option<String>)> {
        let id = || {
            new.recipient_id
                .as_deref()
                .and_then(|text| Uuid::parse_str(text).ok())
                .ok_or_else(|| Error::invalid_field("recipient_id", "must be a UUID"))
        };
        match kind {
            RecipientType::User => {
                let user = id()?;
                let live = self.deps.store.user(UserId(user)).await?.is_some_and(|u| u.disabled_at.is_none());
                if !live {
                    return Err(Error::invalid_field("recipient_id", "no such user"));
                }
                Ok((Some(user), None))
            }
            RecipientType::Agent => {
                let agent = id()?;
                let live = self
                    .deps
                    .store
                    .agent(caller.org_id(), AgentId(agent))
                    .await?
                    .is_some_and(|a| a.deleted_at.is_none());
                if !live {
                    return Err(Error::invalid_field("recipient_id", "no such agent in your organization"));
                }
                Ok((Some(agent), None))
            }
            RecipientType::ExternalEmail => {
                if caller.principal.who.kind != PrincipalKind::User {
                    return Err(Error::Forbidden("Only humans may share with an email address".to_owned()));
                }
                let email = new
                    .email
                    .as_deref()
                    .ok_or_else(|| Error::invalid_field("email", "is required for external_email"))?;
                Ok((None, Some(super::auth::normalize_email(email)?)))
            }
            RecipientType::AnyoneWithLink => Ok((None, None)),
            RecipientType::Creator => {
                let agent = caller
                    .principal
                    .agent_id()
                    .ok_or_else(|| Error::Forbidden("Only agents may share with their creator".to_owned()))?;
                let agent = self
                    .deps
                    .store
                    .agent(caller.org_id(), agent)
                    .await?
                    .ok_or_else(|| Error::Unauthenticated("The agent no longer exists".to_owned()))?;
                Ok((Some(agent.created_by.0), None))
            }
        }
    }

    async fn is_recipient(&self, share: &Share, caller: Option<&Principal>) -> Result<bool> {
        Ok(match (share.recipient_type, caller) {
            (RecipientType::AnyoneWithLink, _) => true,
            (_, None) => false,
            (RecipientType::User | RecipientType::Creator, Some(p)) => {
                p.who == PrincipalRef { kind: PrincipalKind::User, id: share.recipient_id.unwrap_or_default() }
            }
            (RecipientType::Agent, Some(p)) => {
                p.who == PrincipalRef { kind: PrincipalKind::Agent, id: share.recipient_id.unwrap_or_default() }
            }
            (RecipientType::ExternalEmail, Some(p)) => {
                let email = self.caller_email(Some(p)).await?;
                email.is_some() && email == share.recipient_email
            }
        })
    }

    /// The caller's email, only once it is verified: an unverified address proves nothing
    /// (anyone can sign up with someone else's), so it opens no `external_email` share.
    async fn caller_email(&self, caller: Option<&Principal>) -> Result<Option<String>> {
        match caller.and_then(Principal::user_id) {
            Some(user) => Ok(self.deps.store.user(user).await?.filter(|u| u.email_verified).map(|u| u.email)),
            None => Ok(None),
        }
    }

    async fn refuse(&self, event: AuditEvent, error: Error) -> Error {
        record_alone(self.deps.journal.as_ref(), event.detail("reason", error.to_string()).outcome(Outcome::Denied))
            .await;
        error
    }
}
