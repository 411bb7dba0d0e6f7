//! The port that makes an execution's outside call: an HTTP request or one SQL statement. The
//! server implements it (reqwest, sqlx); core decides what may be called and redacts the answer.

use oneclaw_types::SecretString;
use std::time::Duration;

/// One HTTP request, credential included, to send exactly as given.
#[derive(Debug)]
pub struct HttpCall {
    pub method: String,
    pub url: url::Url,
    /// Header values may hold the credential: the runner never logs them.
    pub headers: Vec<(String, SecretString)>,
    pub body: Vec<u8>,
    pub timeout: Duration,
    pub max_response_bytes: usize,
    /// Whether the target may resolve to a private, loopback or link-local address.
    pub allow_private: bool,
}

/// What the service answered.
#[derive(Debug)]
pub struct HttpAnswer {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

/// One SQL statement to run on a PostgreSQL server.
#[derive(Debug)]
pub struct SqlCall {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    pub password: SecretString,
    pub tls: PgTls,
    /// PEM certificates to trust for `VerifyFull` besides the system's roots.
    pub ca_cert: Option<String>,
    /// Run inside a read-only transaction, so the database itself refuses writes.
    pub read_only: bool,
    pub statement_timeout: Duration,
    pub timeout: Duration,
    pub max_rows: usize,
    /// Rows past this many bytes (as JSON) are dropped, as past `max_rows`.
    pub max_response_bytes: usize,
    pub query: String,
    pub params: Vec<serde_json::Value>,
    pub allow_private: bool,
}

/// How a PostgreSQL connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgTls {
    /// TLS with the certificate checked against the host name (the default).
    VerifyFull,
    /// TLS without checking the certificate: a machine in the middle can read the password.
    Require,
    /// No TLS.
    Disable,
}

/// Rows as JSON values (text where a type has no JSON form).
#[derive(Debug)]
pub struct SqlAnswer {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<serde_json::Value>>,
    /// More rows than `max_rows` (or `max_response_bytes`) were returned; the rest were dropped.
    pub truncated: bool,
    pub rows_affected: u64,
}

/// Why a call did not complete. The message may quote the service, so it is redacted before
/// an agent sees it.
#[derive(Debug)]
pub enum RunFailure {
    /// The target resolved to an address the binding may not reach: nothing was sent.
    Refused(String),
    /// Sent, or tried, and failed: timeout, connection, answer too large, database error.
    Failed(String),
}

#[async_trait::async_trait]
pub trait IntentRunner: Send + Sync + 'static {
    async fn http(&self, call: HttpCall) -> std::result::Result<HttpAnswer, RunFailure>;
    async fn sql(&self, call: SqlCall) -> std::result::Result<SqlAnswer, RunFailure>;

    /// Runs CPU-heavy work (redacting a large answer) where it does not hold up other
    /// requests, a few at a time. Inline by default.
    async fn off_thread(&self, work: Box<dyn FnOnce() + Send>) {
        work();
    }
}
