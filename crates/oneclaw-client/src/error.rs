//! The client's one error type: the API's error code and words, or why the server could not be
//! reached.

/// The API's own error codes (`oneclaw_types::problem::ErrorCode`).
pub use oneclaw_types::problem::ErrorCode;

/// A failed call: its category and the service's own words (never a secret value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientError {
    pub kind: ErrorCode,
    pub detail: String,
    /// The HTTP status, when the server answered.
    pub status: Option<u16>,
}

pub type ClientResult<T> = Result<T, ClientError>;

impl ClientError {
    pub fn new(kind: ErrorCode, detail: impl Into<String>) -> Self {
        Self { kind, detail: detail.into(), status: None }
    }

    /// The code of an HTTP status, for an answer that named none.
    pub fn from_status(status: u16, detail: impl Into<String>) -> Self {
        let kind = match status {
            422 => ErrorCode::Validation,
            500..=599 => ErrorCode::Unavailable,
            other => ErrorCode::for_status(other),
        };
        Self { kind, detail: detail.into(), status: Some(status) }
    }

    /// The server could not be reached, or answered what no client expects.
    pub fn unreachable(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, detail)
    }

    /// True when no answer came (the network, TLS, a refused connection).
    pub fn is_network(&self) -> bool {
        self.status.is_none() && self.kind == ErrorCode::Unavailable
    }
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for ClientError {}
