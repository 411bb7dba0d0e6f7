//! Organization: members, invitations, IP rules.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One member.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgMemberResponse {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub auth_method: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
}

/// `GET /v1/org/members`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgMembersResponse {
    pub members: Vec<OrgMemberResponse>,
}

/// `POST /v1/org/invite`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InviteRequest {
    pub email: String,
    #[serde(default)]
    pub role: Option<String>,
}

/// `POST /v1/org/invite` answer (1claw's schema: the invitation travels by mail).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InviteMemberResponse {
    pub message: String,
    pub email: String,
}

/// `POST /v1/org/invites` answer. `invite_token` is shown this once: whoever presents it at
/// sign-up (`invite_token`) joins, so hand it only to the person invited.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InviteResponse {
    pub message: String,
    pub email: String,
    pub id: uuid::Uuid,
    pub role: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: time::OffsetDateTime,
    pub invite_token: crate::SecretString,
}

/// One invitation in `GET /v1/org/invites` (never its token).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InviteItem {
    pub id: uuid::Uuid,
    pub email: String,
    pub role: String,
    /// `open`, `accepted`, `revoked` or `expired`.
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<time::OffsetDateTime>,
}

/// `GET /v1/org/invites`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InviteListResponse {
    pub invites: Vec<InviteItem>,
}

/// `PATCH /v1/org/members/{user_id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateMemberRequest {
    pub role: String,
}

/// `POST /v1/security/ip-rules`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateIpRuleRequest {
    pub rule_type: String,
    pub cidr: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub applies_to: Option<String>,
}

/// An IP rule.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IpRuleResponse {
    pub id: Uuid,
    pub org_id: Uuid,
    pub rule_type: String,
    pub cidr: String,
    pub label: String,
    pub applies_to: String,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
}

/// `GET /v1/security/ip-rules`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IpRuleListResponse {
    pub rules: Vec<IpRuleResponse>,
}
