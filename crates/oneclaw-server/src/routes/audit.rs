//! `/v1/audit/events` and `/v1/audit/verify` in 1claw's schemas, and our `/v1/audit/records`
//! and `/v1/audit/records/verify` with what those schemas have no field for (reference §2.9:
//! strict clients reject unknown fields, so extensions live on routes of our own).

use crate::error::{ApiError, ApiResult};
use crate::extract::Auth;
use crate::state::AppState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use oneclaw_core::audit::AuditEvent;
use oneclaw_core::audit::chain::hex;
use oneclaw_core::ports::AuditQuery;
use oneclaw_core::principal::Caller;
use oneclaw_types::audit::{
    AuditChainReportResponse, AuditEventResponse, AuditEventsResponse, AuditRecordResponse, AuditRecordsResponse,
    AuditVerifyResponse, ChainScheme,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/audit/events", get(events))
        .route("/v1/audit/verify", get(verify))
        .route("/v1/audit/records", get(records))
        .route("/v1/audit/records/verify", get(chain_report))
        .route("/v1/audit/scheme", get(scheme_document))
}

#[derive(serde::Deserialize)]
struct EventsQuery {
    resource_id: Option<String>,
    actor_id: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
}

fn time_param(name: &str, value: Option<&str>) -> ApiResult<Option<OffsetDateTime>> {
    value
        .filter(|v| !v.is_empty())
        .map(|v| {
            OffsetDateTime::parse(v, &Rfc3339)
                .map_err(|_| ApiError::bad_request(format!("{name} must be an RFC 3339 time")))
        })
        .transpose()
}

async fn events(
    State(state): State<AppState>,
    Auth(caller): Auth,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> ApiResult<Json<AuditEventsResponse>> {
    let events = listed(&state, &caller, query).await?;
    let count = i64::try_from(events.len()).unwrap_or(i64::MAX);
    Ok(Json(AuditEventsResponse { events: events.iter().map(event).collect(), count }))
}

async fn records(
    State(state): State<AppState>,
    Auth(caller): Auth,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> ApiResult<Json<AuditRecordsResponse>> {
    let events = listed(&state, &caller, query).await?;
    let count = i64::try_from(events.len()).unwrap_or(i64::MAX);
    Ok(Json(AuditRecordsResponse { events: events.iter().map(record).collect(), count }))
}

/// The page of events a query string asks for (both listing routes take the same filters).
async fn listed(
    state: &AppState,
    caller: &Caller,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> ApiResult<Vec<AuditEvent>> {
    let Query(query) = query.map_err(|_| ApiError::bad_request("The query string is malformed"))?;
    let actor_id = query
        .actor_id
        .as_deref()
        .filter(|v| !v.is_empty())
        .map(|v| uuid::Uuid::parse_str(v).map_err(|_| ApiError::bad_request("actor_id must be a UUID")))
        .transpose()?;
    let filter = AuditQuery {
        resource_id: query.resource_id.filter(|v| !v.is_empty()),
        actor_id,
        about: None,
        action: query.action.filter(|v| !v.is_empty()),
        from: time_param("from", query.from.as_deref())?,
        to: time_param("to", query.to.as_deref())?,
        limit: super::params::int("limit", query.limit.as_deref(), 100)?,
        offset: super::params::int("offset", query.offset.as_deref(), 0)?,
    };
    Ok(state.core.audit().list(caller, filter).await?)
}

#[derive(serde::Deserialize)]
struct VerifyQuery {
    from: Option<String>,
    to: Option<String>,
    limit: Option<String>,
}

async fn verify(
    State(state): State<AppState>,
    Auth(caller): Auth,
    headers: HeaderMap,
    query: Result<Query<VerifyQuery>, QueryRejection>,
) -> ApiResult<Json<AuditVerifyResponse>> {
    Ok(Json(verified(&state, &caller, &headers, query).await?.verification))
}

async fn chain_report(
    State(state): State<AppState>,
    Auth(caller): Auth,
    headers: HeaderMap,
    query: Result<Query<VerifyQuery>, QueryRejection>,
) -> ApiResult<Json<AuditChainReportResponse>> {
    Ok(Json(verified(&state, &caller, &headers, query).await?))
}

/// How the chain is built and checked (docs/AUDIT.md, built in), for whoever verifies it
/// without oneclaw: the verify answers' `scheme.documentation` points here.
async fn scheme_document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], include_str!("../../../../docs/AUDIT.md"))
}

async fn verified(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    query: Result<Query<VerifyQuery>, QueryRejection>,
) -> ApiResult<AuditChainReportResponse> {
    let Query(query) = query.map_err(|_| ApiError::bad_request("The query string is malformed"))?;
    let from = time_param("from", query.from.as_deref())?;
    let to = time_param("to", query.to.as_deref())?;
    let limit = super::params::int("limit", query.limit.as_deref(), 1000)?;
    let report = state.core.audit().verify(caller, from, to, limit).await?;
    Ok(AuditChainReportResponse {
        verification: AuditVerifyResponse {
            chain_valid: report.chain_valid,
            events_verified: report.events_verified,
            events_checked: report.events_checked,
            broken_at_event_id: report.broken_at_event_id,
            scheme: scheme(&state.link_base(headers)),
        },
        checkpoints_checked: report.checkpoints_checked,
        broken_at_seq: report.broken_at_seq,
        reason: report.reason,
    })
}

/// How to check the chain without oneclaw; `base` is the server's public address (the
/// document is served there: the spec wants an absolute URI).
pub fn scheme(base: &str) -> ChainScheme {
    ChainScheme {
        algorithm: "SHA-256".to_owned(),
        chain_structure: "one linear chain per organization, ordered by seq; every event's hash covers the previous \
                          event's hash; the chain head is signed (Ed25519) at intervals as checkpoints"
            .to_owned(),
        hash_field: "integrity_hash".to_owned(),
        link_field: "prev_hash".to_owned(),
        documentation: format!("{base}/v1/audit/scheme"),
    }
}

/// An audit event in 1claw's schema.
pub fn event(event: &AuditEvent) -> AuditEventResponse {
    AuditEventResponse {
        id: event.id.0,
        action: event.action.clone(),
        actor_id: event.actor_id,
        actor_type: event.actor_type.clone(),
        resource_type: event.resource_type.clone(),
        resource_id: event.resource_id.clone(),
        org_id: event.org_id.0,
        details: event.details.clone(),
        ip_address: event.ip_address.clone(),
        created_at: event.created_at,
    }
}

/// An audit record in full.
pub fn record(full: &AuditEvent) -> AuditRecordResponse {
    AuditRecordResponse {
        event: event(full),
        user_agent: full.user_agent.clone(),
        surface: full.surface.clone(),
        outcome: full.outcome.as_str().to_owned(),
        seq: full.link.map(|l| l.seq),
        integrity_hash: full.link.map(|l| hex(&l.hash)),
        prev_hash: full.link.map(|l| hex(&l.prev_hash)),
    }
}
