//! Agents: registered by humans, authenticated by an `ocv_` key exchanged for short-lived JWTs.
//!
//! Tokens carry the agent's token generation. Disabling, deleting, rotating the key or changing
//! scopes, vaults or expiry bumps the generation, and the in-memory revocation list then refuses
//! every older token, without a query per request.

use super::Deps;
use super::access::Access;
use super::auth::IssuedToken;
use super::change::{Change, record_alone};
use super::ip_rules::IpRuleCache;
use crate::audit::{AuditEvent, Outcome, action};
use crate::ids::{AgentId, UserId, VaultId};
use crate::model::Agent;
use crate::principal::{Caller, PrincipalKind, PrincipalRef, RequestMeta};
use crate::revocation::RevocationList;
use crate::tokens::{AGENT_API_KEY_PREFIX, Claims, lookup_prefix, random_credential};
use crate::{Error, Result};
use oneclaw_types::SecretString;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use uuid::Uuid;

/// Default lifetime of an agent token.
pub const DEFAULT_AGENT_TTL_SECS: i64 = 3600;
const TTL_RANGE: std::ops::RangeInclusive<i64> = 61..=86_400;
const MAX_NAME_CHARS: usize = 100;

/// The settings a human gives when registering or updating an agent. `None` leaves a field as
/// it is (on update) or at its default (on create).
#[derive(Debug, Default, Clone)]
pub struct AgentSettings {
    pub name: Option<String>,
    pub description: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub is_active: Option<bool>,
    pub token_ttl_seconds: Option<i64>,
    pub vault_ids: Option<Vec<Uuid>>,
    pub expires_at: Option<OffsetDateTime>,
    pub api_key_expires_at: Option<OffsetDateTime>,
    pub intents_api_enabled: Option<bool>,
    pub auth_method: Option<String>,
    /// `Some("")` clears the tag.
    pub environment: Option<String>,
}

/// A token issued to an agent, with what key-only clients need echoed back.
#[derive(Debug)]
pub struct AgentToken {
    pub token: IssuedToken,
    pub agent_id: AgentId,
    pub vault_ids: Vec<Uuid>,
}

/// Agent service.
pub struct Agents<'a> {
    deps: &'a Deps,
    revocations: &'a RevocationList,
    ip_rules: &'a IpRuleCache,
    throttle: &'a super::Throttle,
}

impl<'a> Agents<'a> {
    pub(crate) fn new(
        deps: &'a Deps,
        revocations: &'a RevocationList,
        ip_rules: &'a IpRuleCache,
        throttle: &'a super::Throttle,
    ) -> Self {
        Self { deps, revocations, ip_rules, throttle }
    }

    /// Registers an agent; the key is returned this once.
    pub async fn create(&self, caller: &Caller, settings: AgentSettings) -> Result<(Agent, SecretString)> {
        let creator = human(caller)?;
        let name = settings.name.as_deref().ok_or_else(|| Error::invalid_field("name", "is required"))?;
        super::Billing::new(self.deps).check_resource(caller.org_id(), crate::billing::Resource::Agents).await?;
        let now = self.deps.clock.now();
        let key = random_credential(AGENT_API_KEY_PREFIX);
        let mut agent = Agent {
            id: AgentId::generate(),
            org_id: caller.org_id(),
            name: checked_name(name)?,
            description: String::new(),
            auth_method: "api_key".to_owned(),
            scopes: None,
            is_active: true,
            token_ttl_seconds: None,
            vault_ids: Vec::new(),
            expires_at: None,
            api_key_expires_at: None,
            intents_api_enabled: false,
            environment: None,
            created_by: creator,
            created_at: now,
            last_active_at: None,
            deleted_at: None,
            key_prefix: key_prefix(&key)?,
            key_digest: self.deps.hasher.digest_credential(key.expose()),
            token_generation: 0,
            revision: 0,
        };
        self.apply(caller, &mut agent, settings, now).await?;
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        change.tx().insert_agent(&agent).await?;
        let event = AuditEvent::by(caller, action::AGENT_REGISTER, "agent", now)
            .resource(agent.id)
            .detail("name", agent.name.clone())
            .detail("key_prefix", agent.key_prefix.clone());
        change.commit([event]).await?;
        Ok((agent, key))
    }

