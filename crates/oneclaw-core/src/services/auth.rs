//! Human authentication: sign-up, password sign-in, sessions and refresh, token checks,
//! profile and password changes, and the exchange of a personal API key for a token.

use super::Deps;
use super::change::{Change, record_alone};
use super::ip_rules::{IpRuleCache, IpRules};
use crate::audit::{AuditEvent, Outcome, action};
use crate::ids::{OrgId, SessionId, UserId};
use crate::model::{Org, Role, Session, User};
use crate::principal::{Caller, Principal, PrincipalKind, PrincipalRef, RequestMeta};
use crate::revocation::RevocationList;
use crate::tokens::{Claims, REFRESH_TOKEN_PREFIX, USER_API_KEY_PREFIX, lookup_prefix, random_credential};
use crate::{Error, Result};
use oneclaw_types::SecretString;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use uuid::Uuid;

const MIN_PASSWORD_CHARS: usize = 8;
const MAX_PASSWORD_BYTES: usize = 1024;
const MAX_EMAIL_BYTES: usize = 254;
const MAX_DISPLAY_NAME_CHARS: usize = 200;

/// A new account's details.
#[derive(Debug)]
pub struct NewAccount {
    pub email: String,
    pub password: SecretString,
    pub display_name: Option<String>,
    /// The token of an invitation: the account joins the inviting org with its role.
    pub invite_token: Option<SecretString>,
}

/// What signing in gave: tokens, or a challenge for the second factor.
#[derive(Debug)]
pub enum LoginOutcome {
    Signed(IssuedToken),
    /// TOTP is on: send the code with this token to `verify_mfa`.
    MfaRequired(SecretString),
}

/// What signing up gave.
#[derive(Debug)]
pub enum SignupOutcome {
    /// Signed in at once: an invitation's token proved the address, or the server sends no
    /// mail (and so has nobody to ask).
    SignedIn(Box<User>, IssuedToken),
    /// Mail went to the address (a confirmation link for a new account, a notice to the owner
    /// of a taken one); the answer is the same either way.
    CheckMail { email: String },
}

/// How long a sign-in waits for its second factor.
const MFA_CHALLENGE_TTL: time::Duration = time::Duration::minutes(5);

/// A signed access token and, for sessions, a refresh token.
#[derive(Debug)]
pub struct IssuedToken {
    pub access_token: SecretString,
    pub expires_in: i64,
    pub refresh_token: Option<SecretString>,
}

/// Authentication service.
pub struct Auth<'a> {
    deps: &'a Deps,
    revocations: &'a RevocationList,
    ip_rules: &'a IpRuleCache,
    throttle: &'a super::Throttle,
    /// Bearer tokens verified since start (`Core::token_verifications`).
    verifications: &'a std::sync::atomic::AtomicU64,
    verified: &'a super::verified_tokens::VerifiedTokens,
}

impl<'a> Auth<'a> {
    pub(crate) fn new(
        deps: &'a Deps,
        revocations: &'a RevocationList,
        ip_rules: &'a IpRuleCache,
        throttle: &'a super::Throttle,
        verifications: &'a std::sync::atomic::AtomicU64,
        verified: &'a super::verified_tokens::VerifiedTokens,
    ) -> Self {
        Self { deps, revocations, ip_rules, throttle, verifications, verified }
    }

    /// Creates an account. An invited email joins the inviting org with the invited role (even
    /// when sign-up is closed); anyone else gets an org of their own, as owner. With sign-up
    /// closed, only invited emails and the first account of an empty server may.
    ///
    /// When the server sends mail, the answer is the same whether the address is new or taken
    /// ("check your mail"), with or without an invitation (the inviter saw its token, so it
    /// proves no mailbox): a new account gets its confirmation link and signs in by following
    /// it with its password; the owner of a taken address is mailed instead. Without mail there
    /// is nobody to tell, so a new account is signed in at once and a taken address is a 409.
    pub async fn signup(&self, meta: &RequestMeta, account: NewAccount) -> Result<SignupOutcome> {
        self.throttle.check_ip(meta.ip)?;
        check_new_password(&account.password, "password")?;
        if !super::Mailer::new(self.deps).enabled() {
            let (user, token) = self
                .register(
                    meta,
                    &account.email,
                    account.display_name,
                    Some(&account.password),
                    "password",
                    account.invite_token.as_ref(),
                    true,
                )
                .await?;
            let token = token.ok_or_else(|| Error::Internal("sign-up opened no session".to_owned()))?;
            return Ok(SignupOutcome::SignedIn(Box::new(user), token));
        }
        let email = normalize_email(&account.email)?;
        // Before anything that depends on the address, so every address is answered alike: a
        // closed server's refusal, and an invitation that is not for this address.
        let invite = match &account.invite_token {
            Some(token) => Some(self.open_invite(token).await?)
                .filter(|invite| invite.email == email)
                .ok_or_else(invalid_invite)?,
            None => {
                self.check_signup_open(false).await?;
                return self.signup_by_mail(meta, email, account, None).await;
            }
        };
        self.signup_by_mail(meta, email, account, Some(invite)).await
    }

