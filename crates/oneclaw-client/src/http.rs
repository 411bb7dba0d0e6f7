//! The HTTP side: one reqwest client, the bearer token (exchanged and renewed), and answers read
//! into types or into the API's ProblemDetails.

use crate::auth::{Credentials, Issued};
use crate::error::{ClientError, ClientResult, ErrorCode};
use oneclaw_types::SecretString;
use oneclaw_types::surface::SURFACE_HEADER;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;
use serde::de::DeserializeOwned;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Renew an exchanged token this long before it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(60);

/// Characters left as they are in a path segment or a query value.
pub(crate) const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Which door the calls are recorded under in the server's audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// `oneclaw mcp` on a model's behalf.
    Mcp,
    /// The `oneclaw` command for people and CI jobs.
    Cli,
}

impl Surface {
    fn header(self) -> &'static str {
        match self {
            Self::Mcp => "mcp",
            Self::Cli => "cli",
        }
    }
}

/// The REST API of one server, as one principal.
pub struct Client {
    http: reqwest::Client,
    base: String,
    credentials: Credentials,
    surface: Surface,
    issued: Mutex<Option<Issued>>,
    /// A session's newest refresh token, once this client has used the first one.
    refreshed: Mutex<Option<SecretString>>,
}

#[derive(serde::Deserialize)]
struct TokenAnswer {
    access_token: SecretString,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(serde::Deserialize)]
struct RefreshAnswer {
    access_token: SecretString,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<SecretString>,
}

#[derive(serde::Deserialize)]
struct Problem {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    detail: Option<String>,
}

impl Client {
    pub fn new(base_url: &str, credentials: Credentials, surface: Surface) -> Self {
        oneclaw_types::tls::install_provider();
        let agent = match surface {
            Surface::Mcp => concat!("oneclaw-mcp/", env!("CARGO_PKG_VERSION")),
            Surface::Cli => concat!("oneclaw-cli/", env!("CARGO_PKG_VERSION")),
        };
        Self {
            // No redirects: a 307 would carry a key exchange's body to another origin.
            http: reqwest::Client::builder()
                .user_agent(agent)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            base: base_url.trim_end_matches('/').to_owned(),
            credentials,
            surface,
            issued: Mutex::new(None),
            refreshed: Mutex::new(None),
        }
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Checks the credentials now (so a bad key stops start-up, not the first call).
    pub async fn sign_in(&self) -> ClientResult<()> {
        self.bearer(false).await.map(|_| ())
    }

    async fn bearer(&self, renew: bool) -> ClientResult<SecretString> {
        let (path, body) = match &self.credentials {
            Credentials::Token(token) => return Ok(token.clone()),
            Credentials::Session { refresh_token, access, keep } => {
                return self.session_bearer(refresh_token, access, keep.as_ref(), renew).await;
            }
            Credentials::AgentKey { agent_id, api_key } => {
                let mut body = serde_json::json!({ "api_key": api_key.expose() });
                if let Some(agent_id) = agent_id {
                    body["agent_id"] = serde_json::Value::String(agent_id.clone());
                }
                ("/v1/auth/agent-token", body)
            }
            Credentials::ApiKey(api_key) => {
                ("/v1/auth/api-key-token", serde_json::json!({ "api_key": api_key.expose() }))
            }
        };
        let mut issued = self.issued.lock().await;
        if let Some(current) = issued.as_ref()
            && !renew
            && Instant::now() < current.renew_at
        {
            return Ok(current.token.clone());
        }
        let answer: TokenAnswer = self.call_public(path, body).await?;
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(3600));
        let renew_at = Instant::now() + lifetime.saturating_sub(RENEW_BEFORE);
        *issued = Some(Issued { token: answer.access_token.clone(), renew_at });
        Ok(answer.access_token)
    }

