//! An account's email lifecycle: verifying the address, resetting a forgotten password,
//! adding a password to a federated account, and moving to a new address. Every link or code
//! is a single-use random token, mailed through the outbox and kept only as a keyed digest.

use super::Deps;
use super::auth::normalize_email;
use super::change::Change;
use super::mail::Mailer;
use super::mail_templates as templates;
use crate::audit::{AuditEvent, Outcome, action};
use crate::ids::UserId;
use crate::mail::{EmailToken, MailKind, OutboxMail, TokenPurpose};
use crate::model::User;
use crate::principal::{Caller, PrincipalKind, PrincipalRef, RequestMeta};
use crate::revocation::RevocationList;
use crate::tokens::random_credential;
use crate::{Error, Result};
use oneclaw_types::SecretString;
use time::Duration;

/// How long each kind of mailed token works.
pub const VERIFY_TTL: Duration = Duration::hours(48);
pub const RESET_TTL: Duration = Duration::hours(1);
pub const CHANGE_TTL: Duration = Duration::minutes(10);
/// A federated account's first password: the spec's minimum.
const MIN_SET_PASSWORD_CHARS: usize = 12;

/// A token made for a mail, and the mail, to be written in one transaction.
pub(crate) struct Pending {
    digest: Vec<u8>,
    token: EmailToken,
    mail: Option<OutboxMail>,
}

impl Pending {
    /// Writes the token and queues the mail inside `change`.
    pub(crate) async fn write(&self, change: &mut Change) -> Result<()> {
        change.tx().insert_email_token(&self.digest, &self.token).await?;
        if let Some(mail) = &self.mail {
            change.tx().enqueue_mail(mail).await?;
        }
        Ok(())
    }
}

/// The account service.
pub struct Accounts<'a> {
    deps: &'a Deps,
    revocations: &'a RevocationList,
    throttle: &'a super::Throttle,
}

fn user_ref(user: &User) -> PrincipalRef {
    PrincipalRef { kind: PrincipalKind::User, id: user.id.0 }
}

fn human(caller: &Caller) -> Result<UserId> {
    caller.principal.user_id().ok_or_else(|| Error::Forbidden("Only people have an email address".to_owned()))
}

fn invalid_token() -> Error {
    Error::invalid_field("token", "is not valid: it may have expired or been used already")
}

/// The public address links are made on, without a trailing slash.
pub(crate) fn link(deps: &Deps, path: &str, query: &str, token: &str) -> String {
    format!("{}{path}?{query}={token}", deps.settings.public_url.trim_end_matches('/'))
}

/// A verification token and its mail for a new (or unverified) account.
pub(crate) async fn verification_for(deps: &Deps, user: &User) -> Result<Pending> {
    let token = random_credential("ocm_");
    let url = link(deps, "/verify-email", "token", token.expose());
    let mail = Mailer::new(deps)
        .prepare(&user.email, MailKind::VerifyEmail, &templates::verify_email(&url, VERIFY_TTL.whole_hours()))
        .await?;
    let now = deps.clock.now();
    Ok(Pending {
        digest: deps.hasher.digest_credential(token.expose()),
        token: EmailToken {
            user_id: user.id,
            purpose: TokenPurpose::Verify,
            // The address it was sent to: if the account's address changes, the link dies.
            new_email: Some(user.email.clone()),
            created_at: now,
            expires_at: now + VERIFY_TTL,
            used_at: None,
        },
        mail,
    })
}

impl<'a> Accounts<'a> {
    pub(crate) fn new(deps: &'a Deps, revocations: &'a RevocationList, throttle: &'a super::Throttle) -> Self {
        Self { deps, revocations, throttle }
    }

    /// Confirms an address from its mailed link, for the account signed in: the link proves
    /// the mailbox, the session proves the account. Without the second, whoever owns a mailbox
    /// would confirm an account that someone else made with their address (and give that
    /// person what is shared with it). It signs nobody in.
    pub async fn verify_email(&self, caller: &Caller, token: &SecretString) -> Result<()> {
        self.throttle.check_ip(caller.meta.ip)?;
        let meta = &caller.meta;
        let (digest, found, user) = self.live_token(token, TokenPurpose::Verify).await?;
        if Some(user.id) != caller.principal.user_id() || found.new_email.as_deref() != Some(user.email.as_str()) {
            return Err(invalid_token());
        }
        self.confirm(&digest, &user, meta, "session").await
    }