    /// A sign-up answered "check your mail" whatever the address: a new account (unverified,
    /// not signed in) and its confirmation link, a removed member readmitted by their
    /// invitation, or a word to the owner of a taken address.
    async fn signup_by_mail(
        &self,
        meta: &RequestMeta,
        email: String,
        account: NewAccount,
        invite: Option<crate::model::Invite>,
    ) -> Result<SignupOutcome> {
        if let Some(existing) = self.deps.store.user_by_email(&email).await? {
            // The same work as a new account (hashing is most of it), so timing does not tell.
            let phc = self.deps.hasher.hash_password(&account.password).await?;
            match &invite {
                Some(invite) if existing.org_id == invite.org_id && existing.disabled_at.is_some() => {
                    let now = self.deps.clock.now();
                    self.readmit(meta, existing, invite, Some(&phc), now, false).await?;
                }
                _ => self.notify_existing(meta, &existing).await?,
            }
            return Ok(SignupOutcome::CheckMail { email });
        }
        let token = account.invite_token.as_ref();
        match self.register(meta, &email, account.display_name, Some(&account.password), "password", token, false).await
        {
            // Two sign-ups raced for one address: the loser is answered like the winner.
            Ok(_) | Err(Error::Conflict(_)) => Ok(SignupOutcome::CheckMail { email }),
            Err(err) => Err(err),
        }
    }

    /// Mails the owner of a taken address that someone tried to sign up with it: a notice, or,
    /// for a password account not yet confirmed, a fresh confirmation link (the way back for
    /// someone who lost the first). At most ten such mails an address per 15 minutes; past
    /// that, silently none.
    async fn notify_existing(&self, meta: &RequestMeta, user: &User) -> Result<()> {
        if self.throttle.count_account(self.deps, &format!("signup-notice:{}", user.id)).await.is_err() {
            return Ok(());
        }
        // Sealed before the transaction: a key-provider call holds no write lock.
        let fresh_link = !user.email_verified && user.password_hash.is_some();
        let (pending, mail) = if fresh_link {
            (Some(super::accounts::verification_for(self.deps, user).await?), None)
        } else {
            let base = self.deps.settings.public_url.trim_end_matches('/');
            let message =
                super::mail_templates::account_exists(&format!("{base}/signin"), &format!("{base}/forgot-password"));
            let mailer = super::Mailer::new(self.deps);
            (None, mailer.prepare(&user.email, crate::mail::MailKind::AccountExists, &message).await?)
        };
        let now = self.deps.clock.now();
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if let Some(pending) = &pending {
            change.tx().retire_email_tokens(user.id, crate::mail::TokenPurpose::Verify, now).await?;
            pending.write(&mut change).await?;
        }
        if let Some(mail) = &mail {
            change.tx().enqueue_mail(mail).await?;
        }
        let event =
            AuditEvent::by_principal(user_ref(user), user.org_id, meta, action::AUTH_SIGNUP_EXISTING, "user", now)
                .resource(user.id);
        change.commit([event]).await
    }

    /// Refuses sign-up on a closed server, except with an invitation and for the very first
    /// account of an empty server (someone has to be able to send the first invitation).
    async fn check_signup_open(&self, invited: bool) -> Result<()> {
        if !self.deps.settings.signup_open && !invited && self.deps.store.count_users().await? > 0 {
            return Err(Error::Forbidden(
                "Sign-up is closed on this server; ask an admin for an invitation".to_owned(),
            ));
        }
        Ok(())
    }

    /// Signs in a person whose identity provider (OpenID Connect) vouched for `email`: an
    /// existing account of that email, or a new one (no password; sign-up rules as usual).
    pub async fn sign_in_federated(&self, meta: &RequestMeta, email: &str, method: &str) -> Result<LoginOutcome> {
        self.throttle.check_ip(meta.ip)?;
        let normalized = normalize_email(email)?;
        match self.deps.store.user_by_email(&normalized).await? {
            // An unverified email proves nothing: whoever signed up with it first may not own
            // it, so the provider's word does not merge into that account (pre-hijacking).
            Some(user) if !user.email_verified => Err(Error::Conflict(
                "An account with this email exists but its email address is not verified; sign in with its \
                 password"
                    .to_owned(),
            )),
            Some(user) if user.disabled_at.is_none() => {
                IpRules::new(self.deps, self.ip_rules).check(user.org_id, meta.ip, PrincipalKind::User).await?;
                self.after_first_factor(meta, &user, method).await
            }
            Some(_) => Err(Error::bad_credentials()),
            None => {
                let (_, token) = self.register(meta, &normalized, None, None, method, None, true).await?;
                let token = token.ok_or_else(|| Error::Internal("sign-up opened no session".to_owned()))?;
                Ok(LoginOutcome::Signed(token))
            }
        }
    }

