//! Path and query parameters, read raw and parsed once, with 400s that name the parameter.

use crate::error::ApiError;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use oneclaw_core::ids::VaultId;
use oneclaw_core::path::SecretPath;
use uuid::Uuid;

/// The (percent-decoded) value of a path parameter.
pub fn raw<'a>(params: &'a RawPathParams, name: &str) -> Result<&'a str, ApiError> {
    params
        .iter()
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
        .ok_or_else(|| ApiError::bad_request(format!("missing path parameter {name}")))
}

/// A UUID path parameter.
pub fn uuid(params: &RawPathParams, name: &str) -> Result<Uuid, ApiError> {
    let text = raw(params, name)?;
    Uuid::parse_str(text).map_err(|_| ApiError::bad_request(format!("{name} is not a valid UUID")))
}

/// An optional whole-number query parameter (`limit`, `offset`), `default` when absent or empty.
pub fn int(name: &str, value: Option<&str>, default: i64) -> Result<i64, ApiError> {
    value
        .filter(|v| !v.is_empty())
        .map_or(Ok(default), |v| v.parse().map_err(|_| ApiError::bad_request(format!("{name} must be a whole number"))))
}

/// A secret route, `/v1/vaults/{vault_id}/<kind>/<tail>`, read from the raw request path.
///
/// axum's path extractors percent-decode, and decoding the secret path a second time would turn
/// `%252F` into a separator. So the tail is taken from the URI as sent and decoded exactly once,
/// by `SecretPath::from_url_tail`.
pub struct SecretRoute {
    pub vault: VaultId,
    tail: String,
}

impl<S: Send + Sync> FromRequestParts<S> for SecretRoute {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let mut pieces = parts.uri.path().splitn(6, '/');
        let (Some(""), Some("v1"), Some("vaults"), Some(vault), Some(_kind), Some(tail)) =
            (pieces.next(), pieces.next(), pieces.next(), pieces.next(), pieces.next(), pieces.next())
        else {
            return Err(ApiError::bad_request("expected /v1/vaults/<vault_id>/<route>/<path>"));
        };
        let vault = Uuid::parse_str(vault).map_err(|_| ApiError::bad_request("vault_id is not a valid UUID"))?;
        Ok(Self { vault: VaultId(vault), tail: tail.to_owned() })
    }
}

impl SecretRoute {
    /// The tail as a secret path.
    pub fn path(&self) -> Result<SecretPath, ApiError> {
        Ok(SecretPath::from_url_tail(&self.tail)?)
    }

    /// A tail of the form `<secret path>/<version>`.
    pub fn path_and_version(&self) -> Result<(SecretPath, i64), ApiError> {
        let (path, version) = self
            .tail
            .rsplit_once('/')
            .ok_or_else(|| ApiError::bad_request("expected <path>/<version> after the route"))?;
        let version = version
            .parse::<i64>()
            .ok()
            .filter(|v| *v >= 1)
            .ok_or_else(|| ApiError::bad_request("the version must be a whole number from 1"))?;
        Ok((SecretPath::from_url_tail(path)?, version))
    }
}
