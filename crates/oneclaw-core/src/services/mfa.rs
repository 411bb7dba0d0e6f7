//! The TOTP second factor (RFC 6238: SHA-1, 6 digits, 30-second steps, one step of skew):
//! enrolment (a secret sealed by the key provider, confirmed by a first code, with ten
//! single-use recovery codes), checking a code at sign-in (each time step accepted once), and
//! turning it off (with a code, never with the password alone).

use crate::audit::{AuditEvent, action};
use crate::ids::UserId;
use crate::principal::Caller;
use crate::services::Deps;
use crate::services::change::Change;
use crate::tokens::random_credential;
use crate::{Error, Result};
use totp_rs::{Algorithm, Builder, Secret, Totp};
use zeroize::Zeroizing;

const RECOVERY_CODES: usize = 10;

fn purpose(user: UserId) -> String {
    format!("totp:{user}")
}

fn totp(secret: &[u8], account: &str) -> Result<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret.to_vec())
        .with_issuer(Some("oneclaw"))
        .with_account_name(account)
        .build()
        .map_err(|err| Error::Internal(format!("TOTP setup failed: {err}")))
}

/// What enrolment shows once: the secret in base32 and the `otpauth://` URI for an app.
pub struct TotpEnrolment {
    pub secret_base32: Zeroizing<String>,
    pub otpauth_uri: Zeroizing<String>,
}

/// The second-factor service.
pub struct Mfa<'a> {
    deps: &'a Deps,
    throttle: &'a super::Throttle,
    revocations: &'a crate::revocation::RevocationList,
}

/// The per-account attempt counter shared by every second-factor check of a user.
pub(crate) fn attempts_account(user: UserId) -> String {
    format!("mfa:{user}")
}

fn human(caller: &Caller) -> Result<UserId> {
    caller.principal.user_id().ok_or_else(|| Error::Forbidden("Only people have a second factor".to_owned()))
}

impl<'a> Mfa<'a> {
    pub(crate) fn new(
        deps: &'a Deps,
        throttle: &'a super::Throttle,
        revocations: &'a crate::revocation::RevocationList,
    ) -> Self {
        Self { deps, throttle, revocations }
    }

    /// Whether the caller has TOTP on.
    pub async fn enabled(&self, caller: &Caller) -> Result<bool> {
        Ok(self.deps.store.mfa_state(human(caller)?).await?.totp_sealed.is_some())
    }

    async fn email(&self, user: UserId) -> Result<String> {
        Ok(self.deps.store.user(user).await?.map(|u| u.email).unwrap_or_default())
    }

    /// Starts enrolment: a fresh secret, kept sealed until a first code confirms it. While
    /// TOTP is on, replacing it needs a current code (or a recovery code): a stolen access
    /// token alone must not be able to move the second factor to the thief's phone.
    pub async fn setup(&self, caller: &Caller, code: Option<&str>) -> Result<TotpEnrolment> {
        let user = human(caller)?;
        if self.deps.store.mfa_state(user).await?.totp_sealed.is_some() {
            let code = code.ok_or_else(|| {
                Error::invalid_field("code", "is required: TOTP is on, so re-enrolling needs a current code")
            })?;
            self.spend_code(caller, user, code, "re-enrol").await?;
        }
        let mut secret = Zeroizing::new([0u8; 20]);
        rand::fill(&mut secret[..]);
        let sealed = self.deps.keys.seal_system_secret(&purpose(user), &secret[..]).await?;
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        change.tx().set_totp_pending(user, &sealed).await?;
        change.commit([]).await?;
        let totp = totp(&secret[..], &self.email(user).await?)?;
        let uri = totp.to_url().map_err(|err| Error::Internal(format!("TOTP URI failed: {err}")))?;
        Ok(TotpEnrolment {
            secret_base32: Zeroizing::new(Secret::from(secret.to_vec()).to_base32()),
            otpauth_uri: Zeroizing::new(uri),
        })
    }

