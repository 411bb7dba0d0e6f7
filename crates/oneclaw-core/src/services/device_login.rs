//! The device flow of `oneclaw login` (1claw's `/v1/auth/device/*`): the CLI asks for a code
//! for one account's email, prints the short user code and a URL, and polls; the account's
//! human, signed in to the dashboard, approves or denies it; the next poll gets a session
//! (an access token and a refresh token), once.
//!
//! The CLI's device code is a credential: stored only as its keyed digest, random, and good
//! for ten minutes. The user code is short for typing, so it approves nothing by itself: only a
//! signed-in human whose email is the one the CLI named can approve it, and every state change
//! is one conditional statement (two polls cannot both get a session).

use super::auth::{Auth, IssuedToken, normalize_email};
use super::change::Change;
use super::ip_rules::IpRules;
use crate::audit::{AuditEvent, action};
use crate::ids::UserId;
use crate::model::{DeviceCode, DeviceStatus, User};
use crate::principal::{Caller, PrincipalKind, PrincipalRef, RequestMeta};
use crate::tokens::random_credential;
use crate::{Error, Result};
use oneclaw_types::SecretString;

/// How long a code may be approved and polled for.
pub const DEVICE_CODE_TTL_SECS: i64 = 600;
/// How often the CLI should poll; faster polls are told to slow down.
pub const DEVICE_POLL_INTERVAL_SECS: i64 = 5;
const DEVICE_CODE_PREFIX: &str = "ocd_";
/// Letters nobody misreads (no vowels, so no words; no I/O/0/1), 20^8 ≈ 2.6e10 codes.
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
const USER_CODE_LEN: usize = 8;
const MAX_CLIENT_ID_CHARS: usize = 100;

/// What the CLI gets to start with.
#[derive(Debug)]
pub struct DeviceStart {
    pub device_code: SecretString,
    pub user_code: String,
    pub expires_in: i64,
    pub interval: i64,
}

/// What a poll finds.
#[derive(Debug)]
pub enum DevicePoll {
    /// Not decided yet.
    Pending,
    /// Polled faster than the interval.
    SlowDown,
    Denied,
    /// Expired, already used, or never issued.
    Expired,
    /// Approved: a session for this user.
    Issued {
        token: IssuedToken,
        user: Box<User>,
    },
}

/// `ABCD-EFGH` from what a person typed (any case, with or without the dash); `None` when it
/// cannot be a user code.
pub fn normalize_user_code(text: &str) -> Option<String> {
    let letters: String = text.chars().filter(|c| *c != '-' && !c.is_whitespace()).collect::<String>().to_uppercase();
    let valid = letters.len() == USER_CODE_LEN && letters.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
    valid.then(|| format!("{}-{}", &letters[..4], &letters[4..]))
}

fn new_user_code() -> String {
    let letters: String = (0..USER_CODE_LEN)
        .map(|_| char::from(USER_CODE_ALPHABET[rand::random_range(0..USER_CODE_ALPHABET.len())]))
        .collect();
    format!("{}-{}", &letters[..4], &letters[4..])
}

fn no_pending() -> Error {
    Error::NotFound("No login is waiting for that code: it may have expired or been used".to_owned())
}

impl<'a> Auth<'a> {
    /// Issues a device code for `email`'s account. The answer is the same whether or not the
    /// account exists (nobody but its human could approve the code anyway).
    pub async fn device_start(&self, meta: &RequestMeta, client_id: &str, email: &str) -> Result<DeviceStart> {
        self.throttle_ip(meta)?;
        let client_id = client_id.trim();
        // Shown to the person who approves: plain ASCII, so no bidi or invisible characters can
        // make it read as something else.
        if client_id.is_empty()
            || client_id.len() > MAX_CLIENT_ID_CHARS
            || !client_id.chars().all(|c| c.is_ascii_graphic() || c == ' ')
        {
            return Err(Error::invalid_field(
                "client_id",
                format!("must be 1 to {MAX_CLIENT_ID_CHARS} printable characters"),
            ));
        }
        let email = normalize_email(email)?;
        let now = self.deps().clock.now();
        let device_code = random_credential(DEVICE_CODE_PREFIX);
        let code = DeviceCode {
            device_digest: self.deps().hasher.digest_credential(device_code.expose()),
            user_code: new_user_code(),
            client_id: client_id.to_owned(),
            email,
            status: DeviceStatus::Pending,
            user_id: None,
            created_at: now,
            expires_at: now + time::Duration::seconds(DEVICE_CODE_TTL_SECS),
            last_polled_at: None,
        };
        let mut change = Change::begin(self.deps().store.as_ref()).await?;
        change.tx().insert_device_code(&code).await?;
        change.commit([]).await?;
        Ok(DeviceStart {
            device_code,
            user_code: code.user_code,
            expires_in: DEVICE_CODE_TTL_SECS,
            interval: DEVICE_POLL_INTERVAL_SECS,
        })
    }

