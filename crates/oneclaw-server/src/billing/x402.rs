//! The x402 payment flow of one request. The payment header a request brings becomes the
//! core's `PendingPayment` (`OfferedX402`); when the paid service charges its operation (after
//! authorization, once it succeeded, inside its transaction before it commits), the payment is
//! checked offline against that operation's price, its nonce spent in that transaction, and the
//! facilitator asked to confirm it against the chain and to settle it. Afterwards the answer is the `PAYMENT-RESPONSE`
//! receipt, or the 402 challenge (`PAYMENT-REQUIRED`) saying why nothing was paid. A request is
//! never served twice for one payment, and a paid write that cannot be paid is not kept.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use oneclaw_core::billing::{PaidOperation, PaymentNonce};
use oneclaw_core::ids::OrgId;
use oneclaw_core::ports::{PendingPayment, SettledPayment};
use oneclaw_core::{Core, Error};
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

impl X402 {
    pub fn new(pay_to: String, facilitator_url: &str) -> Self {
        Self { pay_to, facilitator: Facilitator::new(facilitator_url) }
    }

    /// What paying for `operation` at `path` takes.
    fn required(&self, operation: PaidOperation, host: &str, path: &str, error: &str) -> PaymentRequired {
        let url = format!("http://{host}{path}");
        PaymentRequired::usdc_on_base(
            operation.price_micros().unsigned_abs(),
            &self.pay_to,
            &url,
            operation.name(),
            error,
        )
    }

    /// The 402 that asks for a payment for `operation` (saying why, when one was refused).
    pub fn challenge(&self, operation: PaidOperation, host: &str, path: &str, error: &str) -> Response {
        let required = self.required(operation, host, path, error);
        let mut response = (StatusCode::PAYMENT_REQUIRED, axum::Json(required.body())).into_response();
        if let Ok(value) = HeaderValue::from_str(&required.header_value()) {
            response.headers_mut().insert("payment-required", value);
        }
        response
    }
}

/// A settled payment, for the receipt.
pub struct Settled {
    pub settlement: Settlement,
    pub payer: String,
}

/// A payment checked offline for an operation, waiting to be settled.
struct Authorized {
    payment: PaymentPayload,
    requirements: PaymentRequirements,
    payer: String,
}

/// Where an offered payment stands.
enum State {
    Offered,
    Authorized(Box<Authorized>),
    Settled(Box<Settled>),
    Refused(Refusal),
}

/// The payment header a request brought, until the paid service takes it.
pub struct OfferedX402 {
    x402: X402,
    core: Core,
    org: OrgId,
    /// The header's text; `None` when it is not text (refused when the payment is taken).
    header: Option<String>,
    host: String,
    path: String,
    /// v1 clients send `X-PAYMENT` and get `X-PAYMENT-RESPONSE`; v2 the names without `X-`.
    pub legacy_header: bool,
    state: tokio::sync::Mutex<State>,
}

impl OfferedX402 {
    /// The payment `headers` carry, if any.
    pub fn from_headers(x402: &X402, core: &Core, org: OrgId, headers: &HeaderMap, path: &str) -> Option<Self> {
        let (name, value) = ["payment-signature", "x-payment"]
            .iter()
            .find_map(|name| headers.get(*name).map(|value| (*name, value)))?;
        Some(Self {
            x402: x402.clone(),
            core: core.clone(),
            org,
            header: value.to_str().ok().map(str::to_owned),
            host: headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("localhost").to_owned(),
            path: path.to_owned(),
            legacy_header: name == "x-payment",
            state: tokio::sync::Mutex::new(State::Offered),
        })
    }

    /// Why the payment was refused, if it was.
    pub async fn refusal(&self) -> Option<Refusal> {
        match &*self.state.lock().await {
            State::Refused(refusal) => Some(refusal.clone()),
            _ => None,
        }
    }

