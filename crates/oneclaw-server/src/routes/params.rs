//! Path and query parameters, read raw and parsed once, with 400s that name the parameter.

use crate::error::ApiError;
use axum::extract::RawPathParams;
use oneclaw_core::path::SecretPath;
use uuid::Uuid;

/// The raw (still percent-encoded) value of a path parameter.
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

/// The secret path in the `{*path}` tail.
pub fn secret_path(params: &RawPathParams) -> Result<SecretPath, ApiError> {
    Ok(SecretPath::from_url_tail(raw(params, "path")?)?)
}

/// A tail of the form `<secret path>/<version>`.
pub fn secret_path_and_version(params: &RawPathParams) -> Result<(SecretPath, i64), ApiError> {
    let tail = raw(params, "path")?;
    let (path, version) =
        tail.rsplit_once('/').ok_or_else(|| ApiError::bad_request("expected <path>/<version> after the route"))?;
    let version = version
        .parse::<i64>()
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| ApiError::bad_request("the version must be a whole number from 1"))?;
    Ok((SecretPath::from_url_tail(path)?, version))
}
