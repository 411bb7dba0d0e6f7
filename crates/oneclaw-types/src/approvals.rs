//! Approvals (`/v1/approvals`): requests a human approves or rejects, as 1claw's spec has them.

use serde::{Deserialize, Serialize};

/// `POST /v1/approvals/request` (agents). `summary` is an object in the spec and a string in
/// the Python SDK; both are taken, a string answered back as `{"text": …}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestApprovalRequest {
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub summary: serde_json::Value,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub risk_tier: Option<i64>,
}

/// `POST /v1/approvals/{id}/decide`. `window_seconds` (ours) approves a window instead of one
/// use, up to what the policy allows.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecideApprovalRequest {
    pub decision: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_seconds: Option<i64>,
}

/// `POST /v1/approvals/{id}/cancel`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CancelApprovalRequest {
    #[serde(default)]
    pub reason: Option<String>,
}

/// One approval request (1claw's `ApprovalResponse`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApprovalResponse {
    pub id: String,
    pub org_id: String,
    /// The human it is addressed to.
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub risk_tier: i64,
    /// pending, approved, rejected or expired.
    pub status: String,
    pub summary: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub decided_at: Option<time::OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub expires_at: Option<time::OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
}

/// `GET /v1/approvals`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApprovalListResponse {
    pub approvals: Vec<ApprovalResponse>,
}
