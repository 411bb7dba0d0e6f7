//! Who an MCP request acts as. `Authorization: Bearer` carries an agent token or an `ocv_`
//! agent key (exchanged here, and the token kept until a minute before it expires, so each
//! request is not a new sign-in); `X-Vault-ID` names the vault (optional when the agent is
//! bound to exactly one). Anything else is answered 401 before the MCP layer sees the request.
//! Every request is checked again: revocations and key rotations apply at once.

use super::backend::CoreBackend;
use crate::error::ApiError;
use crate::extract::bearer_token;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::header::USER_AGENT;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use oneclaw_core::Error;
use oneclaw_core::principal::{Caller, PrincipalKind, RequestMeta, Surface};
use oneclaw_mcp::AgentSession;
use oneclaw_types::SecretString;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

const AGENT_KEY_PREFIX: &str = "ocv_";
/// More cached agent tokens than this and the cache starts over.
const MAX_CACHED_TOKENS: usize = 10_000;

/// An agent token and when (unix seconds) to stop using it.
type CachedToken = (SecretString, i64);

/// The admission layer's state: the core, and agent tokens issued for `ocv_` keys, by the
/// keyed digest of the key (the key itself is never kept).
#[derive(Clone)]
pub struct Admissions {
    state: AppState,
    tokens: Arc<Mutex<HashMap<Vec<u8>, CachedToken>>>,
}

impl Admissions {
    pub fn new(state: AppState) -> Self {
        Self { state, tokens: Arc::new(Mutex::new(HashMap::new())) }
    }

    async fn token_for_key(
        &self,
        key: &str,
        agent_id: Option<Uuid>,
        meta: &RequestMeta,
    ) -> Result<SecretString, Error> {
        let digest = self.state.core.deps().hasher.digest_credential(key);
        let now = self.state.core.deps().clock.now().unix_timestamp();
        if let Ok(tokens) = self.tokens.lock()
            && let Some((token, renew_at)) = tokens.get(&digest)
            && now < *renew_at
        {
            return Ok(token.clone());
        }
        let issued = self.state.core.agents().exchange(meta, &SecretString::new(key.to_owned()), agent_id).await?;
        let token = issued.token.access_token;
        let renew_at = now + (issued.token.expires_in - 60).max(0);
        if let Ok(mut tokens) = self.tokens.lock() {
            if tokens.len() >= MAX_CACHED_TOKENS {
                tokens.clear();
            }
            tokens.insert(digest, (token.clone(), renew_at));
        }
        Ok(token)
    }

    async fn caller(&self, headers: &HeaderMap, meta: RequestMeta) -> Result<(Caller, Option<Uuid>), ApiError> {
        let bearer = bearer_token(headers)?
            .ok_or_else(|| unauthenticated("Missing Authorization header (Bearer <agent token or ocv_ key>)"))?;
        let token = if bearer.starts_with(AGENT_KEY_PREFIX) {
            let agent_id = header(headers, "x-agent-id")
                .map(|id| id.parse().map_err(|_| unauthenticated("X-Agent-ID is not a UUID")))
                .transpose()?;
            self.token_for_key(bearer, agent_id, &meta).await.map_err(ApiError::from)?
        } else {
            SecretString::new(bearer.to_owned())
        };
        let caller = self.state.core.auth().authenticate(token.expose(), meta).await.map_err(ApiError::from)?;
        if caller.principal.who.kind != PrincipalKind::Agent {
            return Err(unauthenticated("MCP is for agents: use an agent token or an ocv_ agent key"));
        }
        let vault = match header(headers, "x-vault-id") {
            Some(id) => Some(id.parse().map_err(|_| unauthenticated("X-Vault-ID is not a UUID"))?),
            None => match caller.principal.vault_ids.as_slice() {
                [only] => Some(*only),
                _ => None,
            },
        };
        Ok((caller, vault))
    }
}

fn unauthenticated(detail: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, detail)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

fn meta_of(request: &Request) -> RequestMeta {
    RequestMeta {
        ip: crate::proxy::client_ip(request.extensions()),
        user_agent: header(request.headers(), USER_AGENT.as_str()).map(|ua| ua.chars().take(256).collect()),
        surface: Surface::Mcp,
    }
}

/// Admits the request as an agent (or answers 401) and hands the MCP layer its session.
pub async fn admit(State(admissions): State<Admissions>, mut request: Request, next: Next) -> Response {
    let meta = meta_of(&request);
    let (caller, vault) = match admissions.caller(request.headers(), meta).await {
        Ok(admitted) => admitted,
        // Bad credentials are 401s; an outage of the store or an IP rule keeps its own status.
        Err(refused) => return refused.into_response(),
    };
    let Some(vault_id) = vault else {
        return unauthenticated("Missing X-Vault-ID header").into_response();
    };
    // One count per MCP request, on the same counter as REST and the dashboard.
    let billing = admissions.state.core.billing();
    let usage = if billing.enabled() {
        match billing.meter(caller.org_id()).await {
            Ok(usage) => Some(usage),
            Err(err) => return ApiError::from(err).into_response(),
        }
    } else {
        None
    };
    let host = admissions.state.link_base(request.headers());
    let over_allowance = usage.is_some_and(|usage| usage.over_allowance());
    let backend = CoreBackend::new(admissions.state.core.clone(), caller, host).over_allowance(over_allowance);
    request.extensions_mut().insert(AgentSession { backend: Arc::new(backend), vault_id });
    let mut response = next.run(request).await;
    if let Some(usage) = usage {
        crate::billing::quota_headers(response.headers_mut(), &usage);
    }
    response
}
