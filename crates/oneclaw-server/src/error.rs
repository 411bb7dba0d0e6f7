//! The one place a domain error becomes an HTTP status: ProblemDetails JSON (RFC 7807) whose
//! `type` is a stable `ErrorCode` and which names the request (`request_id`, as in the
//! `X-Request-Id` header and the request's log lines). Internal errors are logged with their
//! cause and answered with a generic detail.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use oneclaw_core::Error;
use oneclaw_types::ProblemDetails;
use oneclaw_types::problem::ErrorCode;

/// An error on its way to the client.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    /// The ProblemDetails `type`.
    code: ErrorCode,
    detail: String,
    fields: Option<std::collections::BTreeMap<String, String>>,
    retry_after_secs: Option<i64>,
    approval_request_id: Option<String>,
}

impl ApiError {
    /// An error with an explicit status (for HTTP-level problems the domain never sees).
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        let code = ErrorCode::for_status(status.as_u16());
        Self { status, code, detail: detail.into(), fields: None, retry_after_secs: None, approval_request_id: None }
    }

    /// An error with a code (its status follows from it).
    pub fn with_code(code: ErrorCode, detail: impl Into<String>) -> Self {
        let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self { status, code, detail: detail.into(), fields: None, retry_after_secs: None, approval_request_id: None }
    }

    /// The stable code of the error.
    pub fn code(&self) -> ErrorCode {
        self.code
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

    /// With `approval_required`: the approval request to wait on.
    pub fn approval_request_id(&self) -> Option<&str> {
        self.approval_request_id.as_deref()
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        match err {
            Error::Invalid { detail, fields } => Self { fields, ..Self::with_code(ErrorCode::Validation, detail) },
            Error::Unauthenticated(detail) => Self::with_code(ErrorCode::Unauthenticated, detail),
            Error::Forbidden(detail) => Self::with_code(ErrorCode::Forbidden, detail),
            Error::NotFound(detail) => Self::with_code(ErrorCode::NotFound, detail),
            Error::Conflict(detail) => Self::with_code(ErrorCode::Conflict, detail),
            Error::Gone(detail) => Self::with_code(ErrorCode::Gone, detail),
            Error::ResourceLimit(detail) => Self::with_code(ErrorCode::ResourceLimitExceeded, detail),
            Error::ApprovalRequired { detail, request, .. } => Self {
                approval_request_id: request.map(|id| id.to_string()),
                ..Self::with_code(ErrorCode::ApprovalRequired, detail)
            },
            Error::PaymentRequired(detail) => Self::with_code(ErrorCode::PaymentRequired, detail),
            Error::TooManyRequests { detail, retry_after_secs } => {
                Self { retry_after_secs: Some(retry_after_secs), ..Self::with_code(ErrorCode::RateLimited, detail) }
            }
            Error::Unavailable(detail) => {
                log_unavailable(&detail);
                Self { retry_after_secs: Some(1), ..Self::with_code(ErrorCode::Unavailable, detail) }
            }
            Error::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                Self::with_code(ErrorCode::Internal, "An internal error occurred; it has been logged.")
            }
            other => {
                tracing::error!(cause = %other, "an error the HTTP mapping does not know");
                Self::with_code(ErrorCode::Internal, "An internal error occurred; it has been logged.")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ProblemDetails {
            kind: self.code.as_str().to_owned(),
            title: if self.code.status() == self.status.as_u16() {
                self.code.title().to_owned()
            } else {
                self.status.canonical_reason().unwrap_or("Error").to_owned()
            },
            status: self.status.as_u16(),
            detail: self.detail,
            fields: self.fields,
            request_id: crate::request_context::current_request_id(),
            approval_request_id: self.approval_request_id,
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
    // Wall-clock seconds only pace the log; no decision rests on them.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| i64::try_from(since.as_secs()).unwrap_or(i64::MAX));
    let last = LAST_LOGGED.load(Ordering::Relaxed);
    if now > last && LAST_LOGGED.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
        let suppressed = SUPPRESSED.swap(0, Ordering::Relaxed);
        tracing::warn!(%detail, suppressed, "service unavailable");
    } else {
        SUPPRESSED.fetch_add(1, Ordering::Relaxed);
    }
}
