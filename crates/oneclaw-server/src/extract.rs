//! Request extractors: the authenticated caller, a tolerant JSON body, and raw path parameters.

use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, USER_AGENT};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use oneclaw_core::principal::{Caller, Principal, RequestMeta, Surface};
use serde::de::DeserializeOwned;

const MAX_USER_AGENT_CHARS: usize = 256;

/// Where the request came from.
pub struct Meta(pub RequestMeta);

impl<S: Send + Sync> FromRequestParts<S> for Meta {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(request_meta(parts)))
    }
}

fn request_meta(parts: &Parts) -> RequestMeta {
    let ip = crate::proxy::client_ip(&parts.extensions);
    let user_agent = parts
        .headers
        .get(USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .map(|text| text.chars().take(MAX_USER_AGENT_CHARS).collect());
    // `oneclaw mcp` (stdio) reaches the server through this API and says so, so its calls are
    // recorded as MCP calls. A label the client asserts, like the user agent: it grants nothing.
    let surface = match parts.headers.get(SURFACE_HEADER).and_then(|value| value.to_str().ok()) {
        Some(claimed) if claimed.eq_ignore_ascii_case("mcp") => Surface::Mcp,
        _ => Surface::Api,
    };
    RequestMeta { ip, user_agent, surface }
}

/// The header through which `oneclaw mcp` marks its REST calls as MCP calls.
pub const SURFACE_HEADER: &str = "x-oneclaw-surface";

/// The bearer token of a request, if it has one.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(AUTHORIZATION) else { return Ok(None) };
    let text = value.to_str().map_err(|_| unauthenticated("The Authorization header is not valid text"))?;
    match text.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(Some(token.trim()))
        }
        _ => Err(unauthenticated("The Authorization header must be 'Bearer <token>'")),
    }
}

fn unauthenticated(detail: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, detail)
}

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

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers)?
            .ok_or_else(|| unauthenticated("Authentication required: send a Bearer token"))?;
        let mut caller = state.core.auth().authenticate(token, request_meta(parts)).await?;
        // The payment the metering layer admitted for this request, if any.
        if let Some(charge) = parts.extensions.get::<oneclaw_core::ports::Charge>() {
            caller.charge = charge.clone();
        }
        Ok(Self(caller))
    }
}

/// A caller that may or may not be authenticated (a bearer that is present must be valid).
pub struct MaybeAuth(pub Option<Principal>);

impl FromRequestParts<AppState> for MaybeAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match bearer_token(&parts.headers)? {
            Some(token) => Ok(Self(Some(state.core.auth().verify(token)?))),
            None => Ok(Self(None)),
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
