//! The per-org hash chain: `hash = SHA-256(label || seq || prev_hash || canonical fields)`.
//!
//! The encoding is fixed and unambiguous: every variable-length field is length-prefixed, ids are
//! their 16 bytes, times are unix milliseconds, and `details` is JSON with sorted keys (what
//! `serde_json` produces for a map). Changing it would break every stored chain, so it is
//! versioned by its label.

use super::AuditEvent;
use sha2::{Digest, Sha256};

/// The label that starts every hashed encoding; bump it to change the scheme.
pub const SCHEME_LABEL: &[u8] = b"oneclaw-audit-chain-v1";
/// The `prev_hash` of an org's first event.
pub const GENESIS: [u8; 32] = [0u8; 32];

/// Where an event sits in its org's chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// 1 for the org's first event, then one more for each.
    pub seq: i64,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
}

/// The chain head of an org: its last sequence number and hash (0 and `GENESIS` when empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    pub hash: [u8; 32],
}

impl Head {
    /// The head of an empty chain.
    pub const EMPTY: Head = Head { seq: 0, hash: GENESIS };

    /// The link the next event gets, and the head after it.
    pub fn next(self, event: &AuditEvent) -> (Link, Head) {
        let seq = self.seq + 1;
        let hash = event_hash(seq, &self.hash, event);
        (Link { seq, prev_hash: self.hash, hash }, Head { seq, hash })
    }
}

fn put(buffer: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    buffer.extend_from_slice(&len.to_be_bytes());
    buffer.extend_from_slice(bytes);
}

/// The hash of an event at `seq` after `prev_hash`.
pub fn event_hash(seq: i64, prev_hash: &[u8; 32], event: &AuditEvent) -> [u8; 32] {
    let mut buffer = Vec::with_capacity(256);
    put(&mut buffer, SCHEME_LABEL);
    buffer.extend_from_slice(&seq.to_be_bytes());
    buffer.extend_from_slice(prev_hash);
    put(&mut buffer, event.id.0.as_bytes());
    put(&mut buffer, event.org_id.0.as_bytes());
    put(&mut buffer, event.actor_type.as_bytes());
    put(&mut buffer, event.actor_id.as_ref().map_or(&[][..], |id| id.as_bytes()));
    put(&mut buffer, event.action.as_bytes());
    put(&mut buffer, event.resource_type.as_bytes());
    put(&mut buffer, event.resource_id.as_deref().unwrap_or_default().as_bytes());
    put(&mut buffer, event.details.to_string().as_bytes());
    put(&mut buffer, event.ip_address.as_deref().unwrap_or_default().as_bytes());
    put(&mut buffer, event.user_agent.as_deref().unwrap_or_default().as_bytes());
    put(&mut buffer, event.surface.as_bytes());
    put(&mut buffer, event.outcome.as_str().as_bytes());
    let millis = i64::try_from(event.created_at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    buffer.extend_from_slice(&millis.to_be_bytes());
    Sha256::digest(&buffer).into()
}

/// Lower-case hex, for the wire.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes a checkpoint signature covers: label, org, seq, head hash, time.
pub fn checkpoint_message(org: uuid::Uuid, head: Head, signed_at_ms: i64) -> Vec<u8> {
    let mut buffer = b"oneclaw-audit-checkpoint-v1".to_vec();
    buffer.extend_from_slice(org.as_bytes());
    buffer.extend_from_slice(&head.seq.to_be_bytes());
    buffer.extend_from_slice(&head.hash);
    buffer.extend_from_slice(&signed_at_ms.to_be_bytes());
    buffer
}
