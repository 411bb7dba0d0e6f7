//! The typed calls, one per API operation the clients use.

use crate::error::{ClientError, ClientResult, ErrorCode};
use crate::http::{Client, query, secret_url, segment};
use oneclaw_types::agents::{AgentResponse, AgentSelfResponse};
use oneclaw_types::auth::{DeviceCodeResponse, DeviceSessionResponse, UserProfileResponse};
use oneclaw_types::env_vars::{
    CreateEnvVarRequest, EnvVarListResponse, EnvVarResponse, ResolveEnvVarsResponse, UpdateEnvVarRequest,
};
use oneclaw_types::policies::{PolicyRequest, PolicyResponse};
use oneclaw_types::secrets::{
    PutSecretRequest, RotateSecretRequest, SecretListResponse, SecretMetadataResponse, SecretResponse,
    SecretVersionListResponse,
};
use oneclaw_types::sharing::{CreateShareRequest, ShareResponse};
use oneclaw_types::vaults::{CreateVaultRequest, VaultListResponse, VaultResponse};
use reqwest::Method;
use uuid::Uuid;

fn to_json<T: serde::Serialize>(value: &T) -> ClientResult<serde_json::Value> {
    serde_json::to_value(value).map_err(|err| ClientError::new(ErrorCode::Validation, err.to_string()))
}

impl Client {
    /// Every live secret's latest version, metadata only, optionally under a prefix.
    pub async fn list_secrets(&self, vault: Uuid, prefix: Option<&str>) -> ClientResult<Vec<SecretMetadataResponse>> {
        let path = format!("/v1/vaults/{vault}/secrets{}", query(&[("prefix", prefix)]));
        let list: SecretListResponse = self.call(Method::GET, &path, None).await?;
        Ok(list.secrets)
    }

    /// The latest version with its value (a fresh read each time; counted and audited).
    pub async fn get_secret(&self, vault: Uuid, path: &str) -> ClientResult<SecretResponse> {
        self.call(Method::GET, &secret_url(vault, "secrets", path)?, None).await
    }

    /// Stores a new version.
    pub async fn put_secret(
        &self,
        vault: Uuid,
        path: &str,
        request: &PutSecretRequest,
    ) -> ClientResult<SecretMetadataResponse> {
        self.call(Method::PUT, &secret_url(vault, "secrets", path)?, Some(to_json(request)?)).await
    }

    /// Soft-deletes every version.
    pub async fn delete_secret(&self, vault: Uuid, path: &str) -> ClientResult<()> {
        self.call_empty(Method::DELETE, &secret_url(vault, "secrets", path)?).await
    }

    /// Every version, metadata only.
    /// An approval request (an agent polls its own).
    pub async fn approval(&self, id: Uuid) -> ClientResult<oneclaw_types::approvals::ApprovalResponse> {
        self.call(Method::GET, &format!("/v1/approvals/{id}"), None).await
    }

    pub async fn list_versions(&self, vault: Uuid, path: &str) -> ClientResult<Vec<SecretMetadataResponse>> {
        let list: SecretVersionListResponse =
            self.call(Method::GET, &secret_url(vault, "secret-versions", path)?, None).await?;
        Ok(list.versions)
    }

    /// A new version with a value the server generates.
    pub async fn rotate_secret(
        &self,
        vault: Uuid,
        path: &str,
        request: &RotateSecretRequest,
    ) -> ClientResult<SecretMetadataResponse> {
        self.call(Method::POST, &secret_url(vault, "secret-rotate", path)?, Some(to_json(request)?)).await
    }

    pub async fn create_vault(&self, name: &str, description: &str) -> ClientResult<VaultResponse> {
        let request = CreateVaultRequest { name: name.to_owned(), description: Some(description.to_owned()) };
        self.call(Method::POST, "/v1/vaults", Some(to_json(&request)?)).await
    }

    /// The vaults the caller can see.
    pub async fn list_vaults(&self) -> ClientResult<Vec<VaultResponse>> {
        let list: VaultListResponse = self.call(Method::GET, "/v1/vaults", None).await?;
        Ok(list.vaults)
    }

    pub async fn create_policy(&self, vault: Uuid, request: &PolicyRequest) -> ClientResult<PolicyResponse> {
        self.call(Method::POST, &format!("/v1/vaults/{vault}/policies"), Some(to_json(request)?)).await
    }

