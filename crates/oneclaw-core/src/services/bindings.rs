//! Bindings: a human who manages a vault ties one of the org's agents to an outside service and
//! a credential (sealed inline, or a live pointer to a secret in that vault the human may read).
//! Agents never create or change bindings: one that could would point a credential it may only
//! use at a host of its choosing. A binding's credential is never returned.

use super::Deps;
use super::access::Access;
use super::change::Change;
use crate::audit::AuditEvent;
use crate::ids::{AgentId, VaultId};
use crate::intents::{Binding, BindingType, CredentialSource, checked_guardrails, checked_name};
use crate::model::Vault;
use crate::path::SecretPath;
use crate::policy::Operation;
use crate::principal::Caller;
use crate::{Error, Result};
use oneclaw_types::SecretString;
use serde_json::Value;
use uuid::Uuid;

/// Where a new credential comes from, as a request gives it.
#[derive(Debug, Clone)]
pub enum CredentialInput {
    Inline(SecretString),
    VaultRef { vault_id: VaultId, path: String },
}

/// What a create or update asks for.
#[derive(Debug, Clone, Default)]
pub struct BindingDraft {
    pub name: Option<String>,
    pub binding_type: Option<String>,
    pub config: Option<Value>,
    pub guardrails: Option<Value>,
    pub is_active: Option<bool>,
    /// The vault the binding lives in (its policies decide who executes it); for a `vault_ref`
    /// credential, that credential's vault.
    pub vault_id: Option<VaultId>,
    pub credential: Option<CredentialInput>,
}

/// The key-provider purpose an inline credential is sealed under (its AAD).
pub fn credential_purpose(binding: Uuid) -> String {
    format!("binding-credential:{binding}")
}

/// Bindings service.
pub struct Bindings<'a> {
    deps: &'a Deps,
}

impl<'a> Bindings<'a> {
    pub(crate) fn new(deps: &'a Deps) -> Self {
        Self { deps }
    }

    /// Creates a binding for `agent` in the vault the draft names (or the agent's only bound
    /// vault). The caller must be a human who manages that vault.
    pub async fn create(&self, caller: &Caller, agent: AgentId, draft: BindingDraft) -> Result<Binding> {
        let user = human(caller)?;
        let found = self.deps.store.agent(caller.org_id(), agent).await?.filter(|a| a.deleted_at.is_none());
        let agent_row = found.ok_or_else(|| Error::NotFound("Agent not found".to_owned()))?;
        let vault_id = match (&draft.credential, draft.vault_id) {
            (Some(CredentialInput::VaultRef { vault_id, .. }), Some(named)) if *vault_id != named => {
                return Err(Error::invalid_field("vault_id", "must be the vault of credential_source"));
            }
            (Some(CredentialInput::VaultRef { vault_id, .. }), _) => *vault_id,
            (_, Some(named)) => named,
            (_, None) => match agent_row.vault_ids.as_slice() {
                [only] => VaultId(*only),
                _ => {
                    return Err(Error::invalid_field(
                        "vault_id",
                        "name the vault the binding lives in (credential_source.vault_id): its policies decide \
                         who may execute the binding",
                    ));
                }
            },
        };
        let vault = self.managed_vault(caller, vault_id).await?;
        let name = checked_name(draft.name.as_deref().unwrap_or_default())?;
        let binding_type = BindingType::parse(draft.binding_type.as_deref().unwrap_or_default())?;
        let config = draft.config.unwrap_or(Value::Null);
        let guardrails = draft.guardrails.unwrap_or(Value::Null);
        checked_guardrails(binding_type, &config, &guardrails)?;
        let now = self.deps.clock.now();
        let mut binding = Binding {
            id: Uuid::now_v7(),
            org_id: caller.org_id(),
            agent_id: agent,
            name,
            binding_type,
            config: empty_as_object(config),
            guardrails: empty_as_object(guardrails),
            is_active: draft.is_active.unwrap_or(true),
            vault_id: vault.id,
            credential: CredentialSource::None,
            created_by: user,
            created_at: now,
            updated_at: now,
        };
        let sealed = match draft.credential {
            Some(input) => self.credential(caller, &vault, &mut binding, input).await?,
            None => None,
        };
        let event = audit(caller, "binding.create", &binding, now);
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if !change.tx().insert_binding(&binding, sealed.as_deref()).await? {
            return Err(Error::Conflict(format!("The agent already has a binding named {}", binding.name)));
        }
        change.commit([event]).await?;
        Ok(binding)
    }

    /// The agent's bindings: for the agent itself, or any human of the org.
    pub async fn list(&self, caller: &Caller, agent: AgentId) -> Result<Vec<Binding>> {
        see_agent(caller, agent)?;
        self.deps.store.bindings(caller.org_id(), agent).await
    }

    pub async fn get(&self, caller: &Caller, agent: AgentId, id: Uuid) -> Result<Binding> {
        see_agent(caller, agent)?;
        let found = self.deps.store.binding(caller.org_id(), id).await?;
        found.filter(|binding| binding.agent_id == agent).ok_or_else(not_found)
    }

