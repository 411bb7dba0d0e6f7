//! A dashboard form post, accepted only with the session's CSRF token: handlers take
//! `Posted<T>` and never check the token themselves, so no new form can forget to.

use crate::dashboard::pages::common::forbidden_form;
use crate::dashboard::session::Session;
use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// The signed-in session and the fields of a form that echoed its CSRF token.
pub struct Posted<T = NoFields> {
    pub session: Session,
    pub form: T,
}

/// A form with nothing but its CSRF token (a button).
#[derive(Deserialize)]
pub struct NoFields {}

#[derive(Deserialize)]
struct CsrfField {
    /// Missing counts as wrong: the answer is the same 403.
    #[serde(default)]
    csrf: String,
}

impl<T: DeserializeOwned> FromRequest<AppState> for Posted<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        // Not signed in: to the sign-in page, before the body is read.
        let session = Session::from_request_parts(&mut parts, state).await?;
        let body = Bytes::from_request(Request::from_parts(parts, body), state).await.map_err(|e| e.into_response())?;
        let token = serde_html_form::from_bytes::<CsrfField>(&body).map(|f| f.csrf).unwrap_or_default();
        if !session.csrf_ok(&token) {
            return Err(forbidden_form());
        }
        // The parser's words may quote a field's value (a password, say): they stay unsaid.
        let form = serde_html_form::from_bytes::<T>(&body).map_err(|_| {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "This form has a missing or malformed field.")
                .into_response()
        })?;
        Ok(Self { session, form })
    }
}
