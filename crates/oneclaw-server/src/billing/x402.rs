//! The x402 payment flow of one request: ask (402 with `PAYMENT-REQUIRED`), check the retry's
//! payment offline, spend its nonce atomically, have the facilitator confirm it against the
//! chain, then settle it: a paid write settles inside its own transaction before it commits
//! (`PendingX402` is the core's `PendingPayment`), anything else once its answer is ready; a
//! settled payment is answered with `PAYMENT-RESPONSE`.
//! Anything that fails is a 402 that says why; a request is never served twice for one payment.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use oneclaw_core::Core;
use oneclaw_core::billing::{PaidOperation, PaymentNonce};
use oneclaw_core::ids::OrgId;
use oneclaw_core::ports::PendingPayment;
use oneclaw_core::principal::{PrincipalRef, RequestMeta};
use oneclaw_x402::facilitator::{Facilitator, Settlement};
use oneclaw_x402::payload::{self, PaymentPayload};
use oneclaw_x402::requirements::{PaymentRequired, PaymentRequirements};
use oneclaw_x402::{BASE_CHAIN_ID, Refusal, verify};

/// Where payments go and who settles them.
#[derive(Clone)]
pub struct X402 {
    pay_to: String,
    facilitator: Facilitator,
}

/// A payment admitted for one request, to settle after it.
pub struct AdmittedPayment {
    operation: PaidOperation,
    payload: PaymentPayload,
    requirements: PaymentRequirements,
    payer: String,
    /// v1 clients get `X-PAYMENT-RESPONSE`, v2 clients `PAYMENT-RESPONSE`.
    legacy_header: bool,
}

impl X402 {
    pub fn new(pay_to: String, facilitator_url: &str) -> Self {
        Self { pay_to, facilitator: Facilitator::new(facilitator_url) }
    }

    fn required(&self, operation: PaidOperation, headers: &HeaderMap, path: &str, error: &str) -> PaymentRequired {
        let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("localhost");
        let url = format!("http://{host}{path}");
        PaymentRequired::usdc_on_base(
            operation.price_micros().unsigned_abs(),
            &self.pay_to,
            &url,
            operation.name(),
            error,
        )
    }

    /// A payment for this request, or the 402 to answer instead.
    pub async fn admit(
        &self,
        core: &Core,
        org: OrgId,
        operation: PaidOperation,
        headers: &HeaderMap,
        path: &str,
    ) -> Result<AdmittedPayment, Box<Response>> {
        let header =
            ["payment-signature", "x-payment"].iter().find_map(|name| headers.get(*name).map(|value| (*name, value)));
        let Some((name, value)) = header else {
            let required = self.required(operation, headers, path, "PAYMENT-SIGNATURE header is required");
            return Err(Box::new(payment_required(&required)));
        };
        let required = self.required(operation, headers, path, "");
        let refuse = |refusal: Refusal| {
            Box::new(payment_required(&self.required(operation, headers, path, &refusal.to_string())))
        };
        let text =
            value.to_str().map_err(|_| refuse(Refusal::new("invalid_payload", "the payment header is not text")))?;
        let payment = payload::decode(text).map_err(refuse)?;
        let offered = &required.accepts[0];
        let now = core.deps().clock.now().unix_timestamp().max(0).unsigned_abs();
        let verified = verify::verify(&payment, offered, now).map_err(refuse)?;
        // Spend the authorization before anything is served: one payment, one request.
        let spent = PaymentNonce {
            org_id: org,
            chain_id: i64::try_from(BASE_CHAIN_ID).unwrap_or(i64::MAX),
            asset: offered.asset.clone(),
            payer: verified.payer.clone(),
            nonce: verified.nonce.clone(),
            valid_before: i64::try_from(verified.valid_before).unwrap_or(i64::MAX),
        };
        match core.billing().consume_payment(&spent).await {
            Ok(true) => {}
            Ok(false) => {
                return Err(refuse(Refusal::new(
                    "invalid_exact_evm_nonce_already_used",
                    "this payment was already used",
                )));
            }
            Err(_) => return Err(refuse(Refusal::new("unexpected_verify_error", "the payment could not be recorded"))),
        }
        // The chain's word (balance, nonce state) before serving.
        self.facilitator.verify(&payment, offered).await.map_err(refuse)?;
        Ok(AdmittedPayment {
            operation,
            payload: payment,
            requirements: offered.clone(),
            payer: verified.payer,
            legacy_header: name == "x-payment",
        })
    }
}

