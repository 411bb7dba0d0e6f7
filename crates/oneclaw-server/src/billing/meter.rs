//! The metering layer: every authenticated REST request counts once against its org's month;
//! past the allowance a paid operation is paid with credits, else with x402, else refused with
//! 402. Every authenticated answer carries the quota headers.

use super::x402::{self, X402};
use crate::error::ApiError;
use crate::identity::{Identity, identity_of};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use oneclaw_core::Core;
use oneclaw_core::ports::{Charge, Paid};
use oneclaw_core::principal::Surface;
use oneclaw_core::services::Usage;
use std::sync::Arc;

/// What the metering layer needs.
#[derive(Clone)]
pub struct BillingLayer {
    pub core: Core,
    /// x402 settings; without them, requests past the allowance are paid with credits only.
    pub x402: Option<X402>,
}

impl BillingLayer {
    pub fn new(core: Core, pay_to: Option<String>, facilitator_url: &str) -> Self {
        Self { core, x402: pay_to.map(|pay_to| X402::new(pay_to, facilitator_url)) }
    }
}

/// Adds `X-RateLimit-Requests-Used`, `-Limit`, `-Percent` and, above 80 %, `X-Quota-Warning`.
pub fn quota_headers(headers: &mut HeaderMap, usage: &Usage) {
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set("x-ratelimit-requests-used", usage.used.to_string());
    set("x-overage-method", usage.overage_method.as_str().to_owned());
    if let (Some(limit), Some(percent)) = (usage.limit, usage.percent()) {
        set("x-ratelimit-requests-limit", limit.to_string());
        set("x-ratelimit-requests-percent", percent.to_string());
        if percent > 80 {
            set(
                "x-quota-warning",
                format!("{percent}% of this month's {limit} requests used; past the allowance, requests are paid"),
            );
        }
    }
}

/// The metering itself, run by the REST routes' layer (`app.rs::metered_within_time_limit`).
pub async fn meter(State(layer): State<BillingLayer>, mut request: Request, next: Next) -> Response {
    let billing = layer.core.billing();
    if !billing.enabled() {
        return next.run(request).await;
    }
    // Only authenticated requests are metered (a missing or bad credential is the handler's
    // 401), and dashboard pages by their session (`dashboard/session.rs`), once.
    let principal = match identity_of(request.extensions()) {
        Identity::Caller(caller) if caller.meta.surface != Surface::Dashboard => caller.principal,
        _ => return next.run(request).await,
    };
    let reservation = match billing.reserve(principal.org_id).await {
        Ok(reservation) => reservation,
        Err(err) => return ApiError::from(err).into_response(),
    };
    let usage = reservation.usage;
    // A request that changes something is counted before it is served (and the count taken
    // back if it is not), so a fault can never leave a served change uncounted. A read is
    // counted once served, in the same commit as its audit record (or its payment) where it
    // has one: a metered read waits for one durable commit, not two.
    let count_first = !request.method().is_safe();
    if count_first && let Err(err) = billing.count_served(&reservation).await {
        // The count may still commit (a timeout), so the place is not handed out again.
        return ApiError::from(err).into_response();
    }
    let (method, path) = (request.method().to_string(), request.uri().path().to_owned());
    let host = request.headers().get("host").and_then(|h| h.to_str().ok()).unwrap_or("localhost").to_owned();
    // The payment the request brought, for the paid service to take (past the allowance).
    let offer = match (&layer.x402, usage.over_allowance()) {
        (Some(x402), true) => {
            x402::OfferedX402::from_headers(x402, &layer.core, principal.org_id, request.headers(), &path).map(Arc::new)
        }
        _ => None,
    };
    let count_when_served = (!count_first).then(|| (reservation.org, reservation.month.clone()));
    let charge = Charge::metered(
        usage.over_allowance(),
        offer.clone().map(|offer| offer as Arc<dyn oneclaw_core::ports::PendingPayment>),
        &method,
        &path,
        count_when_served,
    );
    request.extensions_mut().insert(charge.clone());
    // A request dropped before it is settled (the client went away, the time limit) gives its
    // place back if nothing can count it any more.
    let mut unsettled =
        (!count_first).then(|| Unsettled(Some((layer.core.clone(), reservation.clone(), charge.clone()))));
    let mut response = next.run(request).await;
    let served = response.status().is_success();
    if let Some(unsettled) = unsettled.take() {
        unsettled.settled();
    }
    if count_first {
        if !served && let Err(err) = billing.uncount(&reservation).await {
            tracing::warn!(error = %err, "could not take back the count of a request that was not served");
        }
    } else if !charge.count_committed() {
        if !served {
            let (core, reservation) = (layer.core.clone(), reservation.clone());
            charge.when_uncounted(move || core.billing().give_back(&reservation));
        } else if let Err(err) = billing.count_served(&reservation).await {
            // Nothing was changed (a read that changes something counts in its own commit):
            // the read is refused rather than answered uncounted.
            return ApiError::from(err).into_response();
        }
    }
    match (charge.outcome(), &layer.x402) {
        // Nothing could pay: over REST, the x402 challenge says what would (and why a payment
        // offered was refused).
        (Some(Paid::Refused(operation)), Some(x402)) if response.status() == StatusCode::PAYMENT_REQUIRED => {
            let refusal = match &offer {
                Some(offer) => offer.refusal().await.map(|refusal| refusal.to_string()),
                None => None,
            };
            let why = refusal.unwrap_or_else(|| "PAYMENT-SIGNATURE header is required".to_owned());
            response = x402.challenge(operation, &host, &path, &why);
        }
        (Some(Paid::Offered(_)), _) => {
            if let Some(offer) = &offer
                && let Some(settled) = offer.settled().await
            {
                x402::receipt(&mut response, settled, offer.legacy_header);
            }
        }
        _ => {}
    }
    quota_headers(response.headers_mut(), &usage);
    response
}

/// A metered read not settled yet; dropped unsettled (the client went away, the time limit),
/// it gives its place back once nothing can count it: at once if no transaction holds its
/// count, or when the audit journal leaves the gone request's record and count out.
struct Unsettled(Option<(oneclaw_core::Core, oneclaw_core::services::Reservation, Charge)>);

impl Unsettled {
    /// Settled by the layer: nothing to do on drop.
    fn settled(mut self) {
        self.0 = None;
    }
}

impl Drop for Unsettled {
    fn drop(&mut self) {
        let Some((core, reservation, charge)) = self.0.take() else { return };
        charge.when_uncounted(move || core.billing().give_back(&reservation));
    }
}