    /// Confirms enrolment with a first code; returns the recovery codes (shown once).
    pub async fn verify_setup(&self, caller: &Caller, code: &str) -> Result<Vec<Zeroizing<String>>> {
        let user = human(caller)?;
        let pending = self
            .deps
            .store
            .mfa_state(user)
            .await?
            .pending_sealed
            .ok_or_else(|| Error::invalid("Start TOTP setup first: there is no secret waiting for a code"))?;
        let secret = self.deps.keys.unseal_system_secret(&purpose(user), &pending).await?;
        let now = self.now_secs();
        self.throttle.count_account(self.deps, &attempts_account(user)).await?;
        let Some(step) = totp(&secret, "")?.check(code.trim(), now) else {
            self.record_failure(caller, user, "verify-setup").await;
            return Err(Error::invalid_field("code", "is not the current code"));
        };
        let codes: Vec<Zeroizing<String>> =
            (0..RECOVERY_CODES).map(|_| Zeroizing::new(random_credential("rc_").expose().to_owned())).collect();
        let digests: Vec<Vec<u8>> =
            codes.iter().map(|code| self.deps.hasher.digest_credential(code).to_vec()).collect();
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        change.tx().enable_totp(user, &pending, &digests).await?;
        change.tx().accept_totp_step(user, i64::try_from(step).unwrap_or(i64::MAX)).await?;
        // Access tokens issued before the change stop (a thief's among them); sessions renew.
        let generation = change.tx().bump_credential_generation(user).await?;
        let event = AuditEvent::by(caller, action::AUTH_MFA_ENABLE, "user", self.deps.clock.now()).resource(user);
        change.commit([event]).await?;
        self.revocations.set_generation(user.0, generation);
        Ok(codes)
    }

    /// Turns TOTP off; needs a current code or a recovery code.
    pub async fn disable(&self, caller: &Caller, code: &str) -> Result<()> {
        let user = human(caller)?;
        let account = attempts_account(user);
        self.throttle.count_account(self.deps, &account).await?;
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if !self.check_code(change.tx(), user, code).await? {
            drop(change);
            self.record_failure(caller, user, "disable").await;
            return Err(Error::invalid_field("code", "is not a current code or an unused recovery code"));
        }
        change.tx().disable_totp(user).await?;
        let generation = change.tx().bump_credential_generation(user).await?;
        let event = AuditEvent::by(caller, action::AUTH_MFA_DISABLE, "user", self.deps.clock.now()).resource(user);
        change.commit([event]).await?;
        self.revocations.set_generation(user.0, generation);
        self.throttle.clear_account(self.deps, &account).await
    }

    /// Spends a current code (or a recovery code) behind the per-account attempt limit; a
    /// wrong one is audited and refused. The count and the audit record are written outside
    /// the code's own transaction (SQLite has one writer at a time).
    async fn spend_code(&self, caller: &Caller, user: UserId, code: &str, step: &str) -> Result<()> {
        let account = attempts_account(user);
        self.throttle.count_account(self.deps, &account).await?;
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if !self.check_code(change.tx(), user, code).await? {
            drop(change);
            self.record_failure(caller, user, step).await;
            return Err(Error::invalid_field("code", "is not a current code or an unused recovery code"));
        }
        change.commit([]).await?;
        self.throttle.clear_account(self.deps, &account).await
    }

    async fn record_failure(&self, caller: &Caller, user: UserId, step: &str) {
        let event = AuditEvent::by(caller, action::AUTH_FAILURE, "user", self.deps.clock.now())
            .resource(user)
            .detail("method", "totp")
            .detail("step", step.to_owned())
            .outcome(crate::audit::Outcome::Failure);
        super::change::record_alone(self.deps.journal.as_ref(), event).await;
    }

    fn now_secs(&self) -> u64 {
        u64::try_from(self.deps.clock.now().unix_timestamp()).unwrap_or(0)
    }

    /// A TOTP code (each time step accepted once) or an unused recovery code, spent in `tx`.
    pub(crate) async fn check_code(
        &self,
        tx: &mut dyn crate::ports::StoreTx,
        user: UserId,
        code: &str,
    ) -> Result<bool> {
        let code = code.trim();
        if code.starts_with("rc_") {
            let digest = self.deps.hasher.digest_credential(code);
            return tx.use_recovery_code(user, &digest, self.deps.clock.now()).await;
        }
        let Some(sealed) = self.deps.store.mfa_state(user).await?.totp_sealed else { return Ok(false) };
        let secret = self.deps.keys.unseal_system_secret(&purpose(user), &sealed).await?;
        match totp(&secret, "")?.check(code, self.now_secs()) {
            Some(step) => tx.accept_totp_step(user, i64::try_from(step).unwrap_or(i64::MAX)).await,
            None => Ok(false),
        }
    }
}
