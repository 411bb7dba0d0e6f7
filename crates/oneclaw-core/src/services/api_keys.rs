//! Personal API keys (`1ck_…`): created and shown once, kept only as a keyed digest.

use super::Deps;
use super::change::Change;
use crate::audit::{AuditEvent, action};
use crate::ids::{ApiKeyId, UserId};
use crate::model::ApiKey;
use crate::principal::{Caller, PrincipalKind};
use crate::revocation::RevocationList;
use crate::tokens::{USER_API_KEY_PREFIX, lookup_prefix, random_credential};
use crate::{Error, Result};
use oneclaw_types::SecretString;
use time::OffsetDateTime;

const MAX_NAME_CHARS: usize = 100;
const MAX_SCOPES: usize = 64;

/// A key just made: the record and the key itself, which is never available again.
#[derive(Debug)]
pub struct CreatedApiKey {
    pub key: ApiKey,
    pub secret: SecretString,
}

/// API key service.
pub struct ApiKeys<'a> {
    deps: &'a Deps,
    revocations: &'a RevocationList,
}

impl<'a> ApiKeys<'a> {
    pub(crate) fn new(deps: &'a Deps, revocations: &'a RevocationList) -> Self {
        Self { deps, revocations }
    }

    /// Creates a key for the calling human.
    pub async fn create(
        &self,
        caller: &Caller,
        name: &str,
        scopes: Vec<String>,
        expires_at: Option<OffsetDateTime>,
    ) -> Result<CreatedApiKey> {
        let user = human(caller)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(Error::invalid_field("name", format!("must be 1 to {MAX_NAME_CHARS} printable characters")));
        }
        if scopes.len() > MAX_SCOPES || scopes.iter().any(|s| s.trim().is_empty() || s.len() > 512) {
            return Err(Error::invalid_field("scopes", "must be at most 64 non-empty strings"));
        }
        let now = self.deps.clock.now();
        if expires_at.is_some_and(|at| at <= now) {
            return Err(Error::invalid_field("expires_at", "must be in the future"));
        }
        let secret = random_credential(USER_API_KEY_PREFIX);
        let key_prefix = lookup_prefix(secret.expose())
            .ok_or_else(|| Error::Internal("generated API key is too short".to_owned()))?
            .to_owned();
        let key = ApiKey {
            id: ApiKeyId::generate(),
            user_id: user,
            org_id: caller.org_id(),
            name: name.to_owned(),
            key_prefix,
            digest: self.deps.hasher.digest_credential(secret.expose()),
            scopes,
            is_active: true,
            created_at: now,
            expires_at,
            last_used_at: None,
        };
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        change.tx().insert_api_key(&key).await?;
        let event = AuditEvent::by(caller, action::API_KEY_CREATE, "api_key", now)
            .resource(key.id)
            .detail("name", key.name.clone())
            .detail("key_prefix", key.key_prefix.clone());
        change.commit([event]).await?;
        Ok(CreatedApiKey { key, secret })
    }

    /// The calling human's keys, newest first.
    pub async fn list(&self, caller: &Caller) -> Result<Vec<ApiKey>> {
        let user = human(caller)?;
        self.deps.store.api_keys_of(user).await
    }

    /// Revokes one of the caller's keys; it and every token exchanged for it stop at once
    /// (on other nodes at their next sync).
    pub async fn revoke(&self, caller: &Caller, id: ApiKeyId) -> Result<()> {
        let user = human(caller)?;
        let now = self.deps.clock.now();
        // Tokens exchanged for the key live at most one access-token lifetime from now.
        let forget_after = now.unix_timestamp() + self.deps.settings.access_token_ttl_secs;
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if !change.tx().deactivate_api_key(user, id).await? {
            return Err(Error::NotFound("API key not found".to_owned()));
        }
        change.tx().revoke_token(id.0, forget_after).await?;
        let event = AuditEvent::by(caller, action::API_KEY_REVOKE, "api_key", now).resource(id);
        change.commit([event]).await?;
        self.revocations.revoke(id.0, forget_after);
        Ok(())
    }
}

fn human(caller: &Caller) -> Result<UserId> {
    match caller.principal.who.kind {
        PrincipalKind::User => Ok(UserId(caller.principal.who.id)),
        PrincipalKind::Agent => Err(Error::Forbidden("Agents cannot manage personal API keys".to_owned())),
    }
}
