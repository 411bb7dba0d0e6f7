//! Approval requests: a human says yes (once, or for a window) before a principal may use what
//! a `require_approval` policy grants, or before an action an agent may only ask for.

use crate::ids::{ApprovalId, OrgId, PolicyId, UserId, VaultId};
use crate::principal::PrincipalRef;
use time::OffsetDateTime;
use uuid::Uuid;

/// How long a request waits for a decision before it expires.
pub const REQUEST_TTL_SECONDS: i64 = 15 * 60;

/// Where a request stands. `Used` is a one-use approval already spent; on the wire it stays
/// `approved` (1claw's statuses are pending, approved, rejected and expired).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalStatus {
    Pending,
    Approved,
    Rejected,
    Expired,
    Used,
}

impl ApprovalStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
            Self::Used => "used",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "pending" => Self::Pending,
            "approved" => Self::Approved,
            "rejected" => Self::Rejected,
            "expired" => Self::Expired,
            "used" => Self::Used,
            _ => return None,
        })
    }

    /// The status 1claw's clients know.
    pub fn wire(self) -> &'static str {
        match self {
            Self::Used => "approved",
            other => other.as_str(),
        }
    }
}

/// What the request is for: the use of a secret a policy gates, or an action an agent asks a
/// human to take (`POST /v1/approvals/request`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretUse {
    pub vault_id: VaultId,
    pub path: String,
    /// read, write, delete or rotate.
    pub operation: String,
    pub policy_id: PolicyId,
}

/// One approval request.
#[derive(Debug, Clone)]
pub struct Approval {
    pub id: ApprovalId,
    pub org_id: OrgId,
    /// Who asked (the agent, or a user under an approval policy).
    pub requester: PrincipalRef,
    /// The human it is addressed to: the vault's owner, or the agent's creator.
    pub addressed_to: UserId,
    /// `secret.read` and the like, or the action an agent named.
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    /// Set for a gated secret use: exactly what an approval lets through.
    pub secret_use: Option<SecretUse>,
    /// A JSON description, as given or as built for a secret use. Never a value.
    pub summary: serde_json::Value,
    pub reason: Option<String>,
    pub risk_tier: i64,
    pub requester_ip: Option<String>,
    /// Users the policy names as approvers, besides the vault's owner and the org's admins.
    pub approvers: Vec<Uuid>,
    /// The longest window an approver may open (0: one use only).
    pub max_window_seconds: i64,
    pub status: ApprovalStatus,
    pub decided_by: Option<UserId>,
    pub decision_reason: Option<String>,
    pub decided_at: Option<OffsetDateTime>,
    /// A pending request expires then.
    pub expires_at: OffsetDateTime,
    /// An approval for a window lets uses through until then.
    pub grant_until: Option<OffsetDateTime>,
    /// An approval for one use: 1 until it is spent.
    pub uses_left: Option<i64>,
    pub created_at: OffsetDateTime,
}

impl Approval {
    /// The status as of `now`: a pending request past its expiry reads as expired.
    pub fn status_at(&self, now: OffsetDateTime) -> ApprovalStatus {
        match self.status {
            ApprovalStatus::Pending if self.expires_at <= now => ApprovalStatus::Expired,
            other => other,
        }
    }
}
