//! Answers of `/v1/billing`: usage, subscription, credits and paid requests (1claw's shapes,
//! reference section 10), and our `/v1/billing/payments`.

use serde::{Deserialize, Serialize};

/// `GET /v1/billing/usage`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageSummaryResponse {
    pub billing_tier: String,
    /// Free requests a month; absent on a plan without a limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_tier_limit: Option<i64>,
    pub current_month: MonthUsage,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MonthUsage {
    pub total_requests: i64,
    pub free_requests: i64,
    pub paid_requests: i64,
    pub total_cost_usd: String,
}

/// One paid request (`GET /v1/billing/history`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageEvent {
    pub id: uuid::Uuid,
    pub principal_type: String,
    pub principal_id: uuid::Uuid,
    pub method: String,
    pub endpoint: String,
    pub status_code: i64,
    pub price_usd: String,
    pub is_paid: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
}

/// `GET /v1/billing/history`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageHistoryResponse {
    pub events: Vec<UsageEvent>,
}

/// One paid request with how it was paid (`GET /v1/billing/payments`, ours).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentEvent {
    #[serde(flatten)]
    pub event: UsageEvent,
    /// `credits` or `x402`.
    pub paid_with: String,
    /// The payment's reference: the settlement transaction of an x402 payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// `GET /v1/billing/payments`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentHistoryResponse {
    pub events: Vec<PaymentEvent>,
}

/// Used against a limit (no `limit`: none).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageMeter {
    pub used: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubscriptionUsage {
    pub requests: UsageMeter,
    pub vaults: UsageMeter,
    pub secrets: UsageMeter,
    pub agents: UsageMeter,
}

/// `GET /v1/billing/subscription`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubscriptionResponse {
    pub tier: String,
    pub status: String,
    pub overage_method: String,
    pub credit_balance_cents: i64,
    pub credit_balance_usd: String,
    pub usage: SubscriptionUsage,
}

/// `GET /v1/billing/credits/balance`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreditBalanceResponse {
    pub balance_cents: i64,
    /// Exact, to the micro-dollar.
    pub balance_usd: String,
}

/// One credit movement.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreditTransaction {
    pub id: uuid::Uuid,
    #[serde(rename = "type")]
    pub kind: String,
    pub amount_cents: i64,
    pub balance_after_cents: i64,
    pub description: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
}

/// `GET /v1/billing/credits/transactions`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreditTransactionsResponse {
    pub transactions: Vec<CreditTransaction>,
    pub limit: i64,
    pub page: i64,
}

/// `PATCH /v1/billing/overage-method`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OverageMethodResponse {
    pub overage_method: String,
}
