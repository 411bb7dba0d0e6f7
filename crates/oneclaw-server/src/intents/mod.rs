//! The outside calls of execution intents (`oneclaw_core::ports::IntentRunner`): HTTP through
//! reqwest, SQL through sqlx's PostgreSQL driver. Both resolve the target once, refuse a
//! private, loopback or link-local address the binding may not reach, and connect only to the
//! addresses they checked, so a DNS answer cannot change between the check and the call.
//! Redaction of answers runs on the blocking pool, one per core at most, so a flood of large
//! answers slows executions, not every other request.

mod http;
mod sql;

use oneclaw_core::ports::{HttpAnswer, HttpCall, IntentRunner, RunFailure, SqlAnswer, SqlCall};
use oneclaw_core::services::is_public;
use std::net::SocketAddr;
use std::sync::Arc;

/// The server's intent runner.
pub struct Runner {
    /// Redactions running at once.
    redacting: Arc<tokio::sync::Semaphore>,
}

impl Runner {
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Self { redacting: Arc::new(tokio::sync::Semaphore::new(cores)) }
    }
}

impl Default for Runner {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait::async_trait]
impl IntentRunner for Runner {
    async fn http(&self, call: HttpCall) -> Result<HttpAnswer, RunFailure> {
        http::send(call).await
    }

    async fn sql(&self, call: SqlCall) -> Result<SqlAnswer, RunFailure> {
        sql::run(call).await
    }

    async fn off_thread(&self, work: Box<dyn FnOnce() + Send>) {
        // A closed semaphore never happens (it is never closed); run anyway if it did.
        let _permit = Arc::clone(&self.redacting).acquire_owned().await.ok();
        if tokio::task::spawn_blocking(work).await.is_err() {
            tracing::error!("redacting an answer panicked; the answer is withheld");
        }
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
