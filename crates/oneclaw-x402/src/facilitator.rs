//! Settlement through an x402 facilitator's HTTP API (`POST /verify`, `POST /settle`), after
//! the handler has served the request. A facilitator that cannot be reached or refuses is a
//! failed payment: the caller answers 402 and serves nothing.

use crate::Refusal;
use crate::payload::PaymentPayload;
use crate::requirements::PaymentRequirements;
use serde::Deserialize;
use std::time::Duration;

/// A facilitator at a base URL.
#[derive(Clone)]
pub struct Facilitator {
    http: reqwest::Client,
    base: String,
}

/// What `/settle` answered.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settlement {
    pub success: bool,
    #[serde(default)]
    pub error_reason: Option<String>,
    #[serde(default)]
    pub payer: Option<String>,
    #[serde(default)]
    pub transaction: String,
    #[serde(default)]
    pub network: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Verification {
    is_valid: bool,
    #[serde(default)]
    invalid_reason: Option<String>,
}

impl Facilitator {
    pub fn new(base_url: &str) -> Self {
        oneclaw_types::tls::install_provider();
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default();
        Self { http, base: base_url.trim_end_matches('/').to_owned() }
    }

    async fn post<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        payment: &PaymentPayload,
        requirements: &PaymentRequirements,
    ) -> Result<T, Refusal> {
        let body = serde_json::json!({
            "x402Version": payment.x402_version,
            "paymentPayload": payment.raw,
            "paymentRequirements": requirements,
        });
        let response = self.http.post(format!("{}{path}", self.base)).json(&body).send().await.map_err(unreachable)?;
        if !response.status().is_success() {
            return Err(Refusal::new(
                "unexpected_settle_error",
                format!("the facilitator answered {}", response.status().as_u16()),
            ));
        }
        response
            .json()
            .await
            .map_err(|err| Refusal::new("unexpected_settle_error", format!("unreadable facilitator answer: {err}")))
    }

    /// Asks the facilitator to check the payment against the chain (balance, nonce state).
    pub async fn verify(&self, payment: &PaymentPayload, requirements: &PaymentRequirements) -> Result<(), Refusal> {
        let verification: Verification = self.post("/verify", payment, requirements).await?;
        if verification.is_valid {
            Ok(())
        } else {
            let reason = verification.invalid_reason.unwrap_or_else(|| "refused".to_owned());
            Err(Refusal::new("invalid_payload", format!("the facilitator refused the payment: {reason}")))
        }
    }

    /// Submits the transfer; only a successful settlement counts as paid.
    pub async fn settle(
        &self,
        payment: &PaymentPayload,
        requirements: &PaymentRequirements,
    ) -> Result<Settlement, Refusal> {
        let settlement: Settlement = self.post("/settle", payment, requirements).await?;
        if settlement.success {
            Ok(settlement)
        } else {
            let reason = settlement.error_reason.clone().unwrap_or_else(|| "refused".to_owned());
            Err(Refusal::new("unexpected_settle_error", format!("settlement failed: {reason}")))
        }
    }
}

fn unreachable(err: reqwest::Error) -> Refusal {
    // The innermost cause says why: a refused connection, an untrusted certificate…
    let err = err.without_url();
    let cause =
        std::iter::successors(Some(&err as &dyn std::error::Error), |e| e.source()).last().map(|e| e.to_string());
    Refusal::new("unexpected_settle_error", format!("the facilitator is unreachable ({})", cause.unwrap_or_default()))
}
