//! The CLI's one error type: what went wrong, worded for the operator, and the exit status
//! it gives (2 for a command given wrongly, 1 for everything else).

use std::process::ExitCode;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The configuration, the store or the domain refused (an invalid setting, an unknown
    /// account, a database that does not answer).
    #[error(transparent)]
    Oneclaw(#[from] oneclaw_core::Error),
    /// An argument or environment variable the command cannot act on.
    #[error("{0}")]
    Usage(String),
    /// The command ran and found something wrong (a broken audit chain).
    #[error("{0}")]
    Found(String),
    /// Writing the command's output failed.
    #[error("cannot write: {0}")]
    Output(#[from] std::io::Error),
    /// The server or the MCP server stopped with an error.
    #[error("server error: {0}")]
    Server(String),
}

pub type CliResult<T = ()> = Result<T, CliError>;

impl CliError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Self::Usage(_) => ExitCode::from(2),
            _ => ExitCode::FAILURE,
        }
    }
}
