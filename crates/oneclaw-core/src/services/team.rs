//! The team: members of an org, invitations, roles.
//!
//! Roles: an `owner` does everything, including making and removing owners; an `admin`
//! manages members (not owners), agents, IP rules, and every vault's lifecycle and policies; a
//! `member` uses their own vaults and what policies grant them. Reading a value always needs
//! ownership or a policy. The last owner can be neither removed nor demoted.

use super::Deps;
use super::access::Access;
use super::change::Change;
use crate::audit::{AuditEvent, action};
use crate::ids::{InviteId, UserId};
use crate::model::{Invite, Role, User};
use crate::principal::Caller;
use crate::revocation::RevocationList;
use crate::tokens::{INVITE_TOKEN_PREFIX, random_credential};
use crate::{Error, Result};
use oneclaw_types::SecretString;

/// How long an invitation can be accepted.
const INVITE_LIFETIME: time::Duration = time::Duration::days(7);

/// Team service.
pub struct Team<'a> {
    deps: &'a Deps,
    revocations: &'a RevocationList,
    throttle: &'a super::Throttle,
}

impl<'a> Team<'a> {
    pub(crate) fn new(deps: &'a Deps, revocations: &'a RevocationList, throttle: &'a super::Throttle) -> Self {
        Self { deps, revocations, throttle }
    }

    /// The org's active members.
    pub async fn members(&self, caller: &Caller) -> Result<Vec<User>> {
        caller.principal.user_id().ok_or_else(|| Error::Forbidden("Only humans see the team".to_owned()))?;
        self.deps.store.org_members(caller.org_id()).await
    }

    /// Invites someone: a single-use token, good for seven days, that joins this org with
    /// `role` when presented at sign-up (`invite_token`). The email names whom it is for; it
    /// admits nobody by itself. The token is returned once (the inviter hands it on) and kept
    /// only as a keyed digest.
    pub async fn invite(&self, caller: &Caller, email: &str, role: Option<&str>) -> Result<(Invite, SecretString)> {
        let (inviter, inviter_role) = self.admin(caller).await?;
        let role = parse_role(role.unwrap_or("member"))?;
        if role == Role::Owner && inviter_role != Role::Owner {
            return Err(Error::Forbidden("Only owners may invite owners".to_owned()));
        }
        let email = super::auth::normalize_email(email)?;
        // Whether the email has an account elsewhere is not said: that would let any admin
        // probe which addresses use this server. Sign-up with the token settles it.
        if let Some(user) = self.deps.store.user_by_email(&email).await?
            && user.org_id == caller.org_id()
            && user.disabled_at.is_none()
        {
            return Err(Error::Conflict("That email is already a member of this organization".to_owned()));
        }
        // Invitations are mail: an org may send a bounded number, and one address receives a
        // bounded number, so the server is nobody's tool for mail-bombing.
        self.throttle.count_account(self.deps, &format!("invite-from:{}", caller.org_id())).await?;
        self.throttle.count_account(self.deps, &format!("invite-to:{email}")).await?;
        let now = self.deps.clock.now();
        let token = random_credential(INVITE_TOKEN_PREFIX);
        let digest = self.deps.hasher.digest_credential(token.expose());
        let invite = Invite {
            id: InviteId::generate(),
            org_id: caller.org_id(),
            email: email.clone(),
            role,
            invited_by: inviter,
            created_at: now,
            accepted_at: None,
            expires_at: Some(now + INVITE_LIFETIME),
            revoked_at: None,
        };
        // The invitation arrives by mail too (when the server sends mail); the inviter is shown
        // the link either way.
        let inviter_email = self.deps.store.user(inviter).await?.map(|u| u.email).unwrap_or_default();
        let link = super::accounts::link(self.deps, "/signup", "invite", token.expose());
        let message = super::mail_templates::invite(&link, &inviter_email, role.as_str(), INVITE_LIFETIME.whole_days());
        let mail = super::Mailer::new(self.deps).prepare(&email, crate::mail::MailKind::Invite, &message).await?;
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        change.tx().insert_invite(&invite, &digest).await?;
        if let Some(mail) = &mail {
            change.tx().enqueue_mail(mail).await?;
        }
        let event = AuditEvent::by(caller, action::MEMBER_INVITE, "invite", now)
            .resource(invite.id)
            .detail("email", email)
            .detail("role", role.as_str());
        change.commit([event]).await?;
        Ok((invite, token))
    }

    /// The org's invitations (owners and admins), newest first.
    pub async fn invites(&self, caller: &Caller) -> Result<Vec<Invite>> {
        self.admin(caller).await?;
        self.deps.store.invites(caller.org_id()).await
    }

