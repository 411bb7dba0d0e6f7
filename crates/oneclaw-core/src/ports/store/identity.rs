//! Humans and their credentials: users, sessions, API keys, MFA, invitations, mailed tokens, sign-in attempts.

use super::*;

/// Reads (and the few writes that need no transaction) of identity.
#[async_trait]
pub trait IdentityStore: Send + Sync {
    async fn user_by_email(&self, email: &str) -> Result<Option<User>>;
    async fn user(&self, id: UserId) -> Result<Option<User>>;
    async fn count_users(&self) -> Result<i64>;
    /// A user's second-factor state: the sealed TOTP secret, one awaiting confirmation, and the
    /// last time step accepted.
    async fn mfa_state(&self, user: UserId) -> Result<MfaState>;
    /// A login challenge waiting for its second factor: (user, expires at, used).
    async fn mfa_challenge(&self, digest: &[u8]) -> Result<Option<(UserId, OffsetDateTime, bool)>>;
    async fn api_keys_by_prefix(&self, key_prefix: &str) -> Result<Vec<ApiKey>>;
    async fn api_keys_of(&self, user: UserId) -> Result<Vec<ApiKey>>;
    async fn session_by_refresh_digest(&self, digest: &[u8]) -> Result<Option<Session>>;
    /// Revoked sessions and tokens that could still be presented: (id, forget after, unix s).
    async fn live_revocations(&self, now: OffsetDateTime) -> Result<Vec<(Uuid, i64)>>;
    /// Active (not removed) members of an org, oldest first.
    async fn org_members(&self, org: OrgId) -> Result<Vec<User>>;
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
}

/// Changes to identity, inside a write transaction.
#[async_trait]
pub trait IdentityTx: Send {
    async fn insert_org(&mut self, org: &Org) -> Result<()>;
    /// Fails with `Conflict` when the email is taken.
    async fn insert_user(&mut self, user: &User) -> Result<()>;
    async fn update_user_profile(&mut self, id: UserId, display_name: &str, marketing_emails: bool) -> Result<()>;
    async fn update_password(&mut self, id: UserId, phc: &str) -> Result<()>;
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
    /// Stores a mailed token by the keyed digest of its text.
    async fn insert_email_token(&mut self, digest: &[u8], token: &crate::mail::EmailToken) -> Result<()>;
    /// Spends a token that is unused and unexpired; false otherwise (one statement decides).
    async fn use_email_token(&mut self, digest: &[u8], now: OffsetDateTime) -> Result<bool>;
    /// Spends every open token of a user for a purpose (a newer one replaces them).
    async fn retire_email_tokens(
        &mut self,
        user: UserId,
        purpose: crate::mail::TokenPurpose,
        now: OffsetDateTime,
    ) -> Result<()>;
    async fn set_email_verified(&mut self, user: UserId, verified: bool) -> Result<()>;
    /// Gives the user a new (verified) address; a conflict if another account has it.
    async fn change_email(&mut self, user: UserId, email: &str) -> Result<()>;
    /// Bumps a user's credential generation (every older token stops); the new generation.
    async fn bump_credential_generation(&mut self, id: UserId) -> Result<i64>;
    /// Deactivates every API key of a user; the ids of those that were active.
    async fn deactivate_api_keys_of(&mut self, user: UserId) -> Result<Vec<Uuid>>;
}
