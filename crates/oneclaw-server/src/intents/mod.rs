//! The outside calls of execution intents (`oneclaw_core::ports::IntentRunner`): HTTP through
//! reqwest, SQL through sqlx's PostgreSQL driver. Both resolve the target once, refuse a
//! private, loopback or link-local address the binding may not reach, and connect only to the
//! addresses they checked, so a DNS answer cannot change between the check and the call.

mod http;
mod sql;

use oneclaw_core::ports::{HttpAnswer, HttpCall, IntentRunner, RunFailure, SqlAnswer, SqlCall};
use oneclaw_core::services::is_public;
use std::net::SocketAddr;

/// The server's intent runner.
pub struct Runner;

#[async_trait::async_trait]
impl IntentRunner for Runner {
    async fn http(&self, call: HttpCall) -> Result<HttpAnswer, RunFailure> {
        http::send(call).await
    }

    async fn sql(&self, call: SqlCall) -> Result<SqlAnswer, RunFailure> {
        sql::run(call).await
    }
}

/// Every address `host` resolves to, once; refused when one is not public and private targets
/// are not allowed for this call.
async fn checked_addresses(host: &str, port: u16, allow_private: bool) -> Result<Vec<SocketAddr>, RunFailure> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<SocketAddr> = match tokio::net::lookup_host((bare, port)).await {
        Ok(found) => found.collect(),
        Err(_) => return Err(RunFailure::Failed(format!("{host} does not resolve"))),
    };
    if addresses.is_empty() {
        return Err(RunFailure::Failed(format!("{host} does not resolve")));
    }
    if !allow_private && addresses.iter().any(|addr| !is_public(addr.ip())) {
        return Err(RunFailure::Refused(format!(
            "{host} resolves to a private, loopback or link-local address (a binding reaches one only when it names \
             it in guardrails.allow_private_hosts and the server sets ONECLAW_EXECUTE_ALLOW_PRIVATE=true)"
        )));
    }
    Ok(addresses)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_refused_after_resolution() {
        // `localhost` comes back from the resolver as 127.0.0.1: refused as the address it is.
        assert!(matches!(checked_addresses("localhost", 80, false).await, Err(RunFailure::Refused(_))));
        assert!(checked_addresses("localhost", 80, true).await.is_ok());
        assert!(matches!(checked_addresses("169.254.169.254", 80, false).await, Err(RunFailure::Refused(_))));
    }
}