    /// Revokes an invitation that has not been accepted.
    pub async fn revoke_invite(&self, caller: &Caller, id: InviteId) -> Result<()> {
        self.admin(caller).await?;
        let now = self.deps.clock.now();
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if !change.tx().revoke_invite(caller.org_id(), id, now).await? {
            return Err(Error::NotFound("Invitation not found or no longer open".to_owned()));
        }
        change.commit([AuditEvent::by(caller, action::MEMBER_INVITE_REVOKE, "invite", now).resource(id)]).await
    }

    /// Changes a member's role.
    pub async fn set_role(&self, caller: &Caller, user: UserId, role: &str) -> Result<User> {
        let (_, my_role) = self.admin(caller).await?;
        let role = parse_role(role)?;
        let mut target = self.member(caller, user).await?;
        if (role == Role::Owner || target.role == Role::Owner) && my_role != Role::Owner {
            return Err(Error::Forbidden("Only owners may grant or take away the owner role".to_owned()));
        }
        if target.role == Role::Owner && role != Role::Owner {
            self.keep_an_owner(caller, &target).await?;
        }
        let now = self.deps.clock.now();
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        change.tx().update_user_role(target.id, role).await?;
        let event = AuditEvent::by(caller, action::MEMBER_ROLE, "user", now)
            .resource(target.id)
            .detail("from", target.role.as_str())
            .detail("to", role.as_str());
        change.commit([event]).await?;
        target.role = role;
        Ok(target)
    }

    /// Removes a member: they can no longer sign in, their sessions and tokens end, their keys
    /// stop working. Their vaults stay with the org.
    pub async fn remove(&self, caller: &Caller, user: UserId) -> Result<()> {
        let (_, my_role) = self.admin(caller).await?;
        let target = self.member(caller, user).await?;
        if target.role == Role::Owner {
            if my_role != Role::Owner {
                return Err(Error::Forbidden("Only owners may remove an owner".to_owned()));
            }
            self.keep_an_owner(caller, &target).await?;
        }
        let now = self.deps.clock.now();
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        change.tx().disable_user(target.id, now).await?;
        let ended = change.tx().revoke_user_sessions(target.id, now).await?;
        // Every token of theirs ends (API-key exchanges included), and so does everything they
        // left behind that could still act or open a secret: their agents and their shares.
        let generation = change.tx().bump_credential_generation(target.id).await?;
        let agents = change.tx().disable_agents_of(target.id).await?;
        let shares = change.tx().revoke_shares_of_member(target.id, now).await?;
        // Their keys end too, for good: being invited back must not revive a key that may have
        // been copied before the removal.
        let keys = change.tx().deactivate_api_keys_of(target.id).await?;
        let key_tokens_until = now.unix_timestamp() + self.deps.settings.access_token_ttl_secs;
        for key in &keys {
            change.tx().revoke_token(*key, key_tokens_until).await?;
        }
        let event = AuditEvent::by(caller, action::MEMBER_REMOVE, "user", now)
            .resource(target.id)
            .detail("agents_disabled", agents.len())
            .detail("shares_revoked", shares)
            .detail("api_keys_revoked", keys.len());
        change.commit([event]).await?;
        for (id, until) in ended {
            self.revocations.revoke(id, until);
        }
        for key in keys {
            self.revocations.revoke(key, key_tokens_until);
        }
        self.revocations.set_generation(target.id.0, generation);
        for (agent, generation) in agents {
            self.revocations.set_generation(agent.0, generation);
        }
        Ok(())
    }

    async fn admin(&self, caller: &Caller) -> Result<(UserId, Role)> {
        let user =
            caller.principal.user_id().ok_or_else(|| Error::Forbidden("Only humans manage the team".to_owned()))?;
        match Access::new(self.deps).role(caller).await? {
            Some(role @ (Role::Owner | Role::Admin)) => Ok((user, role)),
            _ => Err(Error::Forbidden("Only org owners and admins manage the team".to_owned())),
        }
    }

    async fn member(&self, caller: &Caller, user: UserId) -> Result<User> {
        self.deps
            .store
            .user(user)
            .await?
            .filter(|u| u.org_id == caller.org_id() && u.disabled_at.is_none())
            .ok_or_else(|| Error::NotFound("Member not found".to_owned()))
    }

    async fn keep_an_owner(&self, caller: &Caller, leaving: &User) -> Result<()> {
        let owners =
            self.deps.store.org_members(caller.org_id()).await?.into_iter().filter(|u| u.role == Role::Owner).count();
        if owners <= 1 && leaving.role == Role::Owner {
            return Err(Error::Conflict(
                "The last owner cannot be removed or demoted; make another owner first".to_owned(),
            ));
        }
        Ok(())
    }
}

fn parse_role(text: &str) -> Result<Role> {
    Role::parse(text).ok_or_else(|| Error::invalid_field("role", "must be owner, admin or member"))
}
