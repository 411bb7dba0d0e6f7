//! The one error type of the domain. Variants are named for what the caller did wrong (or what
//! broke), never for the library that noticed; the server maps each to one HTTP status.

use std::collections::BTreeMap;

/// Result alias for the domain.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong. Messages are shown to clients except for `Internal`, whose text only goes to
/// the log. No message may contain a secret value, key, token or password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Malformed or invalid input (400).
    #[error("{detail}")]
    Invalid { detail: String, fields: Option<BTreeMap<String, String>> },
    /// Missing, invalid or expired credentials (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller is known but may not do this (403).
    #[error("{0}")]
    Forbidden(String),
    /// The thing does not exist, or the caller may not know it exists (404).
    #[error("{0}")]
    NotFound(String),
    /// It conflicts with something that exists (409).
    #[error("{0}")]
    Conflict(String),
    /// It existed but is gone: deleted, expired, used up or disabled (410).
    #[error("{0}")]
    Gone(String),
    /// The org's plan allows no more of this resource (403, type `resource_limit_exceeded`).
    #[error("{0}")]
    ResourceLimit(String),
    /// A human must approve this use first (403, type `approval_required`). `request` is the
    /// approval request to wait on; before one exists, `policy` names the policy asking.
    #[error("{detail}")]
    ApprovalRequired { detail: String, policy: Option<crate::ids::PolicyId>, request: Option<crate::ids::ApprovalId> },
    /// The monthly allowance is used up and this operation must be paid for (402).
    #[error("{0}")]
    PaymentRequired(String),
    /// Too many attempts; try again after the given number of seconds (429).
    #[error("{detail}")]
    TooManyRequests { detail: String, retry_after_secs: i64 },
    /// A dependency (database, key provider) is down; nothing was changed (503).
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an unexpected failure; the text is logged, never sent (500).
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// A 400 with one message.
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::Invalid { detail: detail.into(), fields: None }
    }

    /// A 400 that names the offending field.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::Invalid {
            detail: format!("{field}: {message}"),
            fields: Some(BTreeMap::from([(field.to_owned(), message)])),
        }
    }

    /// The same answer for every credential failure, so it reveals nothing.
    pub fn bad_credentials() -> Self {
        Self::Unauthenticated("Invalid credentials".to_owned())
    }
}