    /// Changes config, guardrails, the active flag or the credential source.
    ///
    /// Where the credential goes (config, guardrails) changes only by the human who set the
    /// credential, or with a new credential: an admin who manages the vault but may not read
    /// its secret must not redirect a binding to a host of their own and so read it there.
    pub async fn update(&self, caller: &Caller, agent: AgentId, id: Uuid, draft: BindingDraft) -> Result<Binding> {
        let user = human(caller)?;
        let mut binding = self.get(caller, agent, id).await?;
        let vault = self.managed_vault(caller, binding.vault_id).await?;
        let redirects = draft.config.is_some() || draft.guardrails.is_some();
        if redirects && draft.credential.is_none() && binding.created_by != user {
            return Err(Error::Forbidden(
                "Only the member who set this binding's credential changes where it is sent; give a new credential \
                 with the change"
                    .to_owned(),
            ));
        }
        if let Some(config) = draft.config {
            binding.config = empty_as_object(config);
        }
        if let Some(guardrails) = draft.guardrails {
            binding.guardrails = empty_as_object(guardrails);
        }
        checked_guardrails(binding.binding_type, &binding.config, &binding.guardrails)?;
        if let Some(active) = draft.is_active {
            binding.is_active = active;
        }
        let sealed = match draft.credential {
            Some(input) => {
                binding.created_by = user;
                Some(self.credential(caller, &vault, &mut binding, input).await?)
            }
            None => None,
        };
        binding.updated_at = self.deps.clock.now();
        let event = audit(caller, "binding.update", &binding, binding.updated_at);
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if !change.tx().update_binding(&binding, sealed.as_ref().map(|s| s.as_deref())).await? {
            return Err(not_found());
        }
        change.commit([event]).await?;
        Ok(binding)
    }

    /// Overwrites an inline credential (human only). A `vault_ref` binding's credential is the
    /// secret it points at: rotate that secret instead.
    pub async fn rotate_credential(
        &self,
        caller: &Caller,
        agent: AgentId,
        id: Uuid,
        credential: SecretString,
    ) -> Result<Binding> {
        human(caller)?;
        let binding = self.get(caller, agent, id).await?;
        if let CredentialSource::VaultRef { path } = &binding.credential {
            return Err(Error::Conflict(format!(
                "This binding reads its credential from the secret at {path} in vault {}: store a new version of \
                 that secret (every execution reads the latest)",
                binding.vault_id
            )));
        }
        let draft = BindingDraft { credential: Some(CredentialInput::Inline(credential)), ..BindingDraft::default() };
        let updated = self.update(caller, agent, id, draft).await?;
        let now = self.deps.clock.now();
        self.deps.journal.record(audit(caller, "binding.rotate_credential", &updated, now)).await?;
        Ok(updated)
    }

    pub async fn delete(&self, caller: &Caller, agent: AgentId, id: Uuid) -> Result<()> {
        human(caller)?;
        let binding = self.get(caller, agent, id).await?;
        self.managed_vault(caller, binding.vault_id).await?;
        let now = self.deps.clock.now();
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if !change.tx().delete_binding(caller.org_id(), id).await? {
            return Err(not_found());
        }
        change.commit([audit(caller, "binding.delete", &binding, now)]).await
    }

    /// The vault, which the caller must manage (its owner or an org admin).
    async fn managed_vault(&self, caller: &Caller, vault: VaultId) -> Result<Vault> {
        let access = Access::new(self.deps);
        let vault = access.vault(caller, vault).await?;
        access.manage(caller, &vault).await?;
        Ok(vault)
    }

    /// Sets the binding's credential source; the sealed copy for an inline one.
    async fn credential(
        &self,
        caller: &Caller,
        vault: &Vault,
        binding: &mut Binding,
        input: CredentialInput,
    ) -> Result<Option<Vec<u8>>> {
        match input {
            CredentialInput::Inline(value) => {
                if value.expose().len() > 16 * 1024 {
                    return Err(Error::invalid_field("credential", "must be at most 16,384 bytes"));
                }
                if let Some(problem) = crate::intents::unredactable(value.expose()) {
                    return Err(Error::invalid_field(
                        "credential",
                        format!("{problem}: it could not be redacted reliably from answers"),
                    ));
                }
                binding.credential = CredentialSource::Inline;
                let purpose = credential_purpose(binding.id);
                Ok(Some(self.deps.keys.seal_system_secret(&purpose, value.expose().as_bytes()).await?))
            }
            CredentialInput::VaultRef { vault_id, path } => {
                if vault_id != vault.id {
                    return Err(Error::invalid_field("credential_source.vault_id", "must be the binding's vault"));
                }
                let path = SecretPath::parse(&path)?;
                // The human who points a binding at a secret must be allowed to read it.
                Access::new(self.deps).secret(caller, vault.id, &path, Operation::Read).await?;
                binding.credential = CredentialSource::VaultRef { path: path.as_str().to_owned() };
                Ok(None)
            }
        }
    }
}

fn human(caller: &Caller) -> Result<crate::ids::UserId> {
    caller.principal.user_id().ok_or_else(|| {
        Error::Forbidden(
            "Only humans create and change bindings (an agent that could would choose where its credential goes)"
                .to_owned(),
        )
    })
}

/// The agent itself, or a human of the org.
fn see_agent(caller: &Caller, agent: AgentId) -> Result<()> {
    match caller.principal.agent_id() {
        Some(me) if me != agent => Err(Error::Forbidden("An agent sees only its own bindings".to_owned())),
        _ => Ok(()),
    }
}

fn empty_as_object(value: Value) -> Value {
    if value.is_null() { Value::Object(serde_json::Map::new()) } else { value }
}

pub(crate) fn audit(caller: &Caller, action: &str, binding: &Binding, now: time::OffsetDateTime) -> AuditEvent {
    AuditEvent::by(caller, action, "binding", now)
        .resource(binding.id)
        .detail("agent_id", binding.agent_id.to_string())
        .detail("vault_id", binding.vault_id.to_string())
        .detail("name", binding.name.as_str())
        .detail("binding_type", binding.binding_type.as_str())
        .detail("credential_source", binding.credential.type_name())
        .detail("is_active", binding.is_active)
}

fn not_found() -> Error {
    Error::NotFound("Binding not found".to_owned())
}
