//! What every page handler needs: the signed-in person's email (for the sidebar), the answer
//! to a form without its CSRF token, an error's words, and paying for an operation past the
//! allowance.

use crate::dashboard::session::Session;
use crate::error::ApiError;
use crate::state::AppState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use oneclaw_core::billing::PaidOperation;

pub async fn email(state: &AppState, session: &Session) -> String {
    state.core.auth().me(&session.caller).await.map(|u| u.email).unwrap_or_default()
}

/// Past the org's monthly allowance, a paid operation (reveal, write, share link, audit query)
/// spends prepaid credits, as it would through the API. A browser cannot answer an x402
/// challenge, so without credits the operation is refused with words saying what to do.
pub async fn pay(state: &AppState, session: &Session, operation: PaidOperation, what: &str) -> Result<(), String> {
    if !session.over_allowance {
        return Ok(());
    }
    let caller = &session.caller;
    let billing = state.core.billing();
    match billing
        .pay_with_credits(caller.org_id(), caller.principal.who, &caller.meta, operation, "DASHBOARD", what)
        .await
    {
        Ok(true) => Ok(()),
        Ok(false) => Err(ALLOWANCE_USED_UP.to_owned()),
        Err(err) => Err(words(err)),
    }
}

pub const ALLOWANCE_USED_UP: &str = "This month's request allowance is used up. An org owner can add prepaid \
     credits (and choose credits as the overage method) or upgrade the plan; see Billing.";

pub fn forbidden_form() -> Response {
    ApiError::new(StatusCode::FORBIDDEN, "This form has expired or did not come from this page; reload and try again.")
        .into_response()
}

/// What the API would say about `err`.
pub fn words(err: oneclaw_core::Error) -> String {
    ApiError::from(err).detail().to_owned()
}

/// What the API would say about `err`, from a borrowed error (internal causes stay in the log).
pub fn words_of(err: &oneclaw_core::Error) -> String {
    match err {
        oneclaw_core::Error::Internal(_) => "An internal error occurred; it has been logged.".to_owned(),
        other => other.to_string(),
    }
}

/// A form that carries only its CSRF token.
#[derive(serde::Deserialize)]
pub struct CsrfForm {
    /// Missing counts as wrong: the answer is the same 403.
    #[serde(default)]
    pub csrf: String,
}

/// A form about one secret path.
#[derive(serde::Deserialize)]
pub struct PathForm {
    #[serde(default)]
    pub csrf: String,
    pub path: String,
}
