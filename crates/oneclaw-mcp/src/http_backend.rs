//! `VaultBackend` over a oneclaw (or 1claw) server's REST API, as one agent: what `oneclaw mcp`
//! uses on stdio. An agent API key is exchanged for a short-lived token, which is renewed a
//! minute before it expires (and once more if the server refuses it early).

use crate::backend::{BackendError, BackendResult, ErrorCode, VaultBackend};
use async_trait::async_trait;
use oneclaw_types::SecretString;
use oneclaw_types::env_vars::{EnvVarListResponse, EnvVarResponse, ResolveEnvVarsResponse};
use oneclaw_types::policies::{PolicyRequest, PolicyResponse};
use oneclaw_types::secrets::{
    PutSecretRequest, RotateSecretRequest, SecretListResponse, SecretMetadataResponse, SecretResponse,
    SecretVersionListResponse,
};
use oneclaw_types::sharing::{CreateShareRequest, ShareResponse};
use oneclaw_types::vaults::{CreateVaultRequest, VaultListResponse, VaultResponse};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;
use serde::de::DeserializeOwned;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use uuid::Uuid;

/// Marks these calls as MCP calls in the server's audit log (surface `mcp`).
use oneclaw_types::surface::SURFACE_HEADER;

/// Renew an exchanged token this long before it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(60);

/// Characters left as they are in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// How the agent proves who it is.
pub enum Credentials {
    /// A token from `POST /v1/auth/agent-token`, used as is until it expires.
    Token(SecretString),
    /// An `ocv_` agent key (and optionally the agent's id), exchanged for tokens as needed.
    AgentKey { agent_id: Option<String>, api_key: SecretString },
}

struct Issued {
    token: SecretString,
    renew_at: Instant,
}

/// The REST API of one server, as one agent.
pub struct HttpBackend {
    http: reqwest::Client,
    base: String,
    credentials: Credentials,
    issued: Mutex<Option<Issued>>,
}

#[derive(serde::Deserialize)]
struct TokenAnswer {
    access_token: SecretString,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(serde::Deserialize)]
struct Problem {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    detail: Option<String>,
}

impl HttpBackend {
    pub fn new(base_url: &str, credentials: Credentials) -> Self {
        oneclaw_types::tls::install_provider();
        Self {
            http: reqwest::Client::builder()
                .user_agent(concat!("oneclaw-mcp/", env!("CARGO_PKG_VERSION")))
                .build()
                .unwrap_or_default(),
            base: base_url.trim_end_matches('/').to_owned(),
            credentials,
            issued: Mutex::new(None),
        }
    }

    /// Checks the credentials now (so a bad key stops start-up, not the first tool call).
    pub async fn sign_in(&self) -> BackendResult<()> {
        self.bearer(false).await.map(|_| ())
    }

    /// The vaults the agent is bound to (empty: every vault its policies reach).
    pub async fn bound_vaults(&self) -> BackendResult<Vec<Uuid>> {
        let me: oneclaw_types::agents::AgentSelfResponse = self.call(Method::GET, "/v1/agents/me", None).await?;
        let agent: oneclaw_types::agents::AgentResponse =
            self.call(Method::GET, &format!("/v1/agents/{}", me.id), None).await?;
        Ok(agent.vault_ids)
    }

