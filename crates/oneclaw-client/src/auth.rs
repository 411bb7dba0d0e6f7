//! Who a client acts as, and the short-lived token it holds for that.

use oneclaw_types::SecretString;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// How the client proves who it is.
pub enum Credentials {
    /// A bearer token, used as is until it expires.
    Token(SecretString),
    /// An `ocv_` agent key (and optionally the agent's id), exchanged at
    /// `POST /v1/auth/agent-token` as needed.
    AgentKey { agent_id: Option<String>, api_key: SecretString },
    /// A `1ck_` personal API key, exchanged at `POST /v1/auth/api-key-token` as needed.
    ApiKey(SecretString),
    /// A signed-in session (the device flow of `oneclaw login`): its access token while it is
    /// fresh, then `POST /v1/auth/refresh`, which replaces the refresh token. `keep` is given
    /// every new pair, so the caller can store it before using it.
    Session { refresh_token: SecretString, access: Option<(SecretString, SystemTime)>, keep: Arc<KeepSession> },
}

/// Stores a renewed session: the new refresh token, the access token and when it expires.
pub type KeepSession = dyn Fn(&SecretString, &SecretString, SystemTime) + Send + Sync;

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
