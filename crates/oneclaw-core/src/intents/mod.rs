//! Execution intents: a binding ties an agent to an outside service (an HTTP API or a PostgreSQL
//! database) and a credential; the server makes the agent's call with the credential injected,
//! inside the binding's guardrails, and redacts it from the answer, so the agent uses the
//! credential without ever holding it.

mod redact;
mod rules;

pub use redact::{MIN_CREDENTIAL_LEN, Redactor, unredactable};
pub use rules::{HttpIntent, HttpRules, Injection, PgRules, SqlIntent, checked_guardrails, host_of};

use crate::ids::{AgentId, OrgId, UserId, VaultId};
use crate::{Error, Result};
use time::OffsetDateTime;
use uuid::Uuid;

/// The intent type of an HTTP binding's calls.
pub const HTTP_REQUEST: &str = "http_request";
/// The intent type of a PostgreSQL binding's statements.
pub const SQL_QUERY: &str = "sql_query";

/// The audit action of an execution (and of a refused one, with outcome `denied`).
pub const EXECUTION_RUN: &str = "execution.run";

/// What a binding talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingType {
    Http,
    Postgres,
}

/// 1claw's binding types this server does not run: named in the refusal so a caller knows.
const UNSUPPORTED_TYPES: &[&str] = &["graphql", "mysql", "redis", "grpc", "smtp", "cloud_sdk", "s3", "custom"];

impl BindingType {
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "http" => Ok(Self::Http),
            "postgres" => Ok(Self::Postgres),
            other if UNSUPPORTED_TYPES.contains(&other) => Err(Error::invalid_field(
                "binding_type",
                format!("{other} bindings are not supported by this server; supported: http, postgres"),
            )),
            other => Err(Error::invalid_field(
                "binding_type",
                format!("unknown binding type {other:?}; supported: http, postgres"),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Postgres => "postgres",
        }
    }

    /// The one intent type this binding runs.
    pub fn intent_type(self) -> &'static str {
        match self {
            Self::Http => HTTP_REQUEST,
            Self::Postgres => SQL_QUERY,
        }
    }
}

/// Where a binding's credential comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// No credential yet (the binding cannot execute until one is set).
    None,
    /// A copy sealed by the key provider, kept with the binding.
    Inline,
    /// A live pointer to a secret in the binding's vault: each execution reads its latest
    /// version, so a rotation applies at once.
    VaultRef { path: String },
}

impl CredentialSource {
    /// `inline`, `vault_ref`, or `None` when no credential is set.
    pub fn type_name(&self) -> Option<&'static str> {
        match self {
            Self::None => None,
            Self::Inline => Some("inline"),
            Self::VaultRef { .. } => Some("vault_ref"),
        }
    }
}

/// A binding as stored (its inline credential, when any, is kept sealed beside it).
#[derive(Debug, Clone)]
pub struct Binding {
    pub id: Uuid,
    pub org_id: OrgId,
    pub agent_id: AgentId,
    pub name: String,
    pub binding_type: BindingType,
    /// The service: for http `base_url` and `auth`; for postgres `host`, `port`, `database`,
    /// `user`, `sslmode`.
    pub config: serde_json::Value,
    /// The limits every execution is held to (`rules.rs` says which and their defaults).
    pub guardrails: serde_json::Value,
    pub is_active: bool,
    /// The vault the binding lives in: its policies decide who may execute it (the path
    /// `bindings/<name>`, permission `execute`), and a `vault_ref` credential is read from it.
    pub vault_id: VaultId,
    pub credential: CredentialSource,
    pub created_by: UserId,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Binding {
    /// The policy path that grants executing this binding.
    pub fn policy_path(&self) -> String {
        policy_path(&self.name)
    }
}

/// The policy path of a binding's name.
pub fn policy_path(name: &str) -> String {
    format!("bindings/{name}")
}

/// A binding name: letters, digits, `.`, `_`, `-`; 1 to 64 characters (it is a policy path
/// segment, and agents name it in `execute`).
pub fn checked_name(name: &str) -> Result<String> {
    let name = name.trim();
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && name != "."
        && name != "..";
    if !ok {
        return Err(Error::invalid_field("name", "must be 1 to 64 letters, digits, '.', '_' or '-'"));
    }
    Ok(name.to_owned())
}

/// One execution as recorded (never the credential, never the bodies).
#[derive(Debug, Clone)]
pub struct Execution {
    pub id: Uuid,
    pub org_id: OrgId,
    pub agent_id: AgentId,
    pub binding_id: Uuid,
    pub intent_type: String,
    /// `running` while the call is made, then `success` or `error`.
    pub status: String,
    /// What was asked: method, host, path (http) or the statement's kind (postgres).
    pub request_summary: serde_json::Value,
    /// What came back: the HTTP status and size, or the row count.
    pub result_summary: Option<serde_json::Value>,
    pub error_message: Option<String>,
    pub duration_ms: i64,
    pub redactions_applied: i64,
    pub created_at: OffsetDateTime,
}

/// The execution-rate limits a reservation is checked against.
#[derive(Debug, Clone, Copy)]
pub struct CallLimits {
    pub per_minute: i64,
    pub per_day: i64,
}
