//! Event webhooks: what an org subscribes to, which audit actions become which event types,
//! and how a delivery is signed.
//!
//! A delivery's body is `{"id", "type", "created_at", "org_id", "data"}` where `data` is the
//! audit event's actor, resource and details (never a secret value: audit records hold none).
//! It is signed with HMAC-SHA256 over `"{timestamp}.{body}"` with the webhook's secret, sent as
//! `X-Oneclaw-Signature: t={timestamp},v1={hex}`; a receiver recomputes it and refuses a
//! timestamp older than five minutes (`REPLAY_WINDOW_SECONDS`).

use crate::audit::{AuditEvent, Outcome, action};
use crate::ids::{OrgId, UserId};
use hmac::{Hmac, KeyInit, Mac};
use time::OffsetDateTime;
use uuid::Uuid;

/// The event types a webhook may subscribe to.
pub const EVENT_TYPES: &[&str] = &[
    "approval.requested",
    "approval.decided",
    "secret.read",
    "share.opened",
    "agent.created",
    "agent.key_rotated",
    "policy.changed",
    "member.joined",
    "audit.chain_broken",
];

/// How old a signed timestamp a receiver should still accept.
pub const REPLAY_WINDOW_SECONDS: i64 = 300;

/// How long a delivery is retried before it is marked failed.
pub const RETRY_FOR_SECONDS: i64 = 24 * 3600;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "X-Oneclaw-Signature";

/// One registered webhook (its secret is stored sealed, never here).
#[derive(Debug, Clone)]
pub struct Webhook {
    pub id: Uuid,
    pub org_id: OrgId,
    pub url: String,
    pub events: Vec<String>,
    pub description: String,
    pub is_active: bool,
    pub created_by: UserId,
    pub created_at: OffsetDateTime,
}

/// The event type an audit record becomes, if any: only successful actions are announced.
pub fn event_type(event: &AuditEvent) -> Option<&'static str> {
    if event.outcome != Outcome::Success {
        return None;
    }
    Some(match event.action.as_str() {
        action::APPROVAL_REQUESTED => "approval.requested",
        action::APPROVAL_APPROVED | action::APPROVAL_DENIED => "approval.decided",
        action::SECRET_READ => "secret.read",
        action::SHARE_ACCESS => "share.opened",
        action::AGENT_REGISTER => "agent.created",
        action::AGENT_ROTATE_KEY => "agent.key_rotated",
        action::POLICY_CREATE | action::POLICY_UPDATE | action::POLICY_DELETE => "policy.changed",
        action::MEMBER_JOIN => "member.joined",
        action::AUDIT_CHAIN_BROKEN => "audit.chain_broken",
        _ => return None,
    })
}

/// The delivery body for an audit event (stable key order, no secret values).
pub fn payload(event: &AuditEvent, event_type: &str) -> String {
    let body = serde_json::json!({
        "id": event.id.to_string(),
        "type": event_type,
        "created_at": event.created_at.unix_timestamp(),
        "org_id": event.org_id.to_string(),
        "data": {
            "action": event.action,
            "actor_type": event.actor_type,
            "actor_id": event.actor_id,
            "resource_type": event.resource_type,
            "resource_id": event.resource_id,
            "details": event.details,
        },
    });
    body.to_string()
}

/// `t={timestamp},v1={hex HMAC-SHA256 of "{timestamp}.{body}"}`.
pub fn signature(secret: &[u8], timestamp: i64, body: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail; an empty MAC would verify nothing.
    let hex = match Hmac::<sha2::Sha256>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(body.as_bytes());
            mac.finalize().into_bytes().iter().map(|byte| format!("{byte:02x}")).collect::<String>()
        }
        Err(_) => String::new(),
    };
    format!("t={timestamp},v1={hex}")
}

/// The wait before attempt `attempts + 1`: 2, 4, 8 … seconds, at most an hour.
pub fn backoff_seconds(attempts: i64) -> i64 {
    2_i64.saturating_pow(u32::try_from(attempts.clamp(1, 12)).unwrap_or(12)).min(3600)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::{RequestMeta, Surface};

    #[test]
    fn only_successful_mapped_actions_are_announced_and_signatures_bind_time_and_body() {
        let meta = RequestMeta::internal(Surface::Cli);
        let now = OffsetDateTime::UNIX_EPOCH;
        let read = AuditEvent::system(&meta, action::SECRET_READ, "secret", now).detail("path", "db/password");
        assert_eq!(event_type(&read), Some("secret.read"));
        let refused = read.clone().outcome(Outcome::Denied);
        assert_eq!(event_type(&refused), None, "refusals are not announced");
        assert_eq!(event_type(&AuditEvent::system(&meta, "vault.create", "vault", now)), None);
        let body = payload(&read, "secret.read");
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["data"]["details"]["path"], "db/password");
        assert_eq!(parsed["type"], "secret.read");
        let signed = signature(b"whsec_test", 1_700_000_000, &body);
        assert!(signed.starts_with("t=1700000000,v1=") && signed.len() == "t=1700000000,v1=".len() + 64);
        assert_ne!(signed, signature(b"whsec_test", 1_700_000_001, &body), "the time is signed");
        assert_ne!(signed, signature(b"whsec_test", 1_700_000_000, &format!("{body} ")), "the body is signed");
        assert_eq!([1, 2, 3, 12, 40].map(backoff_seconds), [2, 4, 8, 3600, 3600]);
    }
}
