//! The metering layer: every authenticated REST request counts once against its org's month;
//! past the allowance a paid operation is paid with credits, else with x402, else refused with
//! 402. Every authenticated answer carries the quota headers.

use super::paid_operation;
use super::x402::{self, X402};
use crate::error::ApiError;
use crate::identity::{Identity, identity_of, meta_of};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use oneclaw_core::Core;
use oneclaw_core::ports::Charge;
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

/// The layer itself.
pub async fn meter(State(layer): State<BillingLayer>, request: Request, next: Next) -> Response {
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
    let meta = meta_of(request.extensions());
    let usage = match billing.meter(principal.org_id).await {
        Ok(usage) => usage,
        Err(err) => return ApiError::from(err).into_response(),
    };
    let operation = paid_operation(request.method(), request.uri().path());
    let mut x402_payment = None;
    let mut paid_with_credits = None;
    if let Some(operation) = operation.filter(|_| usage.over_allowance()) {
        let (method, path) = (request.method().to_string(), request.uri().path().to_owned());
        match billing.pay_with_credits(principal.org_id, principal.who, &meta, operation, &method, &path).await {
            Ok(true) => paid_with_credits = Some(operation),
            Ok(false) => match &layer.x402 {
                None => {
                    let mut refused = ApiError::new(
                        StatusCode::PAYMENT_REQUIRED,
                        "This month's request allowance is used up. Ask an org owner to add prepaid credits or \
                         upgrade the plan.",
                    )
                    .into_response();
                    quota_headers(refused.headers_mut(), &usage);
                    return refused;
                }
                Some(x402) => {
                    match x402.admit(&layer.core, principal.org_id, operation, request.headers(), &path).await {
                        Ok(payment) => x402_payment = Some(Arc::new(x402::PendingX402::new(x402, payment))),
                        Err(mut refused) => {
                            quota_headers(refused.headers_mut(), &usage);
                            return *refused;
                        }
                    }
                }
            },
            Err(err) => return ApiError::from(err).into_response(),
        }
    }
    let (method, path) = (request.method().to_string(), request.uri().path().to_owned());
    let mut request = request;
    if let Some(pending) = &x402_payment {
        // The handler's caller carries it, so a paid write settles it before committing.
        request.extensions_mut().insert(Charge::of(pending.clone()));
    }
    let mut response = next.run(request).await;
    if !response.status().is_success()
        && let Err(err) = billing.uncount(principal.org_id).await
    {
        tracing::warn!(error = %err, "could not take back the count of a request that was not served");
    }
    if let Some(operation) = paid_with_credits
        && !response.status().is_success()
        && let Err(err) =
            billing.refund_credits(principal.org_id, principal.who, &meta, operation, response.status().as_u16()).await
    {
        tracing::warn!(error = %err, "could not refund the credits of a request that was not served");
    }
    if let (Some(pending), Some(x402)) = (x402_payment, &layer.x402) {
        response =
            x402::finish(x402, &layer.core, &pending, principal.org_id, principal.who, &meta, &method, &path, response)
                .await;
    }
    quota_headers(response.headers_mut(), &usage);
    response
}
