//! Who an MCP request acts as: the agent the identity layer found (`identity.rs`: an agent
//! token, or an `ocv_` agent key exchanged there), and the vault `X-Vault-ID` names (optional
//! when the agent is bound to exactly one). Anything else is answered 401 before the MCP layer
//! sees the request. Every request is checked again: revocations and key rotations apply at
//! once.

use super::backend::CoreBackend;
use crate::error::ApiError;
use crate::identity::{Identity, identity_of, unauthenticated};
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use oneclaw_core::ports::Charge;
use oneclaw_core::principal::{Caller, PrincipalKind};
use oneclaw_mcp::AgentSession;
use std::sync::Arc;
use uuid::Uuid;

/// The admission layer's state.
#[derive(Clone)]
pub struct Admissions {
    state: AppState,
}

impl Admissions {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

/// The agent the identity layer found, and the vault it names.
fn admitted(identity: Identity, headers: &HeaderMap) -> Result<(Caller, Option<Uuid>), ApiError> {
    let caller = match identity {
        Identity::Caller(caller) => *caller,
        Identity::Refused(refused) => return Err(refused),
        Identity::Anonymous => {
            return Err(unauthenticated("Missing Authorization header (Bearer <agent token or ocv_ key>)"));
        }
    };
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

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// Admits the request as an agent (or answers 401) and hands the MCP layer its session.
pub async fn admit(State(admissions): State<Admissions>, mut request: Request, next: Next) -> Response {
    let (mut caller, vault) = match admitted(identity_of(request.extensions()), request.headers()) {
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
    if let Some(usage) = &usage {
        // Past the allowance, a paid tool spends credits or is refused (an MCP client cannot
        // answer an x402 challenge): the core charges it, the tool's words say what to do.
        caller.charge =
            Charge::metered(usage.over_allowance(), None, request.method().as_str(), request.uri().path(), None);
    }
    let backend = CoreBackend::new(admissions.state.core.clone(), caller, host);
    request.extensions_mut().insert(AgentSession { backend: Arc::new(backend), vault_id });
    let mut response = next.run(request).await;
    if let Some(usage) = usage {
        crate::billing::quota_headers(response.headers_mut(), &usage);
    }
    response
}
