//! The audit log.

use crate::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One audit event.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// `api`, `mcp`, `dashboard` or `cli`.
    pub surface: String,
    /// `success`, `denied` or `failure`.
    pub outcome: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
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

/// `GET /v1/audit/events`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditEventsResponse {
    pub events: Vec<AuditEventResponse>,
    /// The number of events in this page.
    pub count: i64,
}

/// How the chain is built, for independent verification.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChainScheme {
    pub algorithm: String,
    pub chain_structure: String,
    pub hash_field: String,
    pub link_field: String,
    pub documentation: String,
}

/// `GET /v1/audit/verify`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditVerifyResponse {
    pub chain_valid: bool,
    pub events_verified: i64,
    pub events_checked: i64,
    pub checkpoints_checked: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broken_at_event_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broken_at_seq: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub scheme: ChainScheme,
}
