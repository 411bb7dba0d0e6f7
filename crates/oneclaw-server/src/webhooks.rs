//! The webhook worker: sends due deliveries from the outbox, signed, to public addresses only
//! (unless `ONECLAW_WEBHOOK_ALLOW_PRIVATE`), and records each attempt; a failure is retried with
//! exponential backoff for 24 hours (`oneclaw_core::webhooks`).

use oneclaw_core::Core;
use oneclaw_core::Result;
use oneclaw_core::ports::store::{AttemptOutcome, DueDelivery};
use oneclaw_core::services::{is_public, secret_purpose};
use oneclaw_core::webhooks::{RETRY_FOR_SECONDS, SIGNATURE_HEADER, backoff_seconds, payload, signature};
use std::net::SocketAddr;
use std::time::Duration;

/// How often the worker looks for deliveries that are due.
pub const POLL: Duration = Duration::from_secs(1);

/// How long one attempt may take before it counts as failed.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Most deliveries claimed at once.
const BATCH: i64 = 50;

/// Sends webhook deliveries.
pub struct WebhookSender {
    allow_private: bool,
}

impl WebhookSender {
    pub fn new(allow_private: bool) -> Self {
        Self { allow_private }
    }

    /// Sends every delivery due now; returns how many were attempted.
    pub async fn deliver_due(&self, core: &Core) -> Result<usize> {
        let deps = core.deps();
        let now = deps.clock.now();
        // A claimed delivery is due again after this if the node dies mid-attempt.
        let claim_until = now + time::Duration::seconds(60);
        let due = deps.store.claim_due_deliveries(now, claim_until, BATCH).await?;
        let attempted = due.len();
        for delivery in due {
            let outcome = self.attempt(core, &delivery).await;
            if let AttemptOutcome::Failed { error, .. } = &outcome {
                tracing::info!(webhook = %delivery.webhook_id, event = %delivery.event.id, %error, "webhook delivery failed");
            }
            let recorded_at = deps.clock.now();
            deps.store.record_attempt(delivery.webhook_id, delivery.event.id.0, &outcome, recorded_at).await?;
        }
        Ok(attempted)
    }

    async fn attempt(&self, core: &Core, delivery: &DueDelivery) -> AttemptOutcome {
        let now = core.deps().clock.now();
        let failed = |status: Option<i64>, error: String| {
            let attempts = delivery.attempts + 1;
            let give_up = now >= delivery.created_at + time::Duration::seconds(RETRY_FOR_SECONDS);
            let next_attempt_at = now + time::Duration::seconds(backoff_seconds(attempts));
            AttemptOutcome::Failed { status, error, next_attempt_at, give_up }
        };
        let secret = match core
            .deps()
            .keys
            .unseal_system_secret(&secret_purpose(delivery.webhook_id), &delivery.secret_sealed)
            .await
        {
            Ok(secret) => secret,
            Err(_) => return failed(None, "the signing secret could not be unsealed".to_owned()),
        };
        let url = match reqwest::Url::parse(&delivery.url) {
            Ok(url) => url,
            Err(_) => return failed(None, "the URL does not parse".to_owned()),
        };
        let (Some(host), Some(port)) = (url.host_str().map(str::to_owned), url.port_or_known_default()) else {
            return failed(None, "the URL names no host".to_owned());
        };
        // Resolve once, check every address, and connect only to those (no DNS rebinding
        // between the check and the connection).
        let bare = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let addresses: Vec<SocketAddr> = match tokio::net::lookup_host((bare.as_str(), port)).await {
            Ok(found) => found.collect(),
            Err(_) => return failed(None, format!("{host} does not resolve")),
        };
        if addresses.is_empty() {
            return failed(None, format!("{host} does not resolve"));
        }
        if !self.allow_private && addresses.iter().any(|addr| !is_public(addr.ip())) {
            return failed(None, format!("refused: {host} resolves to a private, loopback or link-local address"));
        }
        let client = match reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(ATTEMPT_TIMEOUT)
            .resolve_to_addrs(&bare, &addresses)
            .build()
        {
            Ok(client) => client,
            Err(_) => return failed(None, "the HTTP client could not be built".to_owned()),
        };
        let body = payload(&delivery.event, &delivery.event_type);
        let timestamp = now.unix_timestamp();
        let signed = signature(&secret, timestamp, &body);
        let sent = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::USER_AGENT, concat!("oneclaw-webhooks/", env!("CARGO_PKG_VERSION")))
            .header(SIGNATURE_HEADER, signed)
            .header("X-Oneclaw-Event", delivery.event_type.as_str())
            .header("X-Oneclaw-Delivery", delivery.event.id.to_string())
            .body(body)
            .send()
            .await;
        match sent {
            Ok(answer) if answer.status().is_success() => {
                AttemptOutcome::Delivered { status: i64::from(answer.status().as_u16()) }
            }
            Ok(answer) => {
                let status = answer.status().as_u16();
                failed(Some(i64::from(status)), format!("the receiver answered HTTP {status}"))
            }
            // Without the URL: its query may carry the receiver's token.
            Err(err) => failed(None, format!("not delivered: {}", err.without_url())),
        }
    }
}
