//! The CLI's one error type: what went wrong, worded for the person or script, and the exit
//! status it gives. The statuses are documented (docs/CLI.md): 0 ok, 1 usage (a wrong argument
//! or a missing setting: MCP clients already read 1 as "not configured"), 2 authentication,
//! 3 not found or forbidden, 4 the server or the network.

use oneclaw_client::{ClientError, ErrorCode};
use std::process::ExitCode;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The configuration, the store or the domain refused (an invalid setting, an unknown
    /// account, a database that does not answer).
    #[error(transparent)]
    Oneclaw(#[from] oneclaw_core::Error),
    /// A command-line argument the command cannot act on.
    #[error("{0}")]
    Usage(String),
    /// An environment setting the command needs is missing or cannot be read.
    #[error("{0}")]
    Setting(String),
    /// The command ran and found something wrong (a broken audit chain).
    #[error("{0}")]
    Found(String),
    /// Writing the command's output failed.
    #[error("cannot write: {0}")]
    Output(#[from] std::io::Error),
    /// The server or the MCP server stopped with an error.
    #[error("server error: {0}")]
    Server(String),
    /// Not signed in, or the credentials were refused.
    #[error("{0}")]
    Auth(String),
    /// A oneclaw server refused or failed a call.
    #[error("{}", api_words(.0))]
    Api(ClientError),
    /// The child process of `oneclaw run` could not start.
    #[error("{0}")]
    Spawn(String),
}

pub type CliResult<T = ()> = Result<T, CliError>;

impl From<ClientError> for CliError {
    fn from(err: ClientError) -> Self {
        Self::Api(err)
    }
}

impl CliError {
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            Self::Auth(_) => 2,
            Self::Api(err) => match err.kind {
                ErrorCode::Unauthenticated => 2,
                ErrorCode::Forbidden
                | ErrorCode::NotFound
                | ErrorCode::Gone
                | ErrorCode::ResourceLimitExceeded
                | ErrorCode::ApprovalRequired
                | ErrorCode::PaymentRequired => 3,
                ErrorCode::Unavailable | ErrorCode::Internal | ErrorCode::RateLimited => 4,
                ErrorCode::Validation
                | ErrorCode::PayloadTooLarge
                | ErrorCode::Conflict
                | ErrorCode::MethodNotAllowed => 1,
            },
            Self::Spawn(_) => 4,
            // `serve` and `mcp` keep exiting 1 when they stop on an error: MCP clients and the
            // compatibility suite read it as "not configured or not reachable".
            Self::Server(_)
            | Self::Oneclaw(_)
            | Self::Usage(_)
            | Self::Setting(_)
            | Self::Found(_)
            | Self::Output(_) => 1,
        })
    }
}

/// One line that says what to do next.
fn api_words(err: &ClientError) -> String {
    let detail = err.detail.trim_end_matches('.');
    match err.kind {
        ErrorCode::Unauthenticated => {
            format!("not signed in or the credentials were refused ({detail}); run `oneclaw login` again")
        }
        ErrorCode::Forbidden => format!("forbidden: {detail}; ask the vault's owner for a policy that allows it"),
        ErrorCode::PaymentRequired => format!(
            "payment required: {detail}; an org owner can add prepaid credits or upgrade the plan (Billing in the dashboard)"
        ),
        _ if err.is_network() => {
            format!("{detail}; check the server URL (--url or ONECLAW_BASE_URL) and that it is running")
        }
        _ => detail.to_owned(),
    }
}