    /// The org's agents (humans only); deleted agents are not listed.
    pub async fn list(&self, caller: &Caller) -> Result<Vec<Agent>> {
        human(caller)?;
        Ok(self.deps.store.agents(caller.org_id()).await?.into_iter().filter(|a| a.deleted_at.is_none()).collect())
    }

    /// One agent: any human of the org, or the agent itself.
    pub async fn get(&self, caller: &Caller, id: AgentId) -> Result<Agent> {
        if caller.principal.agent_id().is_some_and(|me| me != id) {
            return Err(Error::Forbidden("An agent may only read its own profile".to_owned()));
        }
        self.load(caller, id).await
    }

    /// The calling agent's own profile.
    pub async fn me(&self, caller: &Caller) -> Result<Agent> {
        let id =
            caller.principal.agent_id().ok_or_else(|| Error::Forbidden("Only agents have /agents/me".to_owned()))?;
        self.load(caller, id).await
    }

    /// Changes an agent (its creator or an org admin).
    pub async fn update(&self, caller: &Caller, id: AgentId, settings: AgentSettings) -> Result<Agent> {
        let mut agent = self.managed(caller, id).await?;
        let before = agent.clone();
        let now = self.deps.clock.now();
        self.apply(caller, &mut agent, settings, now).await?;
        let revoke = before.is_active != agent.is_active
            || before.scopes != agent.scopes
            || before.vault_ids != agent.vault_ids
            || before.expires_at != agent.expires_at
            || before.api_key_expires_at != agent.api_key_expires_at;
        if revoke {
            agent.token_generation += 1;
        }
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        save(&mut change, &mut agent).await?;
        let mut event = AuditEvent::by(caller, action::AGENT_UPDATE, "agent", now).resource(agent.id);
        if before.is_active != agent.is_active {
            event = event.detail("is_active", agent.is_active);
        }
        change.commit([event.detail("tokens_revoked", revoke)]).await?;
        self.revocations.set_generation(agent.id.0, agent.token_generation);
        Ok(agent)
    }

    /// Deletes (deactivates) an agent; its records and audit trail stay.
    pub async fn delete(&self, caller: &Caller, id: AgentId) -> Result<()> {
        let mut agent = self.managed(caller, id).await?;
        let now = self.deps.clock.now();
        agent.is_active = false;
        agent.deleted_at = Some(now);
        agent.token_generation += 1;
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        save(&mut change, &mut agent).await?;
        change.commit([AuditEvent::by(caller, action::AGENT_DEACTIVATE, "agent", now).resource(agent.id)]).await?;
        self.revocations.set_generation(agent.id.0, agent.token_generation);
        Ok(())
    }

    /// Issues a new key; the old one and every token issued with it stop at once.
    pub async fn rotate_key(&self, caller: &Caller, id: AgentId) -> Result<(Agent, SecretString)> {
        let mut agent = self.managed(caller, id).await?;
        let now = self.deps.clock.now();
        let key = random_credential(AGENT_API_KEY_PREFIX);
        agent.key_prefix = key_prefix(&key)?;
        agent.key_digest = self.deps.hasher.digest_credential(key.expose());
        agent.token_generation += 1;
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        save(&mut change, &mut agent).await?;
        let event = AuditEvent::by(caller, action::AGENT_ROTATE_KEY, "agent", now)
            .resource(agent.id)
            .detail("key_prefix", agent.key_prefix.clone());
        change.commit([event]).await?;
        self.revocations.set_generation(agent.id.0, agent.token_generation);
        Ok((agent, key))
    }