    async fn bearer(&self, renew: bool) -> BackendResult<SecretString> {
        let (agent_id, api_key) = match &self.credentials {
            Credentials::Token(token) => return Ok(token.clone()),
            Credentials::AgentKey { agent_id, api_key } => (agent_id, api_key),
        };
        let mut issued = self.issued.lock().await;
        if let Some(current) = issued.as_ref()
            && !renew
            && Instant::now() < current.renew_at
        {
            return Ok(current.token.clone());
        }
        let mut body = serde_json::json!({ "api_key": api_key.expose() });
        if let Some(agent_id) = agent_id {
            body["agent_id"] = serde_json::Value::String(agent_id.clone());
        }
        let response = self
            .http
            .post(format!("{}/v1/auth/agent-token", self.base))
            .header(SURFACE_HEADER, "mcp")
            .json(&body)
            .send()
            .await
            .map_err(unreachable)?;
        let answer: TokenAnswer = read(response).await?;
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(3600));
        let renew_at = Instant::now() + lifetime.saturating_sub(RENEW_BEFORE);
        *issued = Some(Issued { token: answer.access_token.clone(), renew_at });
        Ok(answer.access_token)
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> BackendResult<T> {
        let mut renewed = false;
        loop {
            let token = self.bearer(renewed).await?;
            let mut request = self
                .http
                .request(method.clone(), format!("{}{path}", self.base))
                .bearer_auth(token.expose())
                .header(SURFACE_HEADER, "mcp");
            if let Some(body) = &body {
                request = request.json(body);
            }
            let response = request.send().await.map_err(unreachable)?;
            // A token refused early (revoked, rotated key) is renewed once.
            if response.status().as_u16() == 401 && !renewed && matches!(self.credentials, Credentials::AgentKey { .. })
            {
                renewed = true;
                continue;
            }
            return read(response).await;
        }
    }

    async fn call_empty(&self, method: Method, path: &str) -> BackendResult<()> {
        let _: serde_json::Value = self.call(method, path, None).await?;
        Ok(())
    }
}

fn unreachable(err: reqwest::Error) -> BackendError {
    // The innermost cause says why: a refused connection, an untrusted certificate…
    let err = err.without_url();
    let cause =
        std::iter::successors(Some(&err as &dyn std::error::Error), |e| e.source()).last().map(|e| e.to_string());
    let cause = cause.unwrap_or_default();
    BackendError::new(ErrorCode::Unavailable, format!("the vault service could not be reached ({cause})"))
}

/// The body of a 2xx answer (an empty one reads as JSON null), or the answer's error.
async fn read<T: DeserializeOwned>(response: reqwest::Response) -> BackendResult<T> {
    let status = response.status().as_u16();
    let bytes = response.bytes().await.map_err(unreachable)?;
    if (200..300).contains(&status) {
        let bytes: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
        return serde_json::from_slice(bytes).map_err(|err| {
            BackendError::new(ErrorCode::Unavailable, format!("unexpected answer from the vault service: {err}"))
        });
    }
    let problem = serde_json::from_slice::<Problem>(&bytes).ok();
    let code = problem.as_ref().and_then(|problem| problem.kind.as_deref()).and_then(ErrorCode::parse);
    let detail = problem.and_then(|problem| problem.detail).unwrap_or_else(|| format!("HTTP {status}"));
    // The server's own code, when it sent one; else the status's usual one.
    Err(match code {
        Some(code) => BackendError::new(code, detail),
        None => BackendError::from_status(status, detail),
    })
}

/// `/v1/vaults/{vault}/{kind}/{path}` with each path segment encoded and the `/` kept. A path
/// with an empty, `.` or `..` segment is refused here: URL resolution would otherwise turn
/// `../..` into another route of the API before the server could refuse it.
/// `?environment=&git_branch=` with the given values encoded (a branch may hold `/`, `&`, `#`).
fn env_query(environment: Option<&str>, git_branch: Option<&str>) -> String {
    let pairs: Vec<String> = [("environment", environment), ("git_branch", git_branch)]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| format!("{name}={}", utf8_percent_encode(v, SEGMENT))))
        .collect();
    if pairs.is_empty() { String::new() } else { format!("?{}", pairs.join("&")) }
}

fn secret_url(vault: Uuid, kind: &str, path: &str) -> BackendResult<String> {
    if path.split('/').any(|segment| segment.is_empty() || segment == "." || segment == "..") {
        return Err(BackendError::new(
            ErrorCode::Validation,
            "a secret path is segments separated by '/', none of them empty, '.' or '..'".to_owned(),
        ));
    }
    let encoded: Vec<String> =
        path.split('/').map(|segment| utf8_percent_encode(segment, SEGMENT).to_string()).collect();
    Ok(format!("/v1/vaults/{vault}/{kind}/{}", encoded.join("/")))
}