    /// Spends a verification token and marks the address verified, with its record.
    async fn confirm(&self, digest: &[u8], user: &User, meta: &RequestMeta, with: &str) -> Result<()> {
        let now = self.deps.clock.now();
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if !change.tx().use_email_token(digest, now).await? {
            return Err(invalid_token());
        }
        change.tx().set_email_verified(user.id, true).await?;
        let event =
            AuditEvent::by_principal(user_ref(user), user.org_id, meta, action::USER_EMAIL_VERIFIED, "user", now)
                .resource(user.id)
                .detail("with", with);
        change.commit([event]).await
    }

    /// Confirms an address from its mailed link for whoever knows the account's password (the
    /// way in for a new account while the server sends mail: it cannot sign in before). The
    /// link proves the mailbox, the password the account; a wrong password answers like a
    /// wrong sign-in and spends the same guessing budget. The caller then signs the user in.
    pub(crate) async fn confirm_with_password(
        &self,
        meta: &RequestMeta,
        token: &SecretString,
        password: &SecretString,
    ) -> Result<User> {
        self.throttle.check_ip(meta.ip)?;
        let (digest, found, mut user) = self.live_token(token, TokenPurpose::Verify).await?;
        let budget = format!("login:{}", user.email);
        self.throttle.count_account(self.deps, &budget).await?;
        let password_ok = self.deps.hasher.verify_password(password, user.password_hash.as_deref()).await?;
        if !password_ok {
            return Err(Error::bad_credentials());
        }
        if found.new_email.as_deref() != Some(user.email.as_str()) {
            return Err(invalid_token());
        }
        self.confirm(&digest, &user, meta, "password").await?;
        self.throttle.clear_account(self.deps, &budget).await?;
        user.email_verified = true;
        Ok(user)
    }

    /// Sends the verification link again (the older ones stop working).
    pub async fn resend_verification(&self, caller: &Caller) -> Result<()> {
        let user = self.live_user(human(caller)?).await?;
        if user.email_verified {
            return Err(Error::invalid("This address is verified already"));
        }
        self.throttle.count_account(self.deps, &format!("verify:{}", user.id)).await?;
        let pending = verification_for(self.deps, &user).await?;
        let now = self.deps.clock.now();
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        change.tx().retire_email_tokens(user.id, TokenPurpose::Verify, now).await?;
        pending.write(&mut change).await?;
        let event = AuditEvent::by(caller, action::USER_VERIFICATION_SENT, "user", now).resource(user.id);
        change.commit([event]).await
    }

    /// Mails a reset link to a password account. Answers the same whether or not the address
    /// has an account (nothing in the answer tells which), and sends one address at most ten
    /// links per 15 minutes (the per-account limit; past it, silently none).
    pub async fn forgot_password(&self, meta: &RequestMeta, email: &str) -> Result<()> {
        self.throttle.check_ip(meta.ip)?;
        let email = normalize_email(email)?;
        let Some(user) = self.deps.store.user_by_email(&email).await? else { return Ok(()) };
        if user.disabled_at.is_some() || user.password_hash.is_none() {
            return Ok(());
        }
        if self.throttle.count_account(self.deps, &format!("forgot:{}", user.id)).await.is_err() {
            return Ok(());
        }
        let (url, mut pending) = self.reset_token(&user);
        pending.mail = Mailer::new(self.deps)
            .prepare(&user.email, MailKind::PasswordReset, &templates::password_reset(&url, RESET_TTL.whole_minutes()))
            .await?;
        let now = pending.token.created_at;
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        change.tx().retire_email_tokens(user.id, TokenPurpose::Reset, now).await?;
        pending.write(&mut change).await?;
        let event = AuditEvent::by_principal(
            user_ref(&user),
            user.org_id,
            meta,
            action::USER_PASSWORD_RESET_REQUESTED,
            "user",
            now,
        )
        .resource(user.id);
        change.commit([event]).await
    }

    /// Sets a new password from a mailed link: every session and token of the user ends, and
    /// the address counts as verified (the mail reached it).
    pub async fn reset_password(&self, meta: &RequestMeta, token: &SecretString, new: &SecretString) -> Result<()> {
        self.throttle.check_ip(meta.ip)?;
        super::auth::check_new_password(new, "new_password")?;
        let (digest, _, user) = self.live_token(token, TokenPurpose::Reset).await?;
        let phc = self.deps.hasher.hash_password(new).await?;
        let now = self.deps.clock.now();
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if !change.tx().use_email_token(&digest, now).await? {
            return Err(invalid_token());
        }
        change.tx().update_password(user.id, &phc).await?;
        change.tx().set_email_verified(user.id, true).await?;
        change.tx().retire_email_tokens(user.id, TokenPurpose::Verify, now).await?;
        let ended = change.tx().revoke_user_sessions(user.id, now).await?;
        let generation = change.tx().bump_credential_generation(user.id).await?;
        // A reset is account recovery: whoever held the account before (someone who signed up
        // with this address first, or a thief) keeps no personal API key either.
        let keys = change.tx().deactivate_api_keys_of(user.id).await?;
        let key_tokens_until = now.unix_timestamp() + self.deps.settings.access_token_ttl_secs;
        for key in &keys {
            change.tx().revoke_token(*key, key_tokens_until).await?;
        }
        let event =
            AuditEvent::by_principal(user_ref(&user), user.org_id, meta, action::USER_PASSWORD_RESET, "user", now)
                .resource(user.id)
                .detail("sessions_ended", ended.len())
                .detail("api_keys_revoked", keys.len());
        change.commit([event]).await?;
        for (id, forget_after) in ended {
            self.revocations.revoke(id, forget_after);
        }
        for key in keys {
            self.revocations.revoke(key, key_tokens_until);
        }
        self.revocations.set_generation(user.id.0, generation);
        Ok(())
    }