    /// Creates the account: with a password, or federated (`method`, no password); with a
    /// first session when `sign_in`.
    #[allow(clippy::too_many_arguments)]
    async fn register(
        &self,
        meta: &RequestMeta,
        email: &str,
        display_name: Option<String>,
        password: Option<&SecretString>,
        method: &str,
        invite_token: Option<&SecretString>,
        sign_in: bool,
    ) -> Result<(User, Option<IssuedToken>)> {
        let email = normalize_email(email)?;
        let invite = match invite_token {
            // An invitation is for the address it names: a leaked link is no use to anyone else.
            Some(token) => Some(self.open_invite(token).await?).filter(|invite| invite.email == email),
            None => None,
        };
        if invite_token.is_some() && invite.is_none() {
            return Err(invalid_invite());
        }
        self.check_signup_open(invite.is_some()).await?;
        let display_name = match display_name {
            Some(name) => clean_display_name(&name)?,
            None => email.split('@').next().unwrap_or_default().to_owned(),
        };
        let phc = match password {
            Some(password) => Some(self.deps.hasher.hash_password(password).await?),
            None => None,
        };
        let now = self.deps.clock.now();
        if let Some(invite) = &invite
            && let Some(removed) = self.deps.store.user_by_email(&email).await?
            && removed.org_id == invite.org_id
            && removed.disabled_at.is_some()
        {
            return self.readmit(meta, removed, invite, phc.as_deref(), now, sign_in).await;
        }
        let org = Org { id: OrgId::generate(), name: format!("{display_name}'s organization"), created_at: now };
        let (org_id, role) = invite.as_ref().map_or((org.id, Role::Owner), |i| (i.org_id, i.role));
        let user = User {
            id: UserId::generate(),
            org_id,
            email,
            display_name,
            password_hash: phc,
            role,
            auth_method: method.to_owned(),
            // An identity provider vouched for a federated email.
            email_verified: password.is_none(),
            marketing_emails: false,
            totp_enabled: false,
            created_at: now,
            disabled_at: None,
            credential_generation: 0,
        };
        let who = user_ref(&user);
        // A password account's address is confirmed by a mailed link (a provider vouched for a
        // federated one).
        let verification = match password {
            Some(_) => Some(super::accounts::verification_for(self.deps, &user).await?),
            None => None,
        };
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if let Some(invite) = &invite {
            // One statement decides: of two sign-ups racing with one token, one joins.
            if !change.tx().accept_invite(invite.id, now).await? {
                return Err(invalid_invite());
            }
        } else {
            change.tx().insert_org(&org).await?;
        }
        change.tx().insert_user(&user).await?;
        if let Some(verification) = &verification {
            verification.write(&mut change).await?;
        }
        let session = match sign_in {
            true => Some(self.open_session(&mut change, &user, now).await?),
            false => None,
        };
        let mut event = AuditEvent::by_principal(who, user.org_id, meta, action::AUTH_SIGNUP, "user", now)
            .resource(user.id)
            .detail("org_id", user.org_id.to_string());
        if let Some((session, _)) = &session {
            event = event.detail("session_id", session.to_string());
        }
        if let Some(invite) = &invite {
            event = event.detail("invite_id", invite.id.to_string()).detail("role", invite.role.as_str());
        }
        change.commit([event]).await?;
        Ok((user, session.map(|(_, token)| token)))
    }

    /// A removed member comes back through an invitation's token: the account is enabled with
    /// the invited role (and the new password). Their old tokens stay dead: removal bumped
    /// their credential generation, and nothing puts it back.
    async fn readmit(
        &self,
        meta: &RequestMeta,
        mut user: User,
        invite: &crate::model::Invite,
        phc: Option<&str>,
        now: OffsetDateTime,
        sign_in: bool,
    ) -> Result<(User, Option<IssuedToken>)> {
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if !change.tx().accept_invite(invite.id, now).await? {
            return Err(invalid_invite());
        }
        change.tx().enable_user(user.id, invite.role).await?;
        if let Some(phc) = phc {
            change.tx().update_password(user.id, phc).await?;
        }
        user.role = invite.role;
        user.disabled_at = None;
        let session = match sign_in {
            true => Some(self.open_session(&mut change, &user, now).await?),
            false => None,
        };
        let mut event = AuditEvent::by_principal(user_ref(&user), user.org_id, meta, action::MEMBER_JOIN, "user", now)
            .resource(user.id)
            .detail("invite_id", invite.id.to_string())
            .detail("role", invite.role.as_str())
            .detail("readmitted", true);
        if let Some((session, _)) = &session {
            event = event.detail("session_id", session.to_string());
        }
        change.commit([event]).await?;
        Ok((user, session.map(|(_, token)| token)))
    }

