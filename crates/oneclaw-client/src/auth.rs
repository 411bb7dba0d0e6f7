//! Who a client acts as, and the short-lived token it holds for that.

use oneclaw_types::SecretString;
use std::time::Instant;

/// How the client proves who it is.
pub enum Credentials {
    /// A bearer token, used as is until it expires.
    Token(SecretString),
    /// An `ocv_` agent key (and optionally the agent's id), exchanged at
    /// `POST /v1/auth/agent-token` as needed.
    AgentKey { agent_id: Option<String>, api_key: SecretString },
    /// A `1ck_` personal API key, exchanged at `POST /v1/auth/api-key-token` as needed.
    ApiKey(SecretString),
}

impl Credentials {
    /// True for credentials the client exchanges itself (and so can renew).
    pub fn renewable(&self) -> bool {
        !matches!(self, Self::Token(_))
    }
}

/// An exchanged token and when to renew it.
pub(crate) struct Issued {
    pub(crate) token: SecretString,
    pub(crate) renew_at: Instant,
}
