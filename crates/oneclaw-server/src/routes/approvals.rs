//! `/v1/approvals`: agents ask (`request`) and poll (`get`); humans list, decide and cancel
//! (see `oneclaw_core::services::approvals`).

use super::params;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, JsonBody};
use crate::state::AppState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, RawPathParams, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use oneclaw_core::approvals::Approval;
use oneclaw_core::ids::ApprovalId;
use oneclaw_core::principal::PrincipalKind;
use oneclaw_core::services::{AgentRequest, Verdict};
use oneclaw_types::approvals::{
    ApprovalListResponse, ApprovalResponse, CancelApprovalRequest, DecideApprovalRequest, RequestApprovalRequest,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/approvals", get(list))
        .route("/v1/approvals/request", post(request))
        .route("/v1/approvals/quick-decide", get(quick_decide))
        .route("/v1/approvals/{approval_id}", get(show))
        .route("/v1/approvals/{approval_id}/decide", post(decide))
        .route("/v1/approvals/{approval_id}/cancel", post(cancel))
}

/// The wire form; the status is the one as of `now` (a pending request past its expiry reads
/// as expired).
pub(crate) fn approval(approval: &Approval, now: time::OffsetDateTime) -> ApprovalResponse {
    ApprovalResponse {
        id: approval.id.to_string(),
        org_id: approval.org_id.to_string(),
        user_id: approval.addressed_to.to_string(),
        agent_id: (approval.requester.kind == PrincipalKind::Agent).then(|| approval.requester.id.to_string()),
        action: approval.action.clone(),
        target_type: approval.target_type.clone(),
        target_id: approval.target_id.clone(),
        risk_tier: approval.risk_tier,
        status: approval.status_at(now).wire().to_owned(),
        summary: approval.summary.clone(),
        reason: approval.reason.clone(),
        decision_reason: approval.decision_reason.clone(),
        decided_by: approval.decided_by.map(|user| user.to_string()),
        decided_at: approval.decided_at,
        expires_at: Some(approval.expires_at),
        created_at: approval.created_at,
    }
}

fn id(path: &RawPathParams) -> ApiResult<ApprovalId> {
    Ok(ApprovalId(params::uuid(path, "approval_id")?))
}

#[derive(serde::Deserialize)]
struct ListQuery {
    status: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    Auth(caller): Auth,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<ApprovalListResponse>> {
    let Query(query) = query.map_err(|_| ApiError::bad_request("The query string is malformed"))?;
    let limit = params::int("limit", query.limit.as_deref(), 50)?;
    let offset = params::int("offset", query.offset.as_deref(), 0)?;
    let status = query.status.as_deref().filter(|s| !s.is_empty());
    let found = state.core.approvals().list(&caller, status, limit, offset).await?;
    let now = state.core.deps().clock.now();
    Ok(Json(ApprovalListResponse { approvals: found.iter().map(|a| approval(a, now)).collect() }))
}

async fn request(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<RequestApprovalRequest>,
) -> ApiResult<impl IntoResponse> {
    let body = body.required()?;
    let asked = AgentRequest {
        action: body.action,
        target_type: body.target_type,
        target_id: body.target_id,
        summary: body.summary,
        reason: body.reason,
        risk_tier: body.risk_tier,
    };
    let made = state.core.approvals().request(&caller, asked).await?;
    let now = state.core.deps().clock.now();
    let location = format!("/v1/approvals/{}", made.id);
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)], Json(approval(&made, now))))
}

async fn show(
    State(state): State<AppState>,
    Auth(caller): Auth,
    path: RawPathParams,
) -> ApiResult<Json<ApprovalResponse>> {
    let found = state.core.approvals().get(&caller, id(&path)?).await?;
    Ok(Json(approval(&found, state.core.deps().clock.now())))
}

async fn decide(
    State(state): State<AppState>,
    Auth(caller): Auth,
    path: RawPathParams,
    body: JsonBody<DecideApprovalRequest>,
) -> ApiResult<Json<ApprovalResponse>> {
    let body = body.required()?;
    let verdict = Verdict::parse(&body.decision)?;
    let decided = state
        .core
        .approvals()
        .decide(&caller, id(&path)?, verdict, body.reason.as_deref(), body.window_seconds)
        .await?;
    Ok(Json(approval(&decided, state.core.deps().clock.now())))
}

async fn cancel(
    State(state): State<AppState>,
    Auth(caller): Auth,
    path: RawPathParams,
    body: JsonBody<CancelApprovalRequest>,
) -> ApiResult<Json<ApprovalResponse>> {
    let reason = body.0.and_then(|body| body.reason);
    let done = state.core.approvals().cancel(&caller, id(&path)?, reason.as_deref()).await?;
    Ok(Json(approval(&done, state.core.deps().clock.now())))
}

#[derive(serde::Deserialize)]
struct QuickQuery {
    #[serde(default)]
    token: String,
}

/// 1claw's one-click link. It decides nothing on a GET (mail scanners follow links): it sends
/// the browser to the page whose buttons decide (`/approvals/quick`).
async fn quick_decide(query: Result<Query<QuickQuery>, QueryRejection>) -> ApiResult<axum::response::Redirect> {
    let Query(query) = query.map_err(|_| ApiError::bad_request("The query string is malformed"))?;
    let token: String = query.token.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').collect();
    Ok(axum::response::Redirect::to(&format!("/approvals/quick?token={token}")))
}
