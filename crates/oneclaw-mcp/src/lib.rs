//! The 1claw MCP server for oneclaw: thirteen vault tools and the `vault://secrets` resource,
//! with the 1claw server's tool names, input schemas and answers, on rmcp.
//!
//! - `backend`: the `VaultBackend` port the tools run against, and its error categories;
//! - `http_backend`: the port over a oneclaw server's REST API (for `oneclaw mcp` on stdio);
//! - `tools`: the tools and the resource (`VaultTools`), acting per call as an `AgentSession`;
//! - `args` / `format`: the input schemas and the output texts;
//! - `stdio`: configuration from the environment and the stdio transport.
//!
//! The hosted transport (streamable HTTP at `/mcp`) is mounted by `oneclaw-server`, which
//! authenticates each request and calls the core services in-process.

pub mod args;
pub mod backend;
mod format;
pub mod http_backend;
pub mod stdio;
pub mod tools;

pub use backend::{BackendError, BackendResult, ErrorCode, VaultBackend};
pub use tools::{AgentSession, SECRETS_RESOURCE, VaultTools};