    /// Gives a federated account (no password) its first password.
    pub async fn set_password(&self, caller: &Caller, password: &SecretString, confirm: &SecretString) -> Result<()> {
        let user = self.live_user(human(caller)?).await?;
        if user.password_hash.is_some() {
            return Err(Error::invalid("This account has a password already; change it instead"));
        }
        if password.expose() != confirm.expose() {
            return Err(Error::invalid_field("password_confirm", "does not match password"));
        }
        if password.expose().chars().count() < MIN_SET_PASSWORD_CHARS {
            return Err(Error::invalid_field(
                "password",
                format!("must be at least {MIN_SET_PASSWORD_CHARS} characters"),
            ));
        }
        super::auth::check_new_password(password, "password")?;
        let phc = self.deps.hasher.hash_password(password).await?;
        let now = self.deps.clock.now();
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        change.tx().update_password(user.id, &phc).await?;
        change.commit([AuditEvent::by(caller, action::USER_PASSWORD_SET, "user", now).resource(user.id)]).await
    }

    /// Starts a move to a new address: a six-digit code, good for ten minutes, is mailed to it.
    /// The account keeps its address until the code comes back.
    pub async fn change_email(&self, caller: &Caller, new_email: &str) -> Result<(String, i64)> {
        let user = self.live_user(human(caller)?).await?;
        let new_email = normalize_email(new_email)?;
        if new_email == user.email {
            return Err(Error::invalid_field("new_email", "is the account's address already"));
        }
        if !Mailer::new(self.deps).enabled() {
            return Err(Error::Unavailable(
                "This server sends no mail, so a new address cannot be confirmed; ask an operator".to_owned(),
            ));
        }
        self.throttle.count_account(self.deps, &format!("email-change:{}", user.id)).await?;
        // A taken address, or one mailed ten codes in 15 minutes (by any accounts), is answered
        // like any other, and nothing is sent: the answer does not tell who has an account, and
        // nobody can mail-bomb an address through it.
        let taken = self.deps.store.user_by_email(&new_email).await?.is_some();
        if taken || self.throttle.count_account(self.deps, &format!("email-change-to:{new_email}")).await.is_err() {
            return Ok((new_email, CHANGE_TTL.whole_seconds()));
        }
        let code = six_digits();
        let mail = Mailer::new(self.deps)
            .prepare(
                &new_email,
                MailKind::EmailChange,
                &templates::email_change_code(&code, CHANGE_TTL.whole_minutes()),
            )
            .await?;
        let now = self.deps.clock.now();
        let pending = Pending {
            digest: self.change_digest(user.id, &code),
            token: EmailToken {
                user_id: user.id,
                purpose: TokenPurpose::Change,
                new_email: Some(new_email.clone()),
                created_at: now,
                expires_at: now + CHANGE_TTL,
                used_at: None,
            },
            mail,
        };
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        change.tx().retire_email_tokens(user.id, TokenPurpose::Change, now).await?;
        pending.write(&mut change).await?;
        let event = AuditEvent::by(caller, action::USER_EMAIL_CHANGE_REQUESTED, "user", now).resource(user.id);
        change.commit([event]).await?;
        Ok((new_email, CHANGE_TTL.whole_seconds()))
    }