    /// Exchanges an `ocv_` key (and optionally the agent id it must belong to) for a token.
    pub async fn exchange(
        &self,
        meta: &RequestMeta,
        api_key: &SecretString,
        agent_id: Option<Uuid>,
    ) -> Result<AgentToken> {
        self.throttle.check_ip(meta.ip)?;
        let now = self.deps.clock.now();
        let key = api_key.expose();
        let found = match (key.starts_with(AGENT_API_KEY_PREFIX), lookup_prefix(key)) {
            (true, Some(prefix)) => {
                let digest = self.deps.hasher.digest_credential(key);
                self.deps
                    .store
                    .agents_by_key_prefix(prefix)
                    .await?
                    .into_iter()
                    .find(|agent| bool::from(agent.key_digest.ct_eq(&digest)))
            }
            _ => None,
        };
        // An agent works only while the human who registered it is a member: removal disables
        // it, and this check holds even for a row that escaped that (defence in depth).
        let creator_live = match &found {
            Some(agent) => self.deps.store.user(agent.created_by).await?.is_some_and(|u| u.disabled_at.is_none()),
            None => false,
        };
        let refusal = match &found {
            None => Some("unknown key"),
            Some(agent) if agent_id.is_some_and(|id| id != agent.id.0) => Some("key belongs to another agent"),
            Some(agent) if agent.deleted_at.is_some() => Some("agent deleted"),
            Some(agent) if !agent.is_active => Some("agent disabled"),
            Some(agent) if agent.expires_at.is_some_and(|at| at <= now) => Some("agent expired"),
            Some(agent) if agent.api_key_expires_at.is_some_and(|at| at <= now) => Some("key expired"),
            Some(_) if !creator_live => Some("creator removed"),
            Some(_) => None,
        };
        let (Some(agent), None) = (found.as_ref(), refusal) else {
            let event = match &found {
                Some(agent) => {
                    AuditEvent::by_principal(agent_ref(agent), agent.org_id, meta, action::AUTH_FAILURE, "agent", now)
                        .resource(agent.id)
                }
                None => AuditEvent::anonymous(meta, action::AUTH_FAILURE, "agent", now),
            };
            let event = event.detail("method", "agent_key").detail("reason", refusal.unwrap_or_default());
            record_alone(self.deps.journal.as_ref(), event.outcome(Outcome::Failure)).await;
            return Err(Error::bad_credentials());
        };
        super::ip_rules::IpRules::new(self.deps, self.ip_rules)
            .check(agent.org_id, meta.ip, PrincipalKind::Agent)
            .await?;
        let scopes = self.token_scopes(agent, now).await?;
        let ttl = agent.token_ttl_seconds.unwrap_or(DEFAULT_AGENT_TTL_SECS);
        let iat = now.unix_timestamp();
        let exp = agent.expires_at.map_or(iat + ttl, |at| at.unix_timestamp().min(iat + ttl));
        let claims = Claims {
            sub: agent_ref(agent).prefixed(),
            org: agent.org_id.0,
            iat,
            exp,
            jti: Uuid::now_v7(),
            sid: None,
            scopes,
            vault_ids: agent.vault_ids.clone(),
            generation: Some(agent.token_generation),
            akid: None,
        };
        let access_token = self.deps.tokens.sign(&claims)?;
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        change.tx().touch_agent(agent.id, now).await?;
        let event =
            AuditEvent::by_principal(agent_ref(agent), agent.org_id, meta, action::AUTH_AGENT_TOKEN, "agent", now)
                .resource(agent.id);
        change.commit([event]).await?;
        Ok(AgentToken {
            token: IssuedToken { access_token, expires_in: exp - iat, refresh_token: None },
            agent_id: agent.id,
            vault_ids: agent.vault_ids.clone(),
        })
    }

    /// The scope ceiling for a new token: the agent's own scopes, else the patterns of its
    /// policies in force (so an agent with neither reaches only the vaults it owns).
    async fn token_scopes(&self, agent: &Agent, now: OffsetDateTime) -> Result<Vec<String>> {
        if let Some(scopes) = agent.scopes.as_ref().filter(|s| !s.is_empty()) {
            return Ok(scopes.clone());
        }
        let mut patterns: Vec<String> = self
            .deps
            .store
            .principal_policies(agent_ref(agent))
            .await?
            .into_iter()
            .filter(|p| p.effect == crate::policy::Effect::Allow && p.expires_at.is_none_or(|at| at > now))
            .map(|p| p.pattern.as_str().to_owned())
            .collect();
        patterns.sort();
        patterns.dedup();
        Ok(patterns)
    }

    async fn load(&self, caller: &Caller, id: AgentId) -> Result<Agent> {
        self.deps
            .store
            .agent(caller.org_id(), id)
            .await?
            .filter(|agent| agent.deleted_at.is_none())
            .ok_or_else(|| Error::NotFound("Agent not found".to_owned()))
    }

