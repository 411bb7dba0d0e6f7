//! `/v1/billing`: usage, subscription, credits and paid-request history of the caller's org,
//! and the choice of overage method. Shapes follow 1claw-api.md section 10.

use crate::error::ApiResult;
use crate::extract::{Auth, JsonBody};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::routing::{get, patch};
use axum::{Json, Router};
use oneclaw_core::Error;
use oneclaw_core::billing::OverageMethod;
use oneclaw_core::billing::PaidRequest;
use oneclaw_types::billing::{
    CreditBalanceResponse, CreditTransaction, CreditTransactionsResponse, MonthUsage, OverageMethodResponse,
    PaymentEvent, PaymentHistoryResponse, SubscriptionResponse, SubscriptionUsage, UsageEvent, UsageHistoryResponse,
    UsageMeter, UsageSummaryResponse,
};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/billing/usage", get(usage))
        .route("/v1/billing/history", get(history))
        .route("/v1/billing/payments", get(payments))
        .route("/v1/billing/subscription", get(subscription))
        .route("/v1/billing/credits/balance", get(balance))
        .route("/v1/billing/credits/transactions", get(transactions))
        .route("/v1/billing/overage-method", patch(overage_method))
}

/// Micro-dollars as a USD string.
fn usd(micros: i64) -> String {
    format!("{:.6}", micros as f64 / 1_000_000.0).trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn cents(micros: i64) -> i64 {
    micros / 10_000
}

async fn usage(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<UsageSummaryResponse>> {
    let billing = state.core.billing();
    let usage = billing.usage_for(&caller).await?;
    let (paid_requests, cost) = billing.paid_this_month(caller.org_id()).await?;
    let free = usage.limit.map_or(usage.used, |limit| usage.used.min(limit));
    Ok(Json(UsageSummaryResponse {
        billing_tier: usage.tier.as_str().to_owned(),
        free_tier_limit: usage.limit,
        current_month: MonthUsage {
            total_requests: usage.used,
            free_requests: free,
            paid_requests,
            total_cost_usd: usd(cost),
        },
    }))
}

#[derive(Deserialize)]
struct Page {
    limit: Option<i64>,
    offset: Option<i64>,
    page: Option<i64>,
}

/// 1claw's paid-request history (its `UsageEvent` fields).
async fn history(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Query(page): Query<Page>,
) -> ApiResult<Json<UsageHistoryResponse>> {
    let paid = state.core.billing().history(&caller, page.limit.unwrap_or(50)).await?;
    Ok(Json(UsageHistoryResponse { events: paid.iter().map(usage_event).collect() }))
}

/// Our route: the same list with how each request was paid (`credits` or `x402`) and the
/// payment's reference (the settlement transaction), which 1claw's schema has no field for.
async fn payments(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Query(page): Query<Page>,
) -> ApiResult<Json<PaymentHistoryResponse>> {
    let paid = state.core.billing().history(&caller, page.limit.unwrap_or(50)).await?;
    let events = paid
        .iter()
        .map(|p| PaymentEvent { event: usage_event(p), paid_with: p.paid_with.clone(), reference: p.reference.clone() })
        .collect();
    Ok(Json(PaymentHistoryResponse { events }))
}

fn usage_event(paid: &PaidRequest) -> UsageEvent {
    UsageEvent {
        id: paid.id,
        principal_type: paid.principal.kind.as_str().to_owned(),
        principal_id: paid.principal.id,
        method: paid.method.clone(),
        endpoint: paid.endpoint.clone(),
        status_code: paid.status_code,
        price_usd: usd(paid.price_micros),
        is_paid: true,
        created_at: paid.created_at,
    }
}

async fn subscription(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<SubscriptionResponse>> {
    let sub = state.core.billing().subscription(&caller).await?;
    let limits = sub.usage.tier.limits(sub.usage.limit.unwrap_or(0));
    let meter = |used: i64, limit: Option<i64>| UsageMeter { used, limit };
    Ok(Json(SubscriptionResponse {
        tier: sub.usage.tier.as_str().to_owned(),
        status: "active".to_owned(),
        overage_method: sub.usage.overage_method.as_str().to_owned(),
        credit_balance_cents: cents(sub.credit_balance_micros),
        credit_balance_usd: usd(sub.credit_balance_micros),
        usage: SubscriptionUsage {
            requests: meter(sub.usage.used, sub.usage.limit),
            vaults: meter(sub.resources.vaults, limits.vaults),
            secrets: meter(sub.resources.secrets, limits.secrets),
            agents: meter(sub.resources.agents, limits.agents),
        },
    }))
}

async fn balance(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<CreditBalanceResponse>> {
    let sub = state.core.billing().subscription(&caller).await?;
    Ok(Json(CreditBalanceResponse {
        balance_cents: cents(sub.credit_balance_micros),
        balance_usd: usd(sub.credit_balance_micros),
    }))
}

async fn transactions(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Query(page): Query<Page>,
) -> ApiResult<Json<CreditTransactionsResponse>> {
    let limit = page.limit.unwrap_or(50).clamp(1, 200);
    let offset = page.offset.unwrap_or_else(|| page.page.unwrap_or(1).max(1).saturating_sub(1).saturating_mul(limit));
    let entries = state.core.billing().credit_ledger(&caller, limit, offset).await?;
    let transactions = entries
        .iter()
        .map(|e| CreditTransaction {
            id: e.id,
            kind: e.kind.clone(),
            amount_cents: cents(e.amount_micros),
            balance_after_cents: cents(e.balance_after_micros),
            description: e.description.clone(),
            created_at: e.created_at,
        })
        .collect();
    // 1claw's schema pages by `page`; an `offset` that is not a whole page rounds down.
    Ok(Json(CreditTransactionsResponse { transactions, limit, page: offset / limit + 1 }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct OverageRequest {
    method: Option<String>,
    overage_method: Option<String>,
}

async fn overage_method(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<OverageRequest>,
) -> ApiResult<Json<OverageMethodResponse>> {
    let request = body.required()?;
    let text = request.method.or(request.overage_method).unwrap_or_default();
    let method =
        OverageMethod::parse(&text).ok_or_else(|| Error::invalid_field("method", "must be credits or x402"))?;
    state.core.billing().set_overage_method(&caller, method).await?;
    Ok(Json(OverageMethodResponse { overage_method: method.as_str().to_owned() }))
}