    /// Completes the move with the mailed code; the old address is told.
    pub async fn verify_email_change(&self, caller: &Caller, code: &str) -> Result<String> {
        let user = self.live_user(human(caller)?).await?;
        let account = format!("email-change:{}", user.id);
        self.throttle.count_account(self.deps, &account).await?;
        let digest = self.change_digest(user.id, code.trim());
        let now = self.deps.clock.now();
        let wrong = || Error::invalid_field("code", "is not the code that was sent, or it has expired");
        let found = self
            .deps
            .store
            .email_token(&digest)
            .await?
            .filter(|t| t.purpose == TokenPurpose::Change && t.user_id == user.id && t.used_at.is_none())
            .filter(|t| t.expires_at > now);
        let Some(token) = found else {
            let event = AuditEvent::by(caller, action::USER_EMAIL_CHANGED, "user", now)
                .resource(user.id)
                .detail("reason", "wrong or expired code")
                .outcome(Outcome::Failure);
            super::change::record_alone(self.deps.journal.as_ref(), event).await;
            return Err(wrong());
        };
        let new_email = token.new_email.ok_or_else(wrong)?;
        let notice = Mailer::new(self.deps)
            .prepare(&user.email, MailKind::EmailChanged, &templates::email_changed(&new_email))
            .await?;
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if !change.tx().use_email_token(&digest, now).await? {
            return Err(wrong());
        }
        change.tx().change_email(user.id, &new_email).await?;
        if let Some(notice) = &notice {
            change.tx().enqueue_mail(notice).await?;
        }
        let event = AuditEvent::by(caller, action::USER_EMAIL_CHANGED, "user", now).resource(user.id);
        change.commit([event]).await?;
        self.throttle.clear_account(self.deps, &account).await?;
        Ok(new_email)
    }

    /// Operators (`oneclaw user verify`): marks an address verified.
    pub async fn mark_verified(&self, meta: &RequestMeta, email: &str) -> Result<User> {
        let user = self.by_email(email).await?;
        let now = self.deps.clock.now();
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        change.tx().set_email_verified(user.id, true).await?;
        let event =
            AuditEvent::by_principal(user_ref(&user), user.org_id, meta, action::USER_EMAIL_VERIFIED, "user", now)
                .resource(user.id)
                .detail("by", "operator");
        change.commit([event]).await?;
        Ok(user)
    }

    /// Operators (`oneclaw user reset-password`): a one-time reset link to hand over.
    pub async fn reset_link(&self, meta: &RequestMeta, email: &str) -> Result<String> {
        let user = self.by_email(email).await?;
        let (url, pending) = self.reset_token(&user);
        let now = pending.token.created_at;
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        change.tx().retire_email_tokens(user.id, TokenPurpose::Reset, now).await?;
        pending.write(&mut change).await?;
        let event = AuditEvent::by_principal(
            user_ref(&user),
            user.org_id,
            meta,
            action::USER_PASSWORD_RESET_REQUESTED,
            "user",
            now,
        )
        .resource(user.id)
        .detail("by", "operator");
        change.commit([event]).await?;
        Ok(url)
    }

    /// A fresh reset token for the user: its link, and its row (with no mail yet).
    fn reset_token(&self, user: &User) -> (String, Pending) {
        let token = random_credential("ocm_");
        let url = link(self.deps, "/reset-password", "token", token.expose());
        let now = self.deps.clock.now();
        let pending = Pending {
            digest: self.deps.hasher.digest_credential(token.expose()),
            token: EmailToken {
                user_id: user.id,
                purpose: TokenPurpose::Reset,
                new_email: None,
                created_at: now,
                expires_at: now + RESET_TTL,
                used_at: None,
            },
            mail: None,
        };
        (url, pending)
    }

    fn change_digest(&self, user: UserId, code: &str) -> Vec<u8> {
        self.deps.hasher.digest_credential(&format!("email-change:{user}:{code}"))
    }

    async fn live_token(&self, token: &SecretString, purpose: TokenPurpose) -> Result<(Vec<u8>, EmailToken, User)> {
        if !token.expose().starts_with("ocm_") {
            return Err(invalid_token());
        }
        let digest = self.deps.hasher.digest_credential(token.expose());
        let now = self.deps.clock.now();
        let found = self
            .deps
            .store
            .email_token(&digest)
            .await?
            .filter(|t| t.purpose == purpose && t.used_at.is_none() && t.expires_at > now)
            .ok_or_else(invalid_token)?;
        let user = self.live_user(found.user_id).await.map_err(|_| invalid_token())?;
        Ok((digest, found, user))
    }

    async fn live_user(&self, id: UserId) -> Result<User> {
        super::auth::live_user(self.deps, id).await
    }

    async fn by_email(&self, email: &str) -> Result<User> {
        let email = normalize_email(email)?;
        self.deps
            .store
            .user_by_email(&email)
            .await?
            .ok_or_else(|| Error::NotFound(format!("No account has the address {email}")))
    }
}

/// Six random decimal digits.
fn six_digits() -> String {
    let mut bytes = [0u8; 4];
    rand::fill(&mut bytes);
    format!("{:06}", u32::from_le_bytes(bytes) % 1_000_000)
}