    /// An agent the caller may change: its creator or an org admin.
    async fn managed(&self, caller: &Caller, id: AgentId) -> Result<Agent> {
        let user = human(caller)?;
        let agent = self.load(caller, id).await?;
        if agent.created_by != user && !Access::new(self.deps).is_admin(caller).await? {
            return Err(Error::Forbidden("Only the agent's creator or an org admin may change it".to_owned()));
        }
        Ok(agent)
    }

    /// Validates and applies settings.
    async fn apply(
        &self,
        caller: &Caller,
        agent: &mut Agent,
        settings: AgentSettings,
        now: OffsetDateTime,
    ) -> Result<()> {
        if let Some(name) = settings.name {
            agent.name = checked_name(&name)?;
        }
        if let Some(description) = settings.description {
            if description.chars().count() > 1000 || description.contains('\0') {
                return Err(Error::invalid_field("description", "must be at most 1000 characters, with no NUL"));
            }
            agent.description = description.trim().to_owned();
        }
        if let Some(method) = settings.auth_method
            && method != "api_key"
        {
            return Err(Error::invalid_field("auth_method", "only api_key is supported"));
        }
        if let Some(scopes) = settings.scopes {
            if scopes.len() > 64 || scopes.iter().any(|s| s.trim().is_empty() || s.len() > 512) {
                return Err(Error::invalid_field("scopes", "must be at most 64 non-empty strings"));
            }
            agent.scopes = Some(scopes);
        }
        if let Some(active) = settings.is_active {
            agent.is_active = active;
        }
        if let Some(ttl) = settings.token_ttl_seconds {
            if !TTL_RANGE.contains(&ttl) {
                return Err(Error::invalid_field("token_ttl_seconds", "must be between 61 and 86400"));
            }
            agent.token_ttl_seconds = Some(ttl);
        }
        if let Some(vault_ids) = settings.vault_ids {
            for id in &vault_ids {
                if self.deps.store.vault(caller.org_id(), VaultId(*id)).await?.is_none() {
                    return Err(Error::invalid_field("vault_ids", format!("{id} is not a vault of this org")));
                }
            }
            agent.vault_ids = vault_ids;
        }
        for (field, value, slot) in [
            ("expires_at", settings.expires_at, &mut agent.expires_at),
            ("api_key_expires_at", settings.api_key_expires_at, &mut agent.api_key_expires_at),
        ] {
            if let Some(at) = value {
                if at <= now {
                    return Err(Error::invalid_field(field, "must be in the future"));
                }
                *slot = Some(at);
            }
        }
        if let Some(flag) = settings.intents_api_enabled {
            agent.intents_api_enabled = flag;
        }
        if let Some(environment) = settings.environment {
            agent.environment = match environment.as_str() {
                "" => None,
                slug => Some(crate::env_vars::checked_slug(slug).map_err(|_| {
                    Error::invalid_field("environment", "must be an environment slug (e.g. production)")
                })?),
            };
        }
        Ok(())
    }
}

/// Writes the agent over the revision it was read at; a concurrent change (a deletion, a key
/// rotation, another update) makes this one fail instead of being undone by it.
async fn save(change: &mut Change, agent: &mut Agent) -> Result<()> {
    agent.revision += 1;
    if change.tx().update_agent(agent).await? {
        Ok(())
    } else {
        Err(Error::Conflict("The agent was changed or deleted meanwhile; read it again and retry".to_owned()))
    }
}

fn human(caller: &Caller) -> Result<UserId> {
    caller.principal.user_id().ok_or_else(|| Error::Forbidden("Only humans manage agents".to_owned()))
}

fn agent_ref(agent: &Agent) -> PrincipalRef {
    PrincipalRef { kind: PrincipalKind::Agent, id: agent.id.0 }
}

fn checked_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(Error::invalid_field("name", format!("must be 1 to {MAX_NAME_CHARS} printable characters")));
    }
    Ok(name.to_owned())
}

fn key_prefix(key: &SecretString) -> Result<String> {
    lookup_prefix(key.expose())
        .map(str::to_owned)
        .ok_or_else(|| Error::Internal("generated agent key is too short".to_owned()))
}