    /// A session's access token: the stored one while fresh, else a refresh, whose new pair is
    /// handed to `keep` (the refresh token is replaced by each use).
    async fn session_bearer(
        &self,
        refresh_token: &SecretString,
        access: &Option<(SecretString, std::time::SystemTime)>,
        keep: &crate::auth::KeepSession,
        renew: bool,
    ) -> ClientResult<SecretString> {
        let mut issued = self.issued.lock().await;
        if let Some(current) = issued.as_ref()
            && !renew
            && Instant::now() < current.renew_at
        {
            return Ok(current.token.clone());
        }
        if issued.is_none()
            && !renew
            && let Some((token, expires)) = access
            && let Ok(left) = expires.duration_since(std::time::SystemTime::now())
            && left > RENEW_BEFORE
        {
            let renew_at = Instant::now() + left.saturating_sub(RENEW_BEFORE);
            *issued = Some(Issued { token: token.clone(), renew_at });
            return Ok(token.clone());
        }
        // A refresh token already used by this client was replaced; the newest one is kept in
        // `self.refreshed`.
        let current = self.refreshed.lock().await.clone().unwrap_or_else(|| refresh_token.clone());
        let body = serde_json::json!({ "refresh_token": current.expose() });
        let answer: RefreshAnswer = self.call_public("/v1/auth/refresh", body).await?;
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(900));
        let expires = std::time::SystemTime::now() + lifetime;
        if let Some(next) = &answer.refresh_token {
            keep(next, &answer.access_token, expires);
            *self.refreshed.lock().await = Some(next.clone());
        }
        let renew_at = Instant::now() + lifetime.saturating_sub(RENEW_BEFORE);
        *issued = Some(Issued { token: answer.access_token.clone(), renew_at });
        Ok(answer.access_token)
    }

    /// A POST that needs no bearer token (token exchanges, refreshes, the device flow).
    pub(crate) async fn call_public<T: DeserializeOwned>(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> ClientResult<T> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header(SURFACE_HEADER, self.surface.header())
            .json(&body)
            .send()
            .await
            .map_err(unreachable)?;
        read(response).await
    }

    /// One authenticated call; `path` starts with `/v1/` and is already encoded.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> ClientResult<T> {
        let mut renewed = false;
        loop {
            let token = self.bearer(renewed).await?;
            let mut request = self
                .http
                .request(method.clone(), format!("{}{path}", self.base))
                .bearer_auth(token.expose())
                .header(SURFACE_HEADER, self.surface.header());
            if let Some(body) = &body {
                request = request.json(body);
            }
            let response = request.send().await.map_err(unreachable)?;
            // A token refused early (revoked, rotated key) is renewed once.
            if response.status().as_u16() == 401 && !renewed && self.credentials.renewable() {
                renewed = true;
                continue;
            }
            return read(response).await;
        }
    }

    pub(crate) async fn call_empty(&self, method: Method, path: &str) -> ClientResult<()> {
        let _: serde_json::Value = self.call(method, path, None).await?;
        Ok(())
    }
}

fn unreachable(err: reqwest::Error) -> ClientError {
    // The innermost cause says why: a refused connection, an untrusted certificate…
    let err = err.without_url();
    let cause =
        std::iter::successors(Some(&err as &dyn std::error::Error), |e| e.source()).last().map(|e| e.to_string());
    ClientError::unreachable(format!("the vault service could not be reached ({})", cause.unwrap_or_default()))
}

/// The body of a 2xx answer (an empty one reads as JSON null), or the answer's error.
async fn read<T: DeserializeOwned>(response: reqwest::Response) -> ClientResult<T> {
    let status = response.status().as_u16();
    let bytes = response.bytes().await.map_err(unreachable)?;
    if (200..300).contains(&status) {
        let bytes: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
        return serde_json::from_slice(bytes)
            .map_err(|err| ClientError::unreachable(format!("unexpected answer from the vault service: {err}")));
    }
    let problem = serde_json::from_slice::<Problem>(&bytes).ok();
    let code = problem.as_ref().and_then(|problem| problem.kind.as_deref()).and_then(ErrorCode::parse);
    let detail = problem.and_then(|problem| problem.detail).unwrap_or_else(|| format!("HTTP {status}"));
    // The server's own code, when it sent one; else the status's usual one.
    Err(match code {
        Some(kind) => ClientError { kind, detail, status: Some(status) },
        None => ClientError::from_status(status, detail),
    })
}

/// `?name=value&…` with the values encoded (a branch may hold `/`, `&`, `#`); empty when none.
pub(crate) fn query(pairs: &[(&str, Option<&str>)]) -> String {
    let encoded: Vec<String> = pairs
        .iter()
        .filter_map(|(name, value)| value.map(|v| format!("{name}={}", utf8_percent_encode(v, SEGMENT))))
        .collect();
    if encoded.is_empty() { String::new() } else { format!("?{}", encoded.join("&")) }
}

/// `/v1/vaults/{vault}/{kind}/{path}` with each path segment encoded and the `/` kept. A path
/// with an empty, `.` or `..` segment is refused here: URL resolution would otherwise turn
/// `../..` into another route of the API before the server could refuse it.
pub(crate) fn secret_url(vault: uuid::Uuid, kind: &str, path: &str) -> ClientResult<String> {
    if path.split('/').any(|segment| segment.is_empty() || segment == "." || segment == "..") {
        return Err(ClientError::new(
            ErrorCode::Validation,
            "a secret path is segments separated by '/', none of them empty, '.' or '..'",
        ));
    }
    let encoded: Vec<String> =
        path.split('/').map(|segment| utf8_percent_encode(segment, SEGMENT).to_string()).collect();
    Ok(format!("/v1/vaults/{vault}/{kind}/{}", encoded.join("/")))
}

/// One path segment, encoded.
pub(crate) fn segment(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_never_reach_the_server() {
        let vault = uuid::Uuid::nil();
        for bad in ["../..", "a/../b", ".", "a//b", "", "a/."] {
            assert!(secret_url(vault, "secrets", bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            secret_url(vault, "secrets", "db/pass word.v1").ok(),
            Some(format!("/v1/vaults/{vault}/secrets/db/pass%20word.v1"))
        );
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(
            query(&[("environment", Some("preview")), ("git_branch", Some("a/b&c+d"))]),
            "?environment=preview&git_branch=a%2Fb%26c%2Bd"
        );
        assert_eq!(query(&[("prefix", None)]), "");
    }
}
