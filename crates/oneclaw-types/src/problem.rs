//! RFC 7807 ProblemDetails: the body of every error response, and the stable error codes its
//! `type` carries (1claw's where 1claw has one).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What went wrong, as a stable code a client can match on. Mapped once to an HTTP status and
/// ProblemDetails (the server's `error.rs`) and once to MCP error text (the MCP crate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// Malformed or invalid input (400).
    Validation,
    /// The body is over the size limit (413).
    PayloadTooLarge,
    /// Missing, invalid or expired credentials (401).
    Unauthenticated,
    /// Known caller, not allowed (403).
    Forbidden,
    /// The plan allows no more of this resource (403).
    ResourceLimitExceeded,
    /// A human must approve this use first (403).
    ApprovalRequired,
    /// The month's allowance is used up and this operation must be paid for (402).
    PaymentRequired,
    /// Not found, or not the caller's to know about (404).
    NotFound,
    /// The method is not served at this path (405).
    MethodNotAllowed,
    /// Conflicts with something that exists (409).
    Conflict,
    /// Existed, but is gone: deleted, expired, used up or disabled (410).
    Gone,
    /// Too many attempts; `Retry-After` says when to try again (429).
    RateLimited,
    /// A dependency is down or slow; nothing was changed (503).
    Unavailable,
    /// A bug or an unexpected failure (500).
    Internal,
}

impl ErrorCode {
    /// Every code, for tests and docs.
    pub const ALL: [Self; 14] = [
        Self::Validation,
        Self::PayloadTooLarge,
        Self::Unauthenticated,
        Self::Forbidden,
        Self::ResourceLimitExceeded,
        Self::ApprovalRequired,
        Self::PaymentRequired,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::Conflict,
        Self::Gone,
        Self::RateLimited,
        Self::Unavailable,
        Self::Internal,
    ];

    /// The ProblemDetails `type`: the names the 1claw SDKs sort errors by.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Validation => "validation_error",
            Self::PayloadTooLarge => "payload_too_large",
            Self::Unauthenticated => "auth_error",
            Self::Forbidden => "forbidden",
            Self::ResourceLimitExceeded => "resource_limit_exceeded",
            Self::ApprovalRequired => "approval_required",
            Self::PaymentRequired => "payment_required",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict => "conflict",
            Self::Gone => "gone",
            Self::RateLimited => "rate_limit",
            Self::Unavailable => "service_unavailable",
            Self::Internal => "server_error",
        }
    }

    /// The code a ProblemDetails `type` names, if it is one of ours.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|code| code.as_str() == text)
    }

    /// The HTTP status it is answered with.
    pub fn status(self) -> u16 {
        match self {
            Self::Validation => 400,
            Self::Unauthenticated => 401,
            Self::PaymentRequired => 402,
            Self::Forbidden | Self::ResourceLimitExceeded | Self::ApprovalRequired => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::Conflict => 409,
            Self::Gone => 410,
            Self::PayloadTooLarge => 413,
            Self::RateLimited => 429,
            Self::Internal => 500,
            Self::Unavailable => 503,
        }
    }

    /// The ProblemDetails `title`.
    pub fn title(self) -> &'static str {
        match self {
            Self::Validation => "Bad Request",
            Self::PayloadTooLarge => "Payload Too Large",
            Self::Unauthenticated => "Unauthorized",
            Self::Forbidden => "Forbidden",
            Self::ResourceLimitExceeded => "Resource Limit Exceeded",
            Self::ApprovalRequired => "Approval Required",
            Self::PaymentRequired => "Payment Required",
            Self::NotFound => "Not Found",
            Self::MethodNotAllowed => "Method Not Allowed",
            Self::Conflict => "Conflict",
            Self::Gone => "Gone",
            Self::RateLimited => "Too Many Requests",
            Self::Unavailable => "Service Unavailable",
            Self::Internal => "Internal Server Error",
        }
    }

    /// The usual code of an HTTP error status (for answers made outside the domain).
    pub fn for_status(status: u16) -> Self {
        match status {
            400 => Self::Validation,
            401 => Self::Unauthenticated,
            402 => Self::PaymentRequired,
            403 => Self::Forbidden,
            404 => Self::NotFound,
            405 => Self::MethodNotAllowed,
            409 => Self::Conflict,
            410 => Self::Gone,
            413 => Self::PayloadTooLarge,
            429 => Self::RateLimited,
            503 | 504 => Self::Unavailable,
            _ => Self::Internal,
        }
    }
}

/// An error body: `{type, title, status, detail}` plus optional per-field messages and the id
/// of the request (as in its `X-Request-Id` header and its log lines).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProblemDetails {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// With type `approval_required`: the approval request a human decides (1claw's field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_request_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_keep_their_status() {
        let names: std::collections::HashSet<_> = ErrorCode::ALL.iter().map(|code| code.as_str()).collect();
        assert_eq!(names.len(), ErrorCode::ALL.len());
        for code in ErrorCode::ALL {
            assert_ne!(code.as_str(), "about:blank");
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            // A status maps back to its code, except where one status has several.
            if !matches!(code, ErrorCode::ResourceLimitExceeded | ErrorCode::ApprovalRequired) {
                assert_eq!(ErrorCode::for_status(code.status()), code, "{code:?}");
            }
        }
    }
}
