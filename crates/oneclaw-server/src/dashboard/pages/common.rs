//! What every page handler needs: the signed-in person's email (for the sidebar), the answer
//! to a form without its CSRF token, and an error's words.

use crate::dashboard::session::Session;
use crate::error::ApiError;
use crate::state::AppState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub async fn email(state: &AppState, session: &Session) -> String {
    state.core.auth().me(&session.caller).await.map(|u| u.email).unwrap_or_default()
}

/// What the dashboard says when a paid operation (reveal, write, share link, audit query) past
/// the org's monthly allowance cannot be paid: a browser cannot answer an x402 challenge, so
/// the words say what to do instead. (The core charges the operation itself, with credits.)
pub const ALLOWANCE_USED_UP: &str = "This month's request allowance is used up. An org owner can add prepaid \
     credits (and choose credits as the overage method) or upgrade the plan; see Billing.";

pub fn forbidden_form() -> Response {
    ApiError::new(StatusCode::FORBIDDEN, "This form has expired or did not come from this page; reload and try again.")
        .into_response()
}

/// What the API would say about `err`.
pub fn words(err: oneclaw_core::Error) -> String {
    words_of(&err)
}

/// What the API would say about `err`, from a borrowed error (internal causes stay in the log).
pub fn words_of(err: &oneclaw_core::Error) -> String {
    match err {
        oneclaw_core::Error::Internal(_) => "An internal error occurred; it has been logged.".to_owned(),
        oneclaw_core::Error::PaymentRequired(_) => ALLOWANCE_USED_UP.to_owned(),
        other => other.to_string(),
    }
}

/// A form about one secret path.
#[derive(serde::Deserialize)]
pub struct PathForm {
    pub path: String,
}

/// `url` with the `done` code the dashboard script turns into a notice of what happened.
pub fn done(url: &str, what: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}done={what}")
}

/// Who is who in the caller's org, for tables that name an actor: members by email, agents by
/// name (what the caller may list; anyone else by kind alone).
pub struct Names(std::collections::HashMap<uuid::Uuid, String>);

impl Names {
    pub async fn of(state: &AppState, caller: &oneclaw_core::principal::Caller) -> Self {
        let mut names = std::collections::HashMap::new();
        for member in state.core.team().members(caller).await.unwrap_or_default() {
            names.insert(member.id.0, member.email);
        }
        for agent in state.core.agents().list(caller).await.unwrap_or_default() {
            names.insert(agent.id.0, agent.name);
        }
        Self(names)
    }

    /// "user ada@example.com", "agent deploy-bot", or the kind alone.
    pub fn label(&self, kind: &str, id: Option<uuid::Uuid>) -> String {
        match id.and_then(|id| self.0.get(&id)) {
            Some(name) => format!("{kind} {name}"),
            None => kind.to_owned(),
        }
    }
}
