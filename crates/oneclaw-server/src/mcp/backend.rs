//! `VaultBackend` over the core services, in-process, as one authenticated agent (surface
//! `mcp`): the same access checks, audit records and errors as the REST API, without a
//! network hop. Errors take their status from the API's one error map.

use crate::error::ApiError;
use crate::routes::{policies, secrets, shares};
use crate::views;
use async_trait::async_trait;
use oneclaw_core::ids::{SecretId, VaultId};
use oneclaw_core::path::{PathPrefix, SecretPath};
use oneclaw_core::principal::Caller;
use oneclaw_core::{Core, Error};
use oneclaw_mcp::{BackendError, BackendResult, VaultBackend};
use oneclaw_types::env_vars::{EnvVarResponse, ResolveEnvVarsResponse};
use oneclaw_types::policies::{PolicyRequest, PolicyResponse};
use oneclaw_types::secrets::{PutSecretRequest, RotateSecretRequest, SecretMetadataResponse, SecretResponse};
use oneclaw_types::sharing::{CreateShareRequest, ShareResponse};
use oneclaw_types::vaults::VaultResponse;
use uuid::Uuid;

/// The core, as one agent.
pub struct CoreBackend {
    core: Core,
    caller: Caller,
    /// The `Host` the request came to, for share links.
    host: String,
}

impl CoreBackend {
    pub fn new(core: Core, caller: Caller, host: String) -> Self {
        Self { core, caller, host }
    }
}

fn failed(err: Error) -> BackendError {
    let api = ApiError::from(err);
    BackendError::new(api.code(), api.detail())
}

fn path(text: &str) -> BackendResult<SecretPath> {
    SecretPath::parse(text).map_err(failed)
}

#[async_trait]
impl VaultBackend for CoreBackend {
    async fn list_env_vars(&self, vault: Uuid, environment: Option<&str>) -> BackendResult<Vec<EnvVarResponse>> {
        let vars = self.core.env_vars().list(&self.caller, VaultId(vault), environment).await.map_err(failed)?;
        Ok(vars.iter().map(|v| views::env_var(v, None)).collect())
    }

    async fn resolve_env(
        &self,
        vault: Uuid,
        environment: Option<&str>,
        git_branch: Option<&str>,
    ) -> BackendResult<ResolveEnvVarsResponse> {
        let resolved = self
            .core
            .env_vars()
            .resolve(&self.caller, VaultId(vault), environment, git_branch)
            .await
            .map_err(failed)?;
        Ok(views::resolved_env(resolved))
    }

    async fn list_secrets(&self, vault: Uuid) -> BackendResult<Vec<SecretMetadataResponse>> {
        let everything = PathPrefix::parse("").map_err(failed)?;
        let secrets = self.core.secrets().list(&self.caller, VaultId(vault), &everything).await.map_err(failed)?;
        Ok(secrets.iter().map(|s| views::secret_metadata(s, false)).collect())
    }

    async fn get_secret(&self, vault: Uuid, secret: &str) -> BackendResult<SecretResponse> {
        let revealed =
            self.core.secrets().read(&self.caller, VaultId(vault), &path(secret)?, None).await.map_err(failed)?;
        Ok(views::secret(revealed))
    }

    async fn put_secret(
        &self,
        vault: Uuid,
        secret: &str,
        request: PutSecretRequest,
    ) -> BackendResult<SecretMetadataResponse> {
        let stored = self
            .core
            .secrets()
            .put(&self.caller, VaultId(vault), &path(secret)?, secrets::new_secret(request))
            .await
            .map_err(failed)?;
        Ok(views::secret_metadata(&stored, false))
    }

    async fn delete_secret(&self, vault: Uuid, secret: &str) -> BackendResult<()> {
        self.core.secrets().delete(&self.caller, VaultId(vault), &path(secret)?).await.map_err(failed)
    }

    async fn approval(&self, id: Uuid) -> BackendResult<oneclaw_types::approvals::ApprovalResponse> {
        let approvals = self.core.approvals();
        let found = approvals.get(&self.caller, oneclaw_core::ids::ApprovalId(id)).await.map_err(failed)?;
        Ok(crate::routes::approvals::approval(&found, self.core.deps().clock.now()))
    }

    async fn list_versions(&self, vault: Uuid, secret: &str) -> BackendResult<Vec<SecretMetadataResponse>> {
        let versions =
            self.core.secrets().versions(&self.caller, VaultId(vault), &path(secret)?).await.map_err(failed)?;
        Ok(versions.iter().map(|v| views::secret_metadata(v, true)).collect())
    }

    async fn rotate_generate(
        &self,
        vault: Uuid,
        secret: &str,
        request: RotateSecretRequest,
    ) -> BackendResult<SecretMetadataResponse> {
        let stored = self
            .core
            .secrets()
            .rotate(&self.caller, VaultId(vault), &path(secret)?, secrets::rotation(request))
            .await
            .map_err(failed)?;
        Ok(views::secret_metadata(&stored, false))
    }

    async fn create_vault(&self, name: &str, description: &str) -> BackendResult<VaultResponse> {
        let vault = self.core.vaults().create(&self.caller, name, Some(description)).await.map_err(failed)?;
        Ok(views::vault(&vault))
    }

    async fn list_vaults(&self) -> BackendResult<Vec<VaultResponse>> {
        let vaults = self.core.vaults().list(&self.caller).await.map_err(failed)?;
        Ok(vaults.iter().map(views::vault).collect())
    }

    async fn create_policy(&self, vault: Uuid, request: PolicyRequest) -> BackendResult<PolicyResponse> {
        let policy = self
            .core
            .policies()
            .create(&self.caller, VaultId(vault), policies::draft(request))
            .await
            .map_err(failed)?;
        Ok(views::policy(&policy))
    }

    async fn share_secret(&self, secret_id: Uuid, request: CreateShareRequest) -> BackendResult<ShareResponse> {
        let share = self
            .core
            .shares()
            .create(&self.caller, SecretId(secret_id), shares::new_share(request))
            .await
            .map_err(failed)?;
        Ok(shares::share_response(share, &self.host))
    }

    async fn list_bindings(&self) -> BackendResult<Vec<oneclaw_types::intents::BindingResponse>> {
        let agent = self.agent()?;
        let found = self.core.bindings().list(&self.caller, agent).await.map_err(failed)?;
        Ok(found.iter().map(views::binding).collect())
    }

    async fn execute_intent(
        &self,
        request: oneclaw_types::intents::ExecuteRequest,
    ) -> BackendResult<oneclaw_types::intents::ExecuteResponse> {
        let agent = self.agent()?;
        let done = self
            .core
            .executions()
            .execute(&self.caller, agent, views::execute_request(request))
            .await
            .map_err(failed)?;
        Ok(views::executed(done))
    }
}

impl CoreBackend {
    /// The agent this session acts as (bindings are the agent's own).
    fn agent(&self) -> BackendResult<oneclaw_core::ids::AgentId> {
        self.caller.principal.agent_id().ok_or_else(|| {
            BackendError::new(oneclaw_types::problem::ErrorCode::Forbidden, "Only agents execute intents")
        })
    }
}