    /// The open invitation a token names, or a 400 that says nothing more about it.
    async fn open_invite(&self, token: &SecretString) -> Result<crate::model::Invite> {
        if !token.expose().starts_with(crate::tokens::INVITE_TOKEN_PREFIX) {
            return Err(invalid_invite());
        }
        let digest = self.deps.hasher.digest_credential(token.expose());
        self.deps
            .store
            .invite_by_token(&digest)
            .await?
            .filter(|invite| invite.is_open(self.deps.clock.now()))
            .ok_or_else(invalid_invite)
    }

    /// Signs in with email and password. Unknown accounts and wrong passwords answer alike.
    /// With TOTP on, the answer is a challenge for `verify_mfa` instead of tokens.
    pub async fn login(&self, meta: &RequestMeta, email: &str, password: &SecretString) -> Result<LoginOutcome> {
        self.throttle.check_ip(meta.ip)?;
        let email = normalize_email(email)?;
        let account = format!("login:{email}");
        self.throttle.count_account(self.deps, &account).await?;
        let user = self.deps.store.user_by_email(&email).await?;
        let phc = user.as_ref().and_then(|u| u.password_hash.as_deref());
        let password_ok = self.deps.hasher.verify_password(password, phc).await?;
        let now = self.deps.clock.now();
        let user = match user {
            Some(user) if password_ok && user.disabled_at.is_none() => user,
            other => {
                let event = match &other {
                    Some(user) => {
                        AuditEvent::by_principal(user_ref(user), user.org_id, meta, action::AUTH_FAILURE, "user", now)
                            .resource(user.id)
                    }
                    None => AuditEvent::anonymous(meta, action::AUTH_FAILURE, "user", now),
                };
                record_alone(self.deps.journal.as_ref(), event.detail("method", "password").outcome(Outcome::Failure))
                    .await;
                return Err(Error::bad_credentials());
            }
        };
        // While the server sends mail, a password account signs in once its address is
        // confirmed (the link, with the password: `verify_and_sign_in`). Until then it answers
        // exactly like a wrong password, with no more work (so neither the answer nor its time
        // tells whether a sign-up made an account), and whoever signed up with someone else's
        // address can do nothing with it. Signing up again mails a fresh link.
        if !user.email_verified && super::Mailer::new(self.deps).enabled() {
            let event = AuditEvent::by_principal(user_ref(&user), user.org_id, meta, action::AUTH_FAILURE, "user", now)
                .resource(user.id)
                .detail("method", "password")
                .detail("reason", "email not verified")
                .outcome(Outcome::Failure);
            record_alone(self.deps.journal.as_ref(), event).await;
            return Err(Error::bad_credentials());
        }
        self.throttle.clear_account(self.deps, &account).await?;
        IpRules::new(self.deps, self.ip_rules).check(user.org_id, meta.ip, PrincipalKind::User).await?;
        self.after_first_factor(meta, &user, "password").await
    }

    /// Confirms a new account's address from its mailed link and the account's password, and
    /// signs it in (or asks for the second factor).
    pub async fn verify_and_sign_in(
        &self,
        meta: &RequestMeta,
        token: &SecretString,
        password: &SecretString,
    ) -> Result<LoginOutcome> {
        let user = self.accounts().confirm_with_password(meta, token, password).await?;
        IpRules::new(self.deps, self.ip_rules).check(user.org_id, meta.ip, PrincipalKind::User).await?;
        self.after_first_factor(meta, &user, "password").await
    }