    /// The CLI's poll: a session once approved (once), else where the code stands.
    pub async fn device_poll(&self, meta: &RequestMeta, device_code: &SecretString) -> Result<DevicePoll> {
        self.throttle_ip(meta)?;
        if !device_code.expose().starts_with(DEVICE_CODE_PREFIX) {
            return Ok(DevicePoll::Expired);
        }
        let digest = self.deps().hasher.digest_credential(device_code.expose());
        let now = self.deps().clock.now();
        let Some(code) = self.deps().store.device_code_by_digest(&digest).await? else {
            return Ok(DevicePoll::Expired);
        };
        if code.expires_at <= now {
            return Ok(DevicePoll::Expired);
        }
        match code.status {
            DeviceStatus::Denied => Ok(DevicePoll::Denied),
            DeviceStatus::Used => Ok(DevicePoll::Expired),
            DeviceStatus::Pending => {
                let too_soon = code
                    .last_polled_at
                    .is_some_and(|at| now < at + time::Duration::seconds(DEVICE_POLL_INTERVAL_SECS - 1));
                let mut change = Change::begin(self.deps().store.as_ref()).await?;
                change.tx().touch_device_code(&digest, now).await?;
                change.commit([]).await?;
                Ok(if too_soon { DevicePoll::SlowDown } else { DevicePoll::Pending })
            }
            DeviceStatus::Approved => {
                let user_id =
                    code.user_id.ok_or_else(|| Error::Internal("an approved code names no user".to_owned()))?;
                let user = self.live_user(user_id).await?;
                IpRules::new(self.deps(), self.ip_rule_cache())
                    .check(user.org_id, meta.ip, PrincipalKind::User)
                    .await?;
                let mut change = Change::begin(self.deps().store.as_ref()).await?;
                if !change.tx().use_device_code(&digest, now).await? {
                    return Ok(DevicePoll::Expired);
                }
                let (session, token) = self.open_session(&mut change, &user, now).await?;
                let event = AuditEvent::by_principal(
                    user_ref(&user),
                    user.org_id,
                    meta,
                    action::AUTH_DEVICE_LOGIN,
                    "user",
                    now,
                )
                .resource(user.id)
                .detail("client_id", code.client_id.clone())
                .detail("session_id", session.to_string());
                change.commit([event]).await?;
                Ok(DevicePoll::Issued { token, user: Box::new(user) })
            }
        }
    }

    /// A pending code by its user code, for the approval page. Each lookup spends one of the
    /// address's credential checks: user codes are short, so guessing them is rate limited.
    pub async fn device_code(&self, meta: &RequestMeta, user_code: &str) -> Result<DeviceCode> {
        self.throttle_ip(meta)?;
        let user_code = normalize_user_code(user_code).ok_or_else(no_pending)?;
        let now = self.deps().clock.now();
        match self.deps().store.device_code_by_user_code(&user_code).await? {
            Some(code) if code.expires_at > now => Ok(code),
            _ => Err(no_pending()),
        }
    }

    /// The signed-in human approves or denies a waiting login for their own account.
    pub async fn device_decide(&self, caller: &Caller, user_code: &str, approve: bool) -> Result<DeviceCode> {
        let PrincipalKind::User = caller.principal.who.kind else {
            return Err(Error::Forbidden("Only a person approves a login".to_owned()));
        };
        // A login made from an API key's token would outlive the key (revoking the key ends
        // its tokens, not a session it approved): approving takes a signed-in session.
        if caller.principal.api_key_id.is_some() {
            return Err(Error::Forbidden("Approve a login from a signed-in session, not with an API key".to_owned()));
        }
        let user = self.live_user(UserId(caller.principal.who.id)).await?;
        let code = self.device_code(&caller.meta, user_code).await?;
        // Someone else's code answers like an unknown one: the page says nothing about it.
        if code.status != DeviceStatus::Pending || code.email != user.email {
            return Err(no_pending());
        }
        let now = self.deps().clock.now();
        let status = if approve { DeviceStatus::Approved } else { DeviceStatus::Denied };
        let mut change = Change::begin(self.deps().store.as_ref()).await?;
        if !change.tx().decide_device_code(&code.user_code, status, user.id, now).await? {
            return Err(no_pending());
        }
        let what = if approve { action::AUTH_DEVICE_APPROVE } else { action::AUTH_DEVICE_DENY };
        let event = AuditEvent::by(caller, what, "user", now)
            .resource(user.id)
            .detail("client_id", code.client_id.clone())
            .detail("user_code", code.user_code.clone());
        change.commit([event]).await?;
        Ok(DeviceCode { status, user_id: Some(user.id), ..code })
    }
}

fn user_ref(user: &User) -> PrincipalRef {
    PrincipalRef { kind: PrincipalKind::User, id: user.id.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_typed_forgivingly_and_checked_strictly() {
        let code = new_user_code();
        assert_eq!(normalize_user_code(&code).as_deref(), Some(code.as_str()));
        assert_eq!(normalize_user_code("bcdf ghjk").as_deref(), Some("BCDF-GHJK"));
        for bad in ["", "BCDF-GHJ", "BCDF-GHJKL", "ABCD-EFGH", "BCDF-GH0K"] {
            assert!(normalize_user_code(bad).is_none(), "{bad}");
        }
    }
}
