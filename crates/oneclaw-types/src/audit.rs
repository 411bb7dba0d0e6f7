//! The audit log.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One audit event as 1claw's schema has it (`GET /v1/audit/events`): strict clients reject
/// more. The full record is `AuditRecordResponse`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEventResponse {
    pub id: Uuid,
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<Uuid>,
    pub actor_type: String,
    pub resource_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    pub org_id: Uuid,
    pub details: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
}

/// `GET /v1/audit/events`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEventsResponse {
    pub events: Vec<AuditEventResponse>,
    /// The number of events in this page.
    pub count: i64,
}

/// One audit record as oneclaw keeps it (`GET /v1/audit/records`, our route): the event, how
/// the request came, and the event's link in its org's hash chain.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditRecordResponse {
    #[serde(flatten)]
    pub event: AuditEventResponse,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// `api`, `mcp`, `dashboard` or `cli`.
    pub surface: String,
    /// `success`, `denied` or `failure`.
    pub outcome: String,
    /// The event's position in its org's chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
    /// SHA-256 chain hash of this event (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrity_hash: Option<String>,
    /// Hash of the previous event of the chain (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_hash: Option<String>,
}

/// `GET /v1/audit/records`: the same filters and paging as `/v1/audit/events`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditRecordsResponse {
    pub events: Vec<AuditRecordResponse>,
    /// The number of records in this page.
    pub count: i64,
}

/// How the chain is built, for independent verification.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainScheme {
    pub algorithm: String,
    pub chain_structure: String,
    pub hash_field: String,
    pub link_field: String,
    pub documentation: String,
}

/// `GET /v1/audit/verify` (1claw's schema).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditVerifyResponse {
    pub chain_valid: bool,
    pub events_verified: i64,
    pub events_checked: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broken_at_event_id: Option<Uuid>,
    pub scheme: ChainScheme,
}

/// `GET /v1/audit/records/verify` (our route): the verification with what 1claw's answer has
/// no field for: signed checkpoints checked, the broken event's position and the reason.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditChainReportResponse {
    #[serde(flatten)]
    pub verification: AuditVerifyResponse,
    pub checkpoints_checked: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broken_at_seq: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