    fn accounts(&self) -> super::Accounts<'a> {
        super::Accounts::new(self.deps, self.revocations, self.throttle)
    }

    /// The first factor held (password or identity provider): a session, or with TOTP on a
    /// challenge for the second.
    pub(crate) async fn after_first_factor(
        &self,
        meta: &RequestMeta,
        user: &User,
        method: &str,
    ) -> Result<LoginOutcome> {
        let now = self.deps.clock.now();
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if user.totp_enabled {
            // The first factor held; the session waits for the second.
            let challenge = random_credential("mfa_");
            let digest = self.deps.hasher.digest_credential(challenge.expose());
            change.tx().insert_mfa_challenge(&digest, user.id, now + MFA_CHALLENGE_TTL).await?;
            let event =
                AuditEvent::by_principal(user_ref(user), user.org_id, meta, action::AUTH_MFA_CHALLENGE, "user", now)
                    .resource(user.id);
            change.commit([event]).await?;
            return Ok(LoginOutcome::MfaRequired(challenge));
        }
        let (session, token) = self.open_session(&mut change, user, now).await?;
        let event = AuditEvent::by_principal(user_ref(user), user.org_id, meta, action::AUTH_SUCCESS, "user", now)
            .resource(user.id)
            .detail("method", method)
            .detail("session_id", session.to_string());
        change.commit([event]).await?;
        Ok(LoginOutcome::Signed(token))
    }

    /// Completes a sign-in that waits for its second factor. A challenge is good for one try:
    /// a wrong code spends it, so guessing means entering the password again each time.
    pub async fn verify_mfa(&self, meta: &RequestMeta, mfa_token: &SecretString, code: &str) -> Result<IssuedToken> {
        self.throttle.check_ip(meta.ip)?;
        let now = self.deps.clock.now();
        let digest = self.deps.hasher.digest_credential(mfa_token.expose());
        let Some((user_id, _, _)) = self.deps.store.mfa_challenge(&digest).await? else {
            return Err(Error::Unauthenticated("The sign-in has expired; enter your password again".to_owned()));
        };
        let user = self.live_user(user_id).await?;
        let account = super::mfa::attempts_account(user.id);
        self.throttle.count_account(self.deps, &account).await?;
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if !change.tx().use_mfa_challenge(&digest, now).await? {
            return Err(Error::Unauthenticated("The sign-in has expired; enter your password again".to_owned()));
        }
        if !super::Mfa::new(self.deps, self.throttle, self.revocations).check_code(change.tx(), user.id, code).await? {
            let event = AuditEvent::by_principal(user_ref(&user), user.org_id, meta, action::AUTH_FAILURE, "user", now)
                .resource(user.id)
                .detail("method", "totp")
                .outcome(Outcome::Failure);
            change.commit([event]).await?;
            return Err(Error::Unauthenticated("Wrong or already used code; sign in again".to_owned()));
        }
        let (session, token) = self.open_session(&mut change, &user, now).await?;
        let event = AuditEvent::by_principal(user_ref(&user), user.org_id, meta, action::AUTH_SUCCESS, "user", now)
            .resource(user.id)
            .detail("method", "password+totp")
            .detail("session_id", session.to_string());
        change.commit([event]).await?;
        self.throttle.clear_account(self.deps, &account).await?;
        Ok(token)
    }

    /// Renews a session: with its refresh token (which is replaced), or with a live access token.
    pub async fn refresh(
        &self,
        meta: &RequestMeta,
        refresh_token: Option<&SecretString>,
        bearer: Option<&Principal>,
    ) -> Result<IssuedToken> {
        self.throttle.check_ip(meta.ip)?;
        let now = self.deps.clock.now();
        match (refresh_token, bearer) {
            (Some(refresh), _) => self.refresh_with_token(meta, refresh, now).await,
            (None, Some(principal)) if principal.who.kind == PrincipalKind::User => {
                let user = self.live_user(UserId(principal.who.id)).await?;
                // The new token is bound to what issued the old one, and only while that lives:
                // an ended or expired session, or a revoked or expired API key, renews nothing.
                let ended = || Error::Unauthenticated("The session or API key behind this token has ended".to_owned());
                if let Some(sid) = principal.session_id {
                    let session = self.deps.store.session(sid).await?.ok_or_else(ended)?;
                    if session.revoked_at.is_some() || session.expires_at <= now || session.user_id != user.id {
                        return Err(ended());
                    }
                }
                let key = match principal.api_key_id {
                    Some(id) => Some(
                        self.deps
                            .store
                            .api_keys_of(user.id)
                            .await?
                            .into_iter()
                            .find(|key| key.id.0 == id && key.is_active && key.expires_at.is_none_or(|at| at > now))
                            .ok_or_else(ended)?,
                    ),
                    None => None,
                };
                let (token, expires_in) =
                    self.sign_user_token(&user, principal.session_id, &principal.scopes, key.as_ref(), now)?;
                let event =
                    AuditEvent::by_principal(principal.who, user.org_id, meta, action::AUTH_REFRESH, "user", now)
                        .resource(user.id)
                        .detail("method", "bearer");
                let change = Change::begin(self.deps.store.as_ref()).await?;
                change.commit([event]).await?;
                Ok(IssuedToken { access_token: token, expires_in, refresh_token: None })
            }
            (None, Some(_)) => Err(Error::Forbidden("Agents get new tokens from /v1/auth/agent-token".to_owned())),
            (None, None) => Err(Error::Unauthenticated("A refresh_token or a bearer token is required".to_owned())),
        }
    }

    async fn refresh_with_token(
        &self,
        meta: &RequestMeta,
        refresh: &SecretString,
        now: OffsetDateTime,
    ) -> Result<IssuedToken> {
        let invalid = || Error::Unauthenticated("Invalid or expired refresh token".to_owned());
        if !refresh.expose().starts_with(REFRESH_TOKEN_PREFIX) {
            return Err(invalid());
        }
        let digest = self.deps.hasher.digest_credential(refresh.expose());
        let session = self.deps.store.session_by_refresh_digest(&digest).await?.ok_or_else(invalid)?;
        if session.revoked_at.is_some() || session.expires_at <= now || self.revocations.is_revoked(&session.id.0) {
            return Err(invalid());
        }
        let user = self.live_user(session.user_id).await?;
        let next_refresh = random_credential(REFRESH_TOKEN_PREFIX);
        let next_digest = self.deps.hasher.digest_credential(next_refresh.expose());
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        let expires = now + time::Duration::seconds(self.deps.settings.session_ttl_secs);
        if !change.tx().rotate_refresh_token(session.id, &digest, &next_digest, expires).await? {
            return Err(invalid());
        }
        let (token, expires_in) = self.sign_user_token(&user, Some(session.id), &[], None, now)?;
        let event = AuditEvent::by_principal(user_ref(&user), user.org_id, meta, action::AUTH_REFRESH, "user", now)
            .resource(user.id)
            .detail("method", "refresh_token")
            .detail("session_id", session.id.to_string());
        change.commit([event]).await?;
        Ok(IssuedToken { access_token: token, expires_in, refresh_token: Some(next_refresh) })
    }

    /// Checks a bearer token (signature, expiry, revocation, agent token generation) and the
    /// org's IP rules. Costs no query when nothing changed: revocations and rules are in memory.
    pub async fn authenticate(&self, token: &str, meta: RequestMeta) -> Result<Caller> {
        let principal = self.verify(token)?;
        let rules = IpRules::new(self.deps, self.ip_rules);
        if let Err(refused) = rules.check(principal.org_id, meta.ip, principal.who.kind).await {
            let now = self.deps.clock.now();
            let event =
                AuditEvent::by_principal(principal.who, principal.org_id, &meta, action::IP_RULE_DENY, "request", now)
                    .detail("reason", refused.to_string())
                    .outcome(Outcome::Denied);
            record_alone(self.deps.journal.as_ref(), event).await;
            return Err(refused);
        }
        Ok(Caller { principal, meta, charge: crate::ports::Charge::default() })
    }

    /// The token part of `authenticate`, for callers that have no request (and so no IP).
    pub fn verify(&self, token: &str) -> Result<Principal> {
        let invalid = || Error::Unauthenticated("Invalid or expired token".to_owned());
        self.verifications.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let digest = self.deps.hasher.digest_credential(token);
        let claims = match self.verified.get(&digest) {
            Some(claims) => claims,
            None => {
                let claims = std::sync::Arc::new(self.deps.tokens.verify(token).map_err(|_| invalid())?);
                self.verified.remember(digest, std::sync::Arc::clone(&claims));
                claims
            }
        };
        let who = claims.subject().ok_or_else(invalid)?;
        let now = self.deps.clock.now().unix_timestamp();
        if claims.exp <= now {
            return Err(Error::Unauthenticated("Token has expired".to_owned()));
        }
        // A token ends with whatever issued it: its session, its API key, or the generation of
        // its agent's key or its user's credentials.
        let revoked = self.revocations.is_revoked(&claims.jti)
            || claims.sid.is_some_and(|sid| self.revocations.is_revoked(&sid))
            || claims.akid.is_some_and(|key| self.revocations.is_revoked(&key))
            || !self.revocations.generation_current(&who.id, claims.generation.unwrap_or(-1));
        if revoked {
            return Err(Error::Unauthenticated("Token has been revoked".to_owned()));
        }
        Ok(Principal {
            who,
            org_id: OrgId(claims.org),
            session_id: claims.sid.map(SessionId),
            token_id: claims.jti,
            expires_at: claims.exp,
            scopes: claims.scopes.clone(),
            vault_ids: claims.vault_ids.clone(),
            api_key_id: claims.akid,
        })
    }

    /// Revokes the presented token; for a session token, the whole session (refresh included).
    pub async fn sign_out(&self, caller: &Caller) -> Result<()> {
        let now = self.deps.clock.now();
        let principal = &caller.principal;
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        let mut event = AuditEvent::by(caller, action::AUTH_SIGN_OUT, "token", now).resource(principal.token_id);
        let revoked = match principal.session_id {
            Some(session) => {
                change.tx().revoke_session(session, now).await?;
                event = event.detail("session_id", session.to_string());
                (session.0, now.unix_timestamp() + self.deps.settings.session_ttl_secs)
            }
            None => {
                change.tx().revoke_token(principal.token_id, principal.expires_at).await?;
                (principal.token_id, principal.expires_at)
            }
        };
        change.commit([event]).await?;
        self.revocations.revoke(revoked.0, revoked.1);
        Ok(())
    }

    /// The caller's own profile (humans only).
    pub async fn me(&self, caller: &Caller) -> Result<User> {
        self.live_user(human(caller)?).await
    }

    /// Changes display name or marketing preference.
    pub async fn update_me(
        &self,
        caller: &Caller,
        display_name: Option<&str>,
        marketing_emails: Option<bool>,
    ) -> Result<User> {
        let mut user = self.live_user(human(caller)?).await?;
        if let Some(name) = display_name {
            user.display_name = clean_display_name(name)?;
        }
        if let Some(flag) = marketing_emails {
            user.marketing_emails = flag;
        }
        let now = self.deps.clock.now();
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        change.tx().update_user_profile(user.id, &user.display_name, user.marketing_emails).await?;
        let event = AuditEvent::by(caller, action::AUTH_PROFILE_UPDATE, "user", now).resource(user.id);
        change.commit([event]).await?;
        Ok(user)
    }

    /// Changes the password and ends every session of the user, the current one included.
    pub async fn change_password(&self, caller: &Caller, current: &SecretString, new: &SecretString) -> Result<()> {
        let user = self.live_user(human(caller)?).await?;
        // Guessing the current password here (with a stolen token) spends the same budget as
        // guessing it at sign-in.
        self.throttle.check_ip(caller.meta.ip)?;
        let account = format!("login:{}", user.email);
        self.throttle.count_account(self.deps, &account).await?;
        if !self.deps.hasher.verify_password(current, user.password_hash.as_deref()).await? {
            let now = self.deps.clock.now();
            let event = AuditEvent::by(caller, action::AUTH_PASSWORD_CHANGE, "user", now)
                .resource(user.id)
                .detail("reason", "current password is wrong")
                .outcome(Outcome::Denied);
            record_alone(self.deps.journal.as_ref(), event).await;
            return Err(Error::invalid_field("current_password", "is not the current password"));
        }
        self.throttle.clear_account(self.deps, &account).await?;
        check_new_password(new, "new_password")?;
        let phc = self.deps.hasher.hash_password(new).await?;
        let now = self.deps.clock.now();
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        change.tx().update_password(user.id, &phc).await?;
        // Links mailed before (verification, reset) are from before the new password.
        change.tx().retire_email_tokens(user.id, crate::mail::TokenPurpose::Verify, now).await?;
        change.tx().retire_email_tokens(user.id, crate::mail::TokenPurpose::Reset, now).await?;
        let ended = change.tx().revoke_user_sessions(user.id, now).await?;
        // Every token of the user ends, those exchanged for API keys included (the keys stay).
        let generation = change.tx().bump_credential_generation(user.id).await?;
        let event = AuditEvent::by(caller, action::AUTH_PASSWORD_CHANGE, "user", now)
            .resource(user.id)
            .detail("sessions_ended", ended.len());
        change.commit([event]).await?;
        for (id, forget_after) in ended {
            self.revocations.revoke(id, forget_after);
        }
        self.revocations.set_generation(user.id.0, generation);
        Ok(())
    }

    /// Exchanges a personal API key (`1ck_…`) for an access token limited to the key's scopes.
    pub async fn api_key_token(&self, meta: &RequestMeta, api_key: &SecretString) -> Result<IssuedToken> {
        self.throttle.check_ip(meta.ip)?;
        let now = self.deps.clock.now();
        let key_text = api_key.expose();
        let found = match (key_text.starts_with(USER_API_KEY_PREFIX), lookup_prefix(key_text)) {
            (true, Some(prefix)) => {
                let digest = self.deps.hasher.digest_credential(key_text);
                self.deps
                    .store
                    .api_keys_by_prefix(prefix)
                    .await?
                    .into_iter()
                    .find(|key| bool::from(key.digest.ct_eq(&digest)))
            }
            _ => None,
        };
        let key = match found {
            Some(key) if key.is_active && key.expires_at.is_none_or(|at| at > now) => key,
            other => {
                let event = match &other {
                    Some(key) => AuditEvent::by_principal(
                        PrincipalRef { kind: PrincipalKind::User, id: key.user_id.0 },
                        key.org_id,
                        meta,
                        action::AUTH_FAILURE,
                        "api_key",
                        now,
                    )
                    .resource(key.id)
                    .detail("reason", if key.is_active { "key expired" } else { "key revoked" }),
                    None => AuditEvent::anonymous(meta, action::AUTH_FAILURE, "api_key", now),
                };
                record_alone(self.deps.journal.as_ref(), event.detail("method", "api_key").outcome(Outcome::Failure))
                    .await;
                return Err(Error::bad_credentials());
            }
        };
        let user = self.live_user(key.user_id).await?;
        // The org's IP rules hold for keys as for passwords.
        IpRules::new(self.deps, self.ip_rules).check(user.org_id, meta.ip, PrincipalKind::User).await?;
        let (token, expires_in) = self.sign_user_token(&user, None, &key.scopes, Some(&key), now)?;
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        change.tx().touch_api_key(key.id, now).await?;
        let event =
            AuditEvent::by_principal(user_ref(&user), user.org_id, meta, action::AUTH_API_KEY_EXCHANGE, "api_key", now)
                .resource(key.id);
        change.commit([event]).await?;
        Ok(IssuedToken { access_token: token, expires_in, refresh_token: None })
    }

    /// Opens a session for a signed-in user inside `change` and issues its first tokens.
    pub(super) async fn open_session(
        &self,
        change: &mut Change,
        user: &User,
        now: OffsetDateTime,
    ) -> Result<(SessionId, IssuedToken)> {
        let refresh = random_credential(REFRESH_TOKEN_PREFIX);
        let session = Session {
            id: SessionId::generate(),
            user_id: user.id,
            org_id: user.org_id,
            refresh_digest: Some(self.deps.hasher.digest_credential(refresh.expose())),
            created_at: now,
            expires_at: now + time::Duration::seconds(self.deps.settings.session_ttl_secs),
            revoked_at: None,
        };
        change.tx().insert_session(&session).await?;
        let (token, expires_in) = self.sign_user_token(user, Some(session.id), &[], None, now)?;
        Ok((session.id, IssuedToken { access_token: token, expires_in, refresh_token: Some(refresh) }))
    }

    /// A user token bound to the user's credential generation and to what issued it (a session
    /// or an API key, whose expiry it never outlives).
    fn sign_user_token(
        &self,
        user: &User,
        session: Option<SessionId>,
        scopes: &[String],
        api_key: Option<&crate::model::ApiKey>,
        now: OffsetDateTime,
    ) -> Result<(SecretString, i64)> {
        let iat = now.unix_timestamp();
        let mut exp = iat + self.deps.settings.access_token_ttl_secs;
        if let Some(key_expiry) = api_key.and_then(|key| key.expires_at) {
            exp = exp.min(key_expiry.unix_timestamp());
        }
        let claims = Claims {
            sub: user_ref(user).prefixed(),
            org: user.org_id.0,
            iat,
            exp,
            jti: Uuid::now_v7(),
            sid: session.map(|s| s.0),
            scopes: scopes.to_vec(),
            vault_ids: Vec::new(),
            generation: Some(user.credential_generation),
            akid: api_key.map(|key| key.id.0),
        };
        Ok((self.deps.tokens.sign(&claims)?, exp - iat))
    }

    pub(super) async fn live_user(&self, id: UserId) -> Result<User> {
        live_user(self.deps, id).await
    }

    pub(super) fn deps(&self) -> &'a Deps {
        self.deps
    }

    pub(super) fn ip_rule_cache(&self) -> &'a IpRuleCache {
        self.ip_rules
    }

    /// Spends one credential check of the request's address.
    pub(super) fn throttle_ip(&self, meta: &RequestMeta) -> Result<()> {
        self.throttle.check_ip(meta.ip)
    }
}

