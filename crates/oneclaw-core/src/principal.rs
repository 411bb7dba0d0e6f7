//! Who is asking, and from where.

use crate::ids::{OrgId, SessionId};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use uuid::Uuid;

/// The two kinds of principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalKind {
    User,
    Agent,
}

impl PrincipalKind {
    /// `user` or `agent`, as on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Agent => "agent",
        }
    }

    /// Parses `user` or `agent`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "user" => Some(Self::User),
            "agent" => Some(Self::Agent),
            _ => None,
        }
    }
}

/// A principal named by kind and id, as stored in `created_by` columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrincipalRef {
    pub kind: PrincipalKind,
    pub id: Uuid,
}

impl PrincipalRef {
    /// A human.
    pub fn user(id: crate::ids::UserId) -> Self {
        Self { kind: PrincipalKind::User, id: id.0 }
    }

    /// The prefixed form `user:<uuid>` that secret responses carry.
    pub fn prefixed(&self) -> String {
        format!("{}:{}", self.kind.as_str(), self.id)
    }

    /// Parses the prefixed form used in JWT `sub` claims.
    pub fn parse_prefixed(text: &str) -> Option<Self> {
        let (kind, id) = text.split_once(':')?;
        Some(Self { kind: PrincipalKind::parse(kind)?, id: Uuid::parse_str(id).ok()? })
    }
}

/// An authenticated caller: what its verified token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub who: PrincipalRef,
    pub org_id: OrgId,
    /// The login session the token belongs to (users); sign-out revokes it.
    pub session_id: Option<SessionId>,
    /// The token's own id.
    pub token_id: Uuid,
    /// When the token stops working (unix seconds).
    pub expires_at: i64,
    /// Path globs the token is limited to; empty means no limit from the token.
    pub scopes: Vec<String>,
    /// Vaults the token is limited to; empty means every vault of the org.
    pub vault_ids: Vec<Uuid>,
    /// The personal API key a user token was exchanged for.
    pub api_key_id: Option<Uuid>,
}

impl Principal {
    /// A token's principal with no session, API key, scopes or vault limits.
    pub fn bare(who: PrincipalRef, org_id: OrgId, expires_at: i64) -> Self {
        Self {
            who,
            org_id,
            session_id: None,
            token_id: Uuid::new_v4(),
            expires_at,
            scopes: Vec::new(),
            vault_ids: Vec::new(),
            api_key_id: None,
        }
    }

    /// The user id, for a human.
    pub fn user_id(&self) -> Option<crate::ids::UserId> {
        (self.who.kind == PrincipalKind::User).then_some(crate::ids::UserId(self.who.id))
    }

    /// The agent id, for an agent.
    pub fn agent_id(&self) -> Option<crate::ids::AgentId> {
        (self.who.kind == PrincipalKind::Agent).then_some(crate::ids::AgentId(self.who.id))
    }
}

impl Principal {
    /// True for a human.
    pub fn is_user(&self) -> bool {
        self.who.kind == PrincipalKind::User
    }

    /// True for a human token limited by its API key's scopes: it may do secret operations
    /// within them and nothing else.
    pub fn is_scoped_user(&self) -> bool {
        self.is_user() && !self.scopes.is_empty()
    }
}

/// Which door a request came through; recorded on every audit event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Surface {
    Api,
    Mcp,
    Dashboard,
    Cli,
}

impl Surface {
    /// The name stored in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Mcp => "mcp",
            Self::Dashboard => "dashboard",
            Self::Cli => "cli",
        }
    }
}

/// Where a request came from, known before anyone is authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestMeta {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub surface: Surface,
    /// The server's id of the request (its `X-Request-Id`), when it came over HTTP.
    pub request_id: Option<String>,
}

impl RequestMeta {
    /// Meta for work the server does on its own behalf (bootstrap, CLI maintenance).
    pub fn internal(surface: Surface) -> Self {
        Self { ip: None, user_agent: None, surface, request_id: None }
    }
}

/// An authenticated request: the principal plus where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub principal: Principal,
    pub meta: RequestMeta,
    /// The payment this request brought, settled by a paid write before it commits.
    pub charge: crate::ports::Charge,
}

impl Caller {
    /// A caller that brought no payment.
    pub fn new(principal: Principal, meta: RequestMeta) -> Self {
        Self { principal, meta, charge: crate::ports::Charge::default() }
    }

    /// The org every resource touched must belong to.
    pub fn org_id(&self) -> OrgId {
        self.principal.org_id
    }
}