    /// What was settled, if the payment was.
    pub async fn settled(&self) -> Option<(String, String, String)> {
        match &*self.state.lock().await {
            State::Settled(settled) => Some((
                settled.settlement.transaction.clone(),
                settled.settlement.network.clone(),
                settled.payer.clone(),
            )),
            _ => None,
        }
    }

    fn check(&self, operation: PaidOperation) -> Result<(Authorized, PaymentNonce), Refusal> {
        let required = self.x402.required(operation, &self.host, &self.path, "");
        let offered = &required.accepts[0];
        let Some(header) = &self.header else {
            return Err(Refusal::new("invalid_payload", "the payment header is not text"));
        };
        let payment = payload::decode(header)?;
        let now = self.core.deps().clock.now().unix_timestamp().max(0).unsigned_abs();
        let verified = verify::verify(&payment, offered, now)?;
        let nonce = PaymentNonce {
            org_id: self.org,
            chain_id: i64::try_from(BASE_CHAIN_ID).unwrap_or(i64::MAX),
            asset: offered.asset.clone(),
            payer: verified.payer.clone(),
            nonce: verified.nonce.clone(),
            valid_before: i64::try_from(verified.valid_before).unwrap_or(i64::MAX),
        };
        Ok((Authorized { payment, requirements: offered.clone(), payer: verified.payer }, nonce))
    }
}

fn refused(refusal: &Refusal) -> Error {
    tracing::warn!(code = refusal.code, "an x402 payment was refused; nothing is served or kept");
    Error::PaymentRequired(format!("The payment was refused: {refusal}"))
}

#[async_trait::async_trait]
impl PendingPayment for OfferedX402 {
    async fn authorize(&self, operation: PaidOperation) -> oneclaw_core::Result<PaymentNonce> {
        let mut state = self.state.lock().await;
        if !matches!(*state, State::Offered) {
            return Err(Error::Internal("an x402 payment was authorized twice".to_owned()));
        }
        match self.check(operation) {
            Ok((authorized, nonce)) => {
                *state = State::Authorized(Box::new(authorized));
                Ok(nonce)
            }
            Err(refusal) => {
                let err = refused(&refusal);
                *state = State::Refused(refusal);
                Err(err)
            }
        }
    }

    async fn settle(&self, first_use: bool) -> oneclaw_core::Result<SettledPayment> {
        let mut state = self.state.lock().await;
        let State::Authorized(authorized) = std::mem::replace(&mut *state, State::Offered) else {
            return Err(Error::Internal("an x402 payment was settled before it was authorized".to_owned()));
        };
        let settled = if first_use {
            // The chain's word (balance, nonce state), then the transfer.
            match self.x402.facilitator.verify(&authorized.payment, &authorized.requirements).await {
                Ok(()) => self.x402.facilitator.settle(&authorized.payment, &authorized.requirements).await,
                Err(refusal) => Err(refusal),
            }
        } else {
            Err(Refusal::new("invalid_exact_evm_nonce_already_used", "this payment was already used"))
        };
        match settled {
            Ok(settlement) => {
                let done =
                    SettledPayment { payer: authorized.payer.clone(), reference: settlement.transaction.clone() };
                *state = State::Settled(Box::new(Settled { settlement, payer: authorized.payer }));
                Ok(done)
            }
            Err(refusal) => {
                let err = refused(&refusal);
                *state = State::Refused(refusal);
                Err(err)
            }
        }
    }
}

/// The receipt header of a settled payment.
pub fn receipt(response: &mut Response, (transaction, network, payer): (String, String, String), legacy_header: bool) {
    let receipt = serde_json::json!({
        "success": true,
        "transaction": transaction,
        "network": network,
        "payer": payer,
    });
    if let Ok(value) = HeaderValue::from_str(&STANDARD.encode(receipt.to_string())) {
        let name = if legacy_header { "x-payment-response" } else { "payment-response" };
        response.headers_mut().insert(name, value);
    }
}