/// A user who has not been removed; 401 otherwise (their token outlived the account).
pub(crate) async fn live_user(deps: &Deps, id: UserId) -> Result<User> {
    deps.store
        .user(id)
        .await?
        .filter(|user| user.disabled_at.is_none())
        .ok_or_else(|| Error::Unauthenticated("The account no longer exists".to_owned()))
}

fn invalid_invite() -> Error {
    Error::invalid_field(
        "invite_token",
        "is not a valid invitation for this address: it may have expired, been used or been revoked",
    )
}

fn human(caller: &Caller) -> Result<UserId> {
    match caller.principal.who.kind {
        PrincipalKind::User => Ok(UserId(caller.principal.who.id)),
        PrincipalKind::Agent => Err(Error::Forbidden("Only human users may do this".to_owned())),
    }
}

fn user_ref(user: &User) -> PrincipalRef {
    PrincipalRef { kind: PrincipalKind::User, id: user.id.0 }
}

/// Lower-cases and checks an email address. Deliberately loose: one `@`, something either side.
pub(crate) fn normalize_email(email: &str) -> Result<String> {
    let email = email.trim().to_lowercase();
    let well_formed = email.len() <= MAX_EMAIL_BYTES
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !email.chars().any(|c| c.is_whitespace() || c.is_control() || "<>()[]\\,;:\"".contains(c))
        });
    if well_formed { Ok(email) } else { Err(Error::invalid_field("email", "is not a valid email address")) }
}

pub(crate) fn check_new_password(password: &SecretString, field: &str) -> Result<()> {
    if password.expose().chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::invalid_field(field, format!("must be at least {MIN_PASSWORD_CHARS} characters")));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::invalid_field(field, format!("must be at most {MAX_PASSWORD_BYTES} bytes")));
    }
    Ok(())
}

fn clean_display_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_DISPLAY_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(Error::invalid_field(
            "display_name",
            format!("must be 1 to {MAX_DISPLAY_NAME_CHARS} printable characters"),
        ));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(normalize_email(" Ada@Example.COM ").unwrap(), "ada@example.com");
        for bad in ["", "ada", "@x", "ada@", "a@b@c", "a b@c", "a\0@b.c", "a@b.c\u{7}", "<b>h</b>@x.y", "z@[127.0.0.1]"]
        {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_need_eight_characters() {
        assert!(check_new_password(&SecretString::from("1234567"), "password").is_err());
        assert!(check_new_password(&SecretString::from("12345678"), "password").is_ok());
    }
}
