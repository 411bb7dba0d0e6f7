//! Wire types of the oneclaw API, shared by the server, the client, the CLI and the MCP server.
//!
//! Field names follow the public 1claw API exactly. This crate does no I/O. Optional response
//! fields are skipped when absent, because strict clients (the Go SDK) reject unknown or null keys.

pub mod account;
pub mod agents;
pub mod approvals;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod charset;
pub mod env_vars;
pub mod health;
pub mod intents;
pub mod org;
pub mod policies;
pub mod problem;
pub mod secret_string;
pub mod secrets;
pub mod sharing;
pub mod surface;
pub mod tls;
pub mod vaults;
pub mod webhooks;

pub use problem::ProblemDetails;
pub use secret_string::SecretString;

/// RFC 3339 timestamps on the wire, as `time` values in Rust.
pub type Timestamp = time::OffsetDateTime;
