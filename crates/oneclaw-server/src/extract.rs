//! Request extractors: the caller the identity layer found (`identity.rs`), a tolerant JSON
//! body, and raw path parameters.

use crate::error::ApiError;
use crate::identity::{self, Identity};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use oneclaw_core::principal::{Caller, Principal, RequestMeta};
use serde::de::DeserializeOwned;

/// Where the request came from (as the identity layer found it).
pub struct Meta(pub RequestMeta);

impl<S: Send + Sync> FromRequestParts<S> for Meta {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(identity::meta_of(&parts.extensions)))
    }
}

pub use crate::identity::{SURFACE_HEADER, bearer_token};

/// An authenticated caller with a token that is not limited by scopes; answers 401 without a
/// valid bearer token. A human token limited by its API key's scopes may do secret operations
/// within them and nothing else (`SecretAuth`): here it is refused with 403, whatever the
/// route, so no handler can forget the check.
pub struct Auth(pub Caller);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let SecretAuth(caller) = SecretAuth::from_request_parts(parts, state).await?;
        if caller.principal.is_scoped_user() {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "This token comes from an API key limited to secret paths by its scopes; it may read and write \
                 secrets within them and nothing else",
            ));
        }
        Ok(Self(caller))
    }
}

/// An authenticated caller for secret operations (and the vault reads they need): scoped
/// tokens are admitted, and the access layer holds them to their scopes.
pub struct SecretAuth(pub Caller);

impl FromRequestParts<AppState> for SecretAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        match identity::identity_of(&parts.extensions) {
            Identity::Caller(caller) => {
                let mut caller = *caller;
                // The payment the metering layer admitted for this request, if any.
                if let Some(charge) = parts.extensions.get::<oneclaw_core::ports::Charge>() {
                    caller.charge = charge.clone();
                }
                Ok(Self(caller))
            }
            Identity::Refused(refused) => Err(refused),
            Identity::Anonymous => Err(identity::unauthenticated("Authentication required: send a Bearer token")),
        }
    }
}

/// A caller that may or may not be authenticated (a credential that is present must be valid).
pub struct MaybeAuth(pub Option<Principal>);

impl FromRequestParts<AppState> for MaybeAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        match identity::identity_of(&parts.extensions) {
            Identity::Caller(caller) => Ok(Self(Some(caller.principal))),
            Identity::Refused(refused) => Err(refused),
            Identity::Anonymous => Ok(Self(None)),
        }
    }
}

/// A JSON body. An empty body counts as absent (the SDKs send `Content-Type: application/json`
/// with no body); unknown fields are ignored; errors are 400s that say what is wrong, and a body
/// over the limit is a 413.
pub struct JsonBody<T>(pub Option<T>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "The request body is too large")
            } else {
                ApiError::bad_request("The request body could not be read")
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| body_error(&err))?;
        deserializer
            .end()
            .map_err(|_| ApiError::bad_request("The request body is not valid JSON: trailing characters"))?;
        Ok(Self(Some(value)))
    }
}

/// Describes a body that did not parse, naming the field but never echoing a value (the value
/// may be a secret sent in the wrong shape).
fn body_error(err: &serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let inner = err.inner();
    if !matches!(inner.classify(), serde_json::error::Category::Data) {
        return ApiError::bad_request(format!(
            "The request body is not valid JSON (line {}, column {})",
            inner.line(),
            inner.column()
        ));
    }
    let message = redact_literal(&inner.to_string());
    let path = err.path().to_string();
    if path == "." {
        ApiError::bad_request(format!("The request body is invalid: {message}"))
    } else {
        ApiError::bad_request(format!("The request body field '{path}' is invalid: {message}"))
    }
}

/// `invalid type: string "hunter2", expected i64 at line 1 column 9` becomes
/// `invalid type: string, expected i64`.
fn redact_literal(message: &str) -> String {
    let message = message.split(" at line ").next().unwrap_or(message);
    for prefix in ["invalid type: ", "invalid value: ", "invalid length "] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((found, expected)) = rest.split_once(", expected ")
        {
            let kind = found.split([' ', '`', '"']).next().unwrap_or("value");
            return format!("{prefix}{kind}, expected {expected}");
        }
    }
    message.to_owned()
}

impl<T> JsonBody<T> {
    /// The body, or a 400 naming what was expected.
    pub fn required(self) -> Result<T, ApiError> {
        self.0.ok_or_else(|| ApiError::bad_request("A JSON request body is required"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_name_the_field_but_not_the_value() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Body {
            count: i64,
        }
        let mut de = serde_json::Deserializer::from_slice(br#"{"count": "hunter2-secret"}"#);
        let err = serde_path_to_error::deserialize::<_, Body>(&mut de).unwrap_err();
        let text = body_error(&err).into_response_text();
        assert!(text.contains("count"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    impl ApiError {
        fn into_response_text(self) -> String {
            format!("{self:?}")
        }
    }
}
