//! A typed async client of the oneclaw REST API (the public 1claw API): the one place that
//! speaks HTTP to a oneclaw server. The CLI and `oneclaw mcp` use it.
//!
//! A [`Client`] acts as one principal ([`Credentials`]): a token as given, an agent key
//! (`ocv_`) or a personal API key (`1ck_`) exchanged for short-lived tokens, renewed a minute
//! before they expire and once more if the server refuses one early. Failures are
//! [`ClientError`]s carrying the API's own error code and words (never a secret value).

mod api;
mod auth;
mod error;
mod http;

pub use auth::{Credentials, KeepSession};
pub use error::{ClientError, ClientResult, ErrorCode};
pub use http::{Client, Surface};
