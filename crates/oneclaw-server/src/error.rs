//! The one place a domain error becomes an HTTP status: ProblemDetails JSON (RFC 7807).
//! Internal errors are logged with their cause and answered with a generic detail.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use oneclaw_core::Error;
use oneclaw_types::ProblemDetails;

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    /// The ProblemDetails `type` (`about:blank` unless a client must tell the case apart).
    kind: &'static str,
    detail: String,
    fields: Option<std::collections::BTreeMap<String, String>>,
    retry_after_secs: Option<i64>,
}

impl ApiError {
    /// An error with an explicit status (for HTTP-level problems the domain never sees).
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self { status, kind: "about:blank", detail: detail.into(), fields: None, retry_after_secs: None }
    }

    /// 400.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    /// The status it will be answered with (the MCP layer reuses this mapping).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// What the client is told.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        let status = match &err {
            Error::Invalid { .. } => StatusCode::BAD_REQUEST,
            Error::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::Gone(_) => StatusCode::GONE,
            Error::ResourceLimit(_) => StatusCode::FORBIDDEN,
            Error::PaymentRequired(_) => StatusCode::PAYMENT_REQUIRED,
            Error::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        match err {
            Error::Invalid { detail, fields } => Self { fields, ..Self::new(status, detail) },
            Error::TooManyRequests { detail, retry_after_secs } => {
                Self { retry_after_secs: Some(retry_after_secs), ..Self::new(status, detail) }
            }
            Error::ResourceLimit(detail) => Self { kind: "resource_limit_exceeded", ..Self::new(status, detail) },
            Error::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                Self::new(status, "An internal error occurred; it has been logged.")
            }
            Error::Unavailable(detail) => {
                log_unavailable(&detail);
                Self { retry_after_secs: Some(1), ..Self::new(status, detail) }
            }
            other => Self::new(status, other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ProblemDetails {
            kind: self.kind.to_owned(),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail,
            fields: self.fields,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(secs) = self.retry_after_secs
            && let Ok(value) = HeaderValue::from_str(&secs.to_string())
        {
            headers.insert(header::RETRY_AFTER, value);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Handler result.
pub type ApiResult<T> = Result<T, ApiError>;

/// Logs a 503 at most once a second, with how many were not logged since: a flood answered
/// 503 (a full password-hashing queue, a stalled dependency) must not flood the log too.
fn log_unavailable(detail: &str) {
    use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
    static LAST_LOGGED: AtomicI64 = AtomicI64::new(0);
    static SUPPRESSED: AtomicU64 = AtomicU64::new(0);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let last = LAST_LOGGED.load(Ordering::Relaxed);
    if now > last && LAST_LOGGED.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
        let suppressed = SUPPRESSED.swap(0, Ordering::Relaxed);
        tracing::warn!(%detail, suppressed, "service unavailable");
    } else {
        SUPPRESSED.fetch_add(1, Ordering::Relaxed);
    }
}
