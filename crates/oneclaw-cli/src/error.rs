//! The CLI's one error type: what went wrong, worded for the operator, and the exit status
//! it gives (2 for an argument given wrongly, 1 for everything else, a missing or wrong
//! environment setting included: MCP clients and scripts already read 1 as "not configured").

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