    pub async fn share_secret(&self, secret_id: Uuid, request: &CreateShareRequest) -> ClientResult<ShareResponse> {
        self.call(Method::POST, &format!("/v1/secrets/{secret_id}/share"), Some(to_json(request)?)).await
    }

    /// The vault's environment variables the caller may read; never values.
    pub async fn list_env_vars(&self, vault: Uuid, environment: Option<&str>) -> ClientResult<Vec<EnvVarResponse>> {
        let path = format!("/v1/vaults/{vault}/env-vars{}", query(&[("environment", environment)]));
        let list: EnvVarListResponse = self.call(Method::GET, &path, None).await?;
        Ok(list.env_vars)
    }

    /// One environment's variables, layered (shared < vault < branch override).
    pub async fn resolve_env(
        &self,
        vault: Uuid,
        environment: Option<&str>,
        git_branch: Option<&str>,
    ) -> ClientResult<ResolveEnvVarsResponse> {
        let tail = query(&[("environment", environment), ("git_branch", git_branch)]);
        self.call(Method::GET, &format!("/v1/vaults/{vault}/env-vars/resolve{tail}"), None).await
    }

    pub async fn create_env_var(&self, vault: Uuid, request: &CreateEnvVarRequest) -> ClientResult<EnvVarResponse> {
        self.call(Method::POST, &format!("/v1/vaults/{vault}/env-vars"), Some(to_json(request)?)).await
    }

    /// Updates the variable `key` of `environment`.
    pub async fn update_env_var(
        &self,
        vault: Uuid,
        key: &str,
        environment: Option<&str>,
        request: &UpdateEnvVarRequest,
    ) -> ClientResult<EnvVarResponse> {
        let path = format!("/v1/vaults/{vault}/env-vars/{}{}", segment(key), query(&[("environment", environment)]));
        self.call(Method::PATCH, &path, Some(to_json(request)?)).await
    }

    /// The agent the token belongs to.
    /// An agent's execution-intent bindings (never their credentials).
    pub async fn bindings(&self, agent: Uuid) -> ClientResult<Vec<oneclaw_types::intents::BindingResponse>> {
        let list: oneclaw_types::intents::BindingListResponse =
            self.call(Method::GET, &format!("/v1/agents/{agent}/bindings"), None).await?;
        Ok(list.bindings)
    }

    /// Runs an intent through one of the agent's bindings; the answer comes back redacted.
    pub async fn execute(
        &self,
        agent: Uuid,
        request: &oneclaw_types::intents::ExecuteRequest,
    ) -> ClientResult<oneclaw_types::intents::ExecuteResponse> {
        self.call(Method::POST, &format!("/v1/agents/{agent}/execute"), Some(to_json(request)?)).await
    }

    pub async fn agent_me(&self) -> ClientResult<AgentSelfResponse> {
        self.call(Method::GET, "/v1/agents/me", None).await
    }

    pub async fn agent(&self, id: Uuid) -> ClientResult<AgentResponse> {
        self.call(Method::GET, &format!("/v1/agents/{id}"), None).await
    }

    /// Starts the device flow for `email`'s account (no credentials needed).
    pub async fn device_code(&self, client_id: &str, email: &str) -> ClientResult<DeviceCodeResponse> {
        self.call_public("/v1/auth/device/code", serde_json::json!({"client_id": client_id, "email": email})).await
    }

    /// One poll of the device flow.
    pub async fn device_token(&self, device_code: &oneclaw_types::SecretString) -> ClientResult<DeviceSessionResponse> {
        let body = serde_json::json!({
            "device_code": device_code.expose(),
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        });
        // Our route: 1claw's `/v1/auth/device/token` answers no refresh token, and a CLI login
        // must outlive one access token.
        self.call_public("/v1/auth/device/session", body).await
    }

    /// Ends the session behind the current token (its refresh token with it).
    pub async fn sign_out(&self) -> ClientResult<()> {
        self.call_empty(Method::DELETE, "/v1/auth/token").await
    }

    /// The human the token belongs to.
    pub async fn me(&self) -> ClientResult<UserProfileResponse> {
        self.call(Method::GET, "/v1/auth/me", None).await
    }
}
