//! The port the tools run against: what an agent may do with a vault, and how it fails.
//!
//! Two implementations: `HttpBackend` (this crate) calls a oneclaw server's REST API, for
//! `oneclaw mcp` over stdio; the server's hosted `/mcp` endpoint calls the core services
//! in-process as the authenticated agent (`oneclaw-server`), so policy, audit and metering are
//! the REST API's own.

use async_trait::async_trait;
use oneclaw_types::approvals::ApprovalResponse;
use oneclaw_types::env_vars::{EnvVarResponse, ResolveEnvVarsResponse};
use oneclaw_types::intents::{BindingResponse, ExecuteRequest, ExecuteResponse};
use oneclaw_types::policies::{PolicyRequest, PolicyResponse};
use oneclaw_types::secrets::{PutSecretRequest, RotateSecretRequest, SecretMetadataResponse, SecretResponse};
use oneclaw_types::sharing::{CreateShareRequest, ShareResponse};
use oneclaw_types::vaults::VaultResponse;
use uuid::Uuid;

/// What went wrong: the API's own error codes (`oneclaw_types::problem::ErrorCode`), which
/// `format::failure` turns into words a model can act on.
pub use oneclaw_types::problem::ErrorCode;

/// A failed backend call: its category and the service's own words (never a secret value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendError {
    pub kind: ErrorCode,
    pub detail: String,
}

impl BackendError {
    pub fn new(kind: ErrorCode, detail: impl Into<String>) -> Self {
        Self { kind, detail: detail.into() }
    }

    /// The code of an HTTP status, for an answer that named none.
    pub fn from_status(status: u16, detail: impl Into<String>) -> Self {
        let kind = match status {
            422 => ErrorCode::Validation,
            500..=599 => ErrorCode::Unavailable,
            other => ErrorCode::for_status(other),
        };
        Self::new(kind, detail)
    }
}

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for BackendError {}

pub type BackendResult<T> = Result<T, BackendError>;

/// What the MCP tools need from a vault service, as one agent.
#[async_trait]
pub trait VaultBackend: Send + Sync + 'static {
    /// Every live secret's latest version, metadata only.
    async fn list_secrets(&self, vault: Uuid) -> BackendResult<Vec<SecretMetadataResponse>>;
    /// The latest version with its value (a fresh read each time; counted and audited).
    async fn get_secret(&self, vault: Uuid, path: &str) -> BackendResult<SecretResponse>;
    /// Stores a new version.
    async fn put_secret(
        &self,
        vault: Uuid,
        path: &str,
        request: PutSecretRequest,
    ) -> BackendResult<SecretMetadataResponse>;
    /// Soft-deletes every version.
    async fn delete_secret(&self, vault: Uuid, path: &str) -> BackendResult<()>;
    /// Every version, metadata only.
    async fn list_versions(&self, vault: Uuid, path: &str) -> BackendResult<Vec<SecretMetadataResponse>>;
    /// A new version with a value the server generates (the agent never sees it).
    async fn rotate_generate(
        &self,
        vault: Uuid,
        path: &str,
        request: RotateSecretRequest,
    ) -> BackendResult<SecretMetadataResponse>;
    /// Creates a vault owned by the agent.
    async fn create_vault(&self, name: &str, description: &str) -> BackendResult<VaultResponse>;
    /// The vaults the agent can see.
    async fn list_vaults(&self) -> BackendResult<Vec<VaultResponse>>;
    /// Creates an access policy on a vault.
    async fn create_policy(&self, vault: Uuid, request: PolicyRequest) -> BackendResult<PolicyResponse>;
    /// Shares a secret (by id) with a user, an agent, an email or a link.
    async fn share_secret(&self, secret_id: Uuid, request: CreateShareRequest) -> BackendResult<ShareResponse>;
    /// The vault's environment variables the agent may read, optionally of one environment;
    /// never values.
    async fn list_env_vars(&self, vault: Uuid, environment: Option<&str>) -> BackendResult<Vec<EnvVarResponse>>;
    /// The KEY=VALUE set of one environment (the agent's own when not named), layered and
    /// limited to what the agent may read; audited and metered like a secret read.
    async fn resolve_env(
        &self,
        vault: Uuid,
        environment: Option<&str>,
        git_branch: Option<&str>,
    ) -> BackendResult<ResolveEnvVarsResponse>;
    /// One of the agent's own approval requests, to see whether a human has decided it.
    async fn approval(&self, id: Uuid) -> BackendResult<ApprovalResponse>;
    /// The agent's execution-intent bindings (names, types, guardrails; never credentials).
    async fn list_bindings(&self) -> BackendResult<Vec<BindingResponse>>;
    /// Runs an intent through one of the agent's bindings: the server makes the call with the
    /// credential and answers with it redacted.
    async fn execute_intent(&self, request: ExecuteRequest) -> BackendResult<ExecuteResponse>;
}