fn payment_required(required: &PaymentRequired) -> Response {
    let mut response = (StatusCode::PAYMENT_REQUIRED, axum::Json(required.body())).into_response();
    if let Ok(value) = HeaderValue::from_str(&required.header_value()) {
        response.headers_mut().insert("payment-required", value);
    }
    response
}

/// An admitted payment waiting to be settled: by the paid service right before its change
/// commits (`Charge`), or, for a paid read that changes nothing, by the layer once the answer
/// is ready. Settled at most once; the outcome is kept for the layer to report.
pub struct PendingX402 {
    facilitator: Facilitator,
    payment: AdmittedPayment,
    outcome: tokio::sync::Mutex<Option<Result<Settlement, Refusal>>>,
}

impl PendingX402 {
    pub fn new(x402: &X402, payment: AdmittedPayment) -> Self {
        Self { facilitator: x402.facilitator.clone(), payment, outcome: tokio::sync::Mutex::new(None) }
    }

    async fn settle_once(&self) -> Result<Settlement, Refusal> {
        let mut outcome = self.outcome.lock().await;
        if let Some(done) = outcome.as_ref() {
            return done.clone();
        }
        let settled = self.facilitator.settle(&self.payment.payload, &self.payment.requirements).await;
        *outcome = Some(settled.clone());
        settled
    }

    /// Whether a service already settled (or tried to).
    async fn attempted(&self) -> bool {
        self.outcome.lock().await.is_some()
    }
}

#[async_trait::async_trait]
impl PendingPayment for PendingX402 {
    async fn settle(&self) -> oneclaw_core::Result<()> {
        self.settle_once().await.map(|_| ()).map_err(|refusal| {
            oneclaw_core::Error::PaymentRequired(format!("The payment could not be settled: {refusal}"))
        })
    }
}

/// After the handler: a failed settlement turns the answer into the 402 that says why (a paid
/// write has then been rolled back by its service); a successful answer not yet settled (a
/// paid read) is settled now, and its 402 withholds the answer if that fails. A settled payment
/// is recorded and the receipt header added.
#[allow(clippy::too_many_arguments)]
pub async fn finish(
    x402: &X402,
    core: &Core,
    pending: &PendingX402,
    org: OrgId,
    who: PrincipalRef,
    meta: &RequestMeta,
    method: &str,
    path: &str,
    response: Response,
) -> Response {
    if !response.status().is_success() && !pending.attempted().await {
        // Nothing was served, so nothing is charged.
        return response;
    }
    let payment = &pending.payment;
    let settlement = match pending.settle_once().await {
        Ok(settlement) => settlement,
        Err(refusal) => {
            tracing::warn!(code = refusal.code, "x402 settlement failed; nothing is served or kept");
            let required = PaymentRequired::usdc_on_base(
                payment.operation.price_micros().unsigned_abs(),
                &x402.pay_to,
                path,
                payment.operation.name(),
                &refusal.to_string(),
            );
            return payment_required(&required);
        }
    };
    let status = i64::from(response.status().as_u16());
    if let Err(err) = core
        .billing()
        .record_x402(org, who, meta, payment.operation, method, path, status, &payment.payer, &settlement.transaction)
        .await
    {
        tracing::error!(error = %err, "a settled x402 payment could not be recorded");
    }
    let receipt = serde_json::json!({
        "success": true,
        "transaction": settlement.transaction,
        "network": settlement.network,
        "payer": payment.payer,
    });
    let mut response = response;
    if let Ok(value) = HeaderValue::from_str(&STANDARD.encode(receipt.to_string())) {
        let name = if payment.legacy_header { "x-payment-response" } else { "payment-response" };
        response.headers_mut().insert(name, value);
    }
    response
}