fn to_json<T: serde::Serialize>(value: &T) -> BackendResult<serde_json::Value> {
    serde_json::to_value(value).map_err(|err| BackendError::new(ErrorCode::Validation, err.to_string()))
}

#[async_trait]
impl VaultBackend for HttpBackend {
    async fn list_secrets(&self, vault: Uuid) -> BackendResult<Vec<SecretMetadataResponse>> {
        let list: SecretListResponse = self.call(Method::GET, &format!("/v1/vaults/{vault}/secrets"), None).await?;
        Ok(list.secrets)
    }

    async fn get_secret(&self, vault: Uuid, path: &str) -> BackendResult<SecretResponse> {
        self.call(Method::GET, &secret_url(vault, "secrets", path)?, None).await
    }

    async fn list_env_vars(&self, vault: Uuid, environment: Option<&str>) -> BackendResult<Vec<EnvVarResponse>> {
        let path = format!("/v1/vaults/{vault}/env-vars{}", env_query(environment, None));
        let list: EnvVarListResponse = self.call(Method::GET, &path, None).await?;
        Ok(list.env_vars)
    }

    async fn resolve_env(
        &self,
        vault: Uuid,
        environment: Option<&str>,
        git_branch: Option<&str>,
    ) -> BackendResult<ResolveEnvVarsResponse> {
        let path = format!("/v1/vaults/{vault}/env-vars/resolve{}", env_query(environment, git_branch));
        self.call(Method::GET, &path, None).await
    }

    async fn put_secret(
        &self,
        vault: Uuid,
        path: &str,
        request: PutSecretRequest,
    ) -> BackendResult<SecretMetadataResponse> {
        self.call(Method::PUT, &secret_url(vault, "secrets", path)?, Some(to_json(&request)?)).await
    }

    async fn delete_secret(&self, vault: Uuid, path: &str) -> BackendResult<()> {
        self.call_empty(Method::DELETE, &secret_url(vault, "secrets", path)?).await
    }

    async fn list_versions(&self, vault: Uuid, path: &str) -> BackendResult<Vec<SecretMetadataResponse>> {
        let list: SecretVersionListResponse =
            self.call(Method::GET, &secret_url(vault, "secret-versions", path)?, None).await?;
        Ok(list.versions)
    }

    async fn rotate_generate(
        &self,
        vault: Uuid,
        path: &str,
        request: RotateSecretRequest,
    ) -> BackendResult<SecretMetadataResponse> {
        self.call(Method::POST, &secret_url(vault, "secret-rotate", path)?, Some(to_json(&request)?)).await
    }

    async fn create_vault(&self, name: &str, description: &str) -> BackendResult<VaultResponse> {
        let request = CreateVaultRequest { name: name.to_owned(), description: Some(description.to_owned()) };
        self.call(Method::POST, "/v1/vaults", Some(to_json(&request)?)).await
    }

    async fn list_vaults(&self) -> BackendResult<Vec<VaultResponse>> {
        let list: VaultListResponse = self.call(Method::GET, "/v1/vaults", None).await?;
        Ok(list.vaults)
    }

    async fn create_policy(&self, vault: Uuid, request: PolicyRequest) -> BackendResult<PolicyResponse> {
        self.call(Method::POST, &format!("/v1/vaults/{vault}/policies"), Some(to_json(&request)?)).await
    }

    async fn share_secret(&self, secret_id: Uuid, request: CreateShareRequest) -> BackendResult<ShareResponse> {
        self.call(Method::POST, &format!("/v1/secrets/{secret_id}/share"), Some(to_json(&request)?)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_never_reach_the_server() {
        let vault = Uuid::nil();
        for bad in ["../..", "a/../b", ".", "a//b", "", "a/."] {
            assert!(secret_url(vault, "secrets", bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            secret_url(vault, "secrets", "db/pass word.v1").unwrap(),
            format!("/v1/vaults/{vault}/secrets/db/pass%20word.v1")
        );
    }
}
