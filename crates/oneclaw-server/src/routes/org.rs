//! `/v1/org/*` (members, invitations) and `/v1/security/ip-rules`.

use super::params;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, JsonBody};
use crate::state::AppState;
use crate::views;
use axum::extract::{RawPathParams, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use oneclaw_core::ids::{InviteId, IpRuleId, UserId};
use oneclaw_types::org::{
    CreateIpRuleRequest, InviteListResponse, InviteMemberResponse, InviteRequest, InviteResponse, IpRuleListResponse,
    IpRuleResponse, OrgMemberResponse, OrgMembersResponse, UpdateMemberRequest,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/org/members", get(members))
        .route("/v1/org/members/{user_id}", patch(set_role).delete(remove_member))
        .route("/v1/org/invite", post(invite_by_mail))
        .route("/v1/org/invites", get(invites).post(invite))
        .route("/v1/org/invites/{invite_id}", delete(revoke_invite))
        .route("/v1/security/ip-rules", get(ip_rules).post(create_ip_rule))
        .route("/v1/security/ip-rules/{rule_id}", delete(delete_ip_rule))
}

async fn members(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<OrgMembersResponse>> {
    let members = state.core.team().members(&caller).await?;
    Ok(Json(OrgMembersResponse { members: members.iter().map(views::member).collect() }))
}

/// 1claw's route: the invitation goes out by mail and the answer is `{message, email}` only
/// (its schema; strict clients reject more). Whoever needs the link in hand (no mail, or a
/// chat hand-over) uses `POST /v1/org/invites`, which answers it once.
async fn invite_by_mail(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<InviteRequest>,
) -> ApiResult<Json<InviteMemberResponse>> {
    let request = body.required()?;
    // Without mail the invitation could reach nobody: refused before anything is made.
    if !state.core.mail().enabled() {
        return Err(ApiError::bad_request(
            "This server sends no mail: POST /v1/org/invites (or the dashboard's Team page) makes the invitation \
             and answers its link to hand over",
        ));
    }
    let (invite, _token) = state.core.team().invite(&caller, &request.email, request.role.as_deref()).await?;
    let message = "Invitation sent by mail; it joins this organization once, within 7 days";
    Ok(Json(InviteMemberResponse { message: message.to_owned(), email: invite.email }))
}

/// Our route: the invitation, its id and expiry, and its single-use `invite_token`, shown
/// this once (it is mailed too when the server sends mail).
async fn invite(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<InviteRequest>,
) -> ApiResult<(StatusCode, Json<InviteResponse>)> {
    let request = body.required()?;
    let (invite, token) = state.core.team().invite(&caller, &request.email, request.role.as_deref()).await?;
    let expires_at = invite.expires_at.unwrap_or(invite.created_at);
    let answer = InviteResponse {
        message: "Invitation made: hand the invite_token to the person invited; signing up with it \
                  (invite_token) joins this organization, once, within 7 days"
            .to_owned(),
        email: invite.email,
        id: invite.id.0,
        role: invite.role.as_str().to_owned(),
        expires_at,
        invite_token: token,
    };
    Ok((StatusCode::CREATED, Json(answer)))
}

async fn invites(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<InviteListResponse>> {
    let now = state.core.deps().clock.now();
    let invites = state.core.team().invites(&caller).await?;
    Ok(Json(InviteListResponse { invites: invites.iter().map(|invite| views::invite(invite, now)).collect() }))
}

async fn revoke_invite(
    State(state): State<AppState>,
    Auth(caller): Auth,
    path: RawPathParams,
) -> ApiResult<StatusCode> {
    state.core.team().revoke_invite(&caller, InviteId(params::uuid(&path, "invite_id")?)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_role(
    State(state): State<AppState>,
    Auth(caller): Auth,
    path: RawPathParams,
    body: JsonBody<UpdateMemberRequest>,
) -> ApiResult<Json<OrgMemberResponse>> {
    let user = UserId(params::uuid(&path, "user_id")?);
    let member = state.core.team().set_role(&caller, user, &body.required()?.role).await?;
    Ok(Json(views::member(&member)))
}

async fn remove_member(
    State(state): State<AppState>,
    Auth(caller): Auth,
    path: RawPathParams,
) -> ApiResult<StatusCode> {
    state.core.team().remove(&caller, UserId(params::uuid(&path, "user_id")?)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn ip_rules(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<IpRuleListResponse>> {
    let rules = state.core.ip_rules().list(&caller).await?;
    Ok(Json(IpRuleListResponse { rules: rules.iter().map(views::ip_rule).collect() }))
}

async fn create_ip_rule(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: JsonBody<CreateIpRuleRequest>,
) -> ApiResult<(StatusCode, Json<IpRuleResponse>)> {
    let request = body.required()?;
    let rule = state
        .core
        .ip_rules()
        .create(&caller, &request.rule_type, &request.cidr, request.label.as_deref(), request.applies_to.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(views::ip_rule(&rule))))
}

async fn delete_ip_rule(
    State(state): State<AppState>,
    Auth(caller): Auth,
    path: RawPathParams,
) -> ApiResult<StatusCode> {
    state.core.ip_rules().delete(&caller, IpRuleId(params::uuid(&path, "rule_id")?)).await?;
    Ok(StatusCode::NO_CONTENT)
}
