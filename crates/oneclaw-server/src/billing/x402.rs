//! The x402 payment flow of one request: ask (402 with `PAYMENT-REQUIRED`), check the retry's
//! payment offline, spend its nonce atomically, have the facilitator confirm it against the
//! chain, and only after the handler succeeded, settle it and answer with `PAYMENT-RESPONSE`.
//! Anything that fails is a 402 that says why; a request is never served twice for one payment.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use oneclaw_core::Core;
use oneclaw_core::billing::{PaidOperation, PaymentNonce};
use oneclaw_core::ids::OrgId;
use oneclaw_core::principal::{PrincipalRef, RequestMeta};
use oneclaw_x402::facilitator::Facilitator;
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

/// After the handler: settle if it succeeded (and answer 402 instead if settlement fails), and
/// record the payment.
#[allow(clippy::too_many_arguments)]
pub async fn settle(
    x402: &X402,
    core: &Core,
    payment: AdmittedPayment,
    org: OrgId,
    who: PrincipalRef,
    meta: &RequestMeta,
    method: &str,
    path: &str,
    response: Response,
) -> Response {
    if !response.status().is_success() {
        // Nothing was served, so nothing is charged.
        return response;
    }
    let settlement = match x402.facilitator.settle(&payment.payload, &payment.requirements).await {
        Ok(settlement) => settlement,
        Err(refusal) => {
            tracing::warn!(code = refusal.code, "x402 settlement failed; the answer is withheld");
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
