//! `VaultBackend` over a oneclaw (or 1claw) server's REST API through `oneclaw-client`, as one
//! agent: what `oneclaw mcp` uses on stdio. The client exchanges the agent key for short-lived
//! tokens and renews them; calls are recorded under the surface `mcp`.

use crate::backend::{BackendError, BackendResult, VaultBackend};
use async_trait::async_trait;
use oneclaw_client::{Client, ClientError, Surface};
use oneclaw_types::env_vars::{EnvVarResponse, ResolveEnvVarsResponse};
use oneclaw_types::intents::{BindingResponse, ExecuteRequest, ExecuteResponse};
use oneclaw_types::policies::{PolicyRequest, PolicyResponse};
use oneclaw_types::secrets::{PutSecretRequest, RotateSecretRequest, SecretMetadataResponse, SecretResponse};
use oneclaw_types::sharing::{CreateShareRequest, ShareResponse};
use oneclaw_types::vaults::VaultResponse;
use uuid::Uuid;

/// How the agent proves who it is (a token, or an `ocv_` key exchanged as needed).
pub use oneclaw_client::Credentials;

/// The REST API of one server, as one agent.
pub struct HttpBackend {
    client: Client,
    /// The agent's own id, asked once (bindings are addressed by it).
    agent_id: tokio::sync::OnceCell<Uuid>,
}

fn failed(err: ClientError) -> BackendError {
    BackendError::new(err.kind, err.detail)
}

impl HttpBackend {
    pub fn new(base_url: &str, credentials: Credentials) -> Self {
        Self { client: Client::new(base_url, credentials, Surface::Mcp), agent_id: tokio::sync::OnceCell::new() }
    }

    /// Checks the credentials now (so a bad key stops start-up, not the first tool call).
    pub async fn sign_in(&self) -> BackendResult<()> {
        self.client.sign_in().await.map_err(failed)
    }

    async fn agent_id(&self) -> BackendResult<Uuid> {
        self.agent_id.get_or_try_init(|| async { Ok(self.client.agent_me().await.map_err(failed)?.id) }).await.copied()
    }

    /// The vaults the agent is bound to (empty: every vault its policies reach).
    pub async fn bound_vaults(&self) -> BackendResult<Vec<Uuid>> {
        let me = self.client.agent_me().await.map_err(failed)?;
        Ok(self.client.agent(me.id).await.map_err(failed)?.vault_ids)
    }
}

#[async_trait]
impl VaultBackend for HttpBackend {
    async fn list_secrets(&self, vault: Uuid) -> BackendResult<Vec<SecretMetadataResponse>> {
        self.client.list_secrets(vault, None).await.map_err(failed)
    }

    async fn get_secret(&self, vault: Uuid, path: &str) -> BackendResult<SecretResponse> {
        self.client.get_secret(vault, path).await.map_err(failed)
    }

    async fn put_secret(
        &self,
        vault: Uuid,
        path: &str,
        request: PutSecretRequest,
    ) -> BackendResult<SecretMetadataResponse> {
        self.client.put_secret(vault, path, &request).await.map_err(failed)
    }

    async fn delete_secret(&self, vault: Uuid, path: &str) -> BackendResult<()> {
        self.client.delete_secret(vault, path).await.map_err(failed)
    }

    async fn approval(&self, id: Uuid) -> BackendResult<oneclaw_types::approvals::ApprovalResponse> {
        self.client.approval(id).await.map_err(failed)
    }

    async fn list_versions(&self, vault: Uuid, path: &str) -> BackendResult<Vec<SecretMetadataResponse>> {
        self.client.list_versions(vault, path).await.map_err(failed)
    }

    async fn rotate_generate(
        &self,
        vault: Uuid,
        path: &str,
        request: RotateSecretRequest,
    ) -> BackendResult<SecretMetadataResponse> {
        self.client.rotate_secret(vault, path, &request).await.map_err(failed)
    }

    async fn create_vault(&self, name: &str, description: &str) -> BackendResult<VaultResponse> {
        self.client.create_vault(name, description).await.map_err(failed)
    }

    async fn list_vaults(&self) -> BackendResult<Vec<VaultResponse>> {
        self.client.list_vaults().await.map_err(failed)
    }

    async fn create_policy(&self, vault: Uuid, request: PolicyRequest) -> BackendResult<PolicyResponse> {
        self.client.create_policy(vault, &request).await.map_err(failed)
    }

    async fn share_secret(&self, secret_id: Uuid, request: CreateShareRequest) -> BackendResult<ShareResponse> {
        self.client.share_secret(secret_id, &request).await.map_err(failed)
    }

    async fn list_env_vars(&self, vault: Uuid, environment: Option<&str>) -> BackendResult<Vec<EnvVarResponse>> {
        self.client.list_env_vars(vault, environment).await.map_err(failed)
    }

    async fn resolve_env(
        &self,
        vault: Uuid,
        environment: Option<&str>,
        git_branch: Option<&str>,
    ) -> BackendResult<ResolveEnvVarsResponse> {
        self.client.resolve_env(vault, environment, git_branch).await.map_err(failed)
    }

    async fn list_bindings(&self) -> BackendResult<Vec<BindingResponse>> {
        self.client.bindings(self.agent_id().await?).await.map_err(failed)
    }

    async fn execute_intent(&self, request: ExecuteRequest) -> BackendResult<ExecuteResponse> {
        self.client.execute(self.agent_id().await?, &request).await.map_err(failed)
    }
}
