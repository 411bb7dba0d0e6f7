//! Verifying an org's chain: every link, the stored head (so a cut tail shows), and the signed
//! checkpoints (so a chain rewritten consistently from some point on shows too).

use super::AuditEvent;
use super::chain::{Head, checkpoint_message, event_hash};
use crate::ids::OrgId;
use time::OffsetDateTime;
use uuid::Uuid;

/// Signs and checks checkpoints with a key the key provider holds.
pub trait ChainSigner: Send + Sync + 'static {
    /// Names the key, so a rotated key's checkpoints stay checkable.
    fn key_id(&self) -> String;
    /// Signs a checkpoint message.
    fn sign(&self, message: &[u8]) -> Vec<u8>;
    /// Checks a signature made by `sign`.
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool;
}

/// A signed statement: "the org's chain had this head at this time".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub org_id: OrgId,
    pub head: Head,
    pub signature: Vec<u8>,
    pub key_id: String,
    pub signed_at: OffsetDateTime,
}

impl Checkpoint {
    /// Signs the head of an org's chain.
    pub fn sign(signer: &dyn ChainSigner, org_id: OrgId, head: Head, now: OffsetDateTime) -> Self {
        let signature = signer.sign(&checkpoint_message(org_id.0, head, millis(now)));
        Self { org_id, head, signature, key_id: signer.key_id(), signed_at: now }
    }

    fn signature_ok(&self, signer: &dyn ChainSigner) -> bool {
        self.key_id == signer.key_id()
            && signer.verify(&checkpoint_message(self.org_id.0, self.head, millis(self.signed_at)), &self.signature)
    }
}

fn millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub chain_valid: bool,
    /// Events read.
    pub events_checked: i64,
    /// Events whose link held, before the first break.
    pub events_verified: i64,
    pub checkpoints_checked: i64,
    /// The first event that is not what was recorded (the earliest one that may have been
    /// changed); `None` when the damage is past the last event (a cut tail).
    pub broken_at_event_id: Option<Uuid>,
    pub broken_at_seq: Option<i64>,
    pub reason: Option<String>,
    /// The head after the last verified event (where the next batch continues).
    pub verified_head: Head,
    /// The seq of the last checkpoint that matched (or the start).
    pub trusted_until: i64,
}

/// What to verify: events in `seq` order following `start`; `head` is the stored head when the
/// events run to the end of the chain.
pub struct Chain<'a> {
    pub start: Head,
    pub events: &'a [AuditEvent],
    pub head: Option<Head>,
    pub checkpoints: &'a [Checkpoint],
    /// The seq of the last checkpoint already matched before `start` (`start.seq` if none).
    pub trusted_until: i64,
}

struct Break {
    seq: i64,
    event: Option<Uuid>,
    reason: String,
}

/// Verifies a chain; see `Report`.
pub fn verify(chain: &Chain<'_>, signer: &dyn ChainSigner) -> Report {
    let mut breaks: Vec<Break> = Vec::new();
    let mut prev = chain.start;
    let mut verified = 0;
    for event in chain.events {
        let expected_seq = prev.seq + 1;
        let problem = match event.link {
            None => Some("the event has no chain link".to_owned()),
            Some(link) if link.seq != expected_seq => {
                Some(format!("expected event {expected_seq} of the chain, found event {}", link.seq))
            }
            Some(link) if link.prev_hash != prev.hash => {
                Some("its previous-hash does not match the event before it".to_owned())
            }
            Some(link) if event_hash(link.seq, &link.prev_hash, event) != link.hash => {
                Some("its fields do not match its hash (the event was changed)".to_owned())
            }
            Some(_) => None,
        };
        if let Some(reason) = problem {
            breaks.push(Break { seq: expected_seq, event: Some(event.id.0), reason });
            break;
        }
        if let Some(link) = event.link {
            prev = Head { seq: link.seq, hash: link.hash };
        }
        verified += 1;
    }
    let intact = breaks.is_empty();
    if intact
        && let Some(head) = chain.head
        && head != prev
    {
        breaks.push(Break {
            seq: prev.seq + 1,
            event: None,
            reason: format!(
                "the chain ends at event {} but its recorded head is event {}: events were removed",
                prev.seq, head.seq
            ),
        });
    }
    let first_seq = chain.start.seq + 1;
    let last_seq = prev.seq;
    let mut checkpoints_checked = 0;
    let mut trusted_until = chain.trusted_until;
    let mut sorted: Vec<&Checkpoint> = chain.checkpoints.iter().collect();
    sorted.sort_by_key(|c| c.head.seq);
    for checkpoint in sorted {
        if checkpoint.head.seq < first_seq {
            continue;
        }
        checkpoints_checked += 1;
        let earliest_changed = |reason: String| {
            let seq = trusted_until + 1;
            let event = chain.events.iter().find(|e| e.link.is_some_and(|l| l.seq == seq)).map(|e| e.id.0);
            Break { seq, event, reason }
        };
        if !checkpoint.signature_ok(signer) {
            breaks.push(earliest_changed(format!(
                "the checkpoint at event {} has an invalid signature",
                checkpoint.head.seq
            )));
            break;
        }
        if checkpoint.head.seq > last_seq {
            if chain.head.is_some() && intact {
                breaks.push(earliest_changed(format!(
                    "a signed checkpoint vouches for event {}, but the chain ends at event {last_seq}",
                    checkpoint.head.seq
                )));
            }
            break;
        }
        let recorded = chain.events.iter().find(|e| e.link.is_some_and(|l| l.seq == checkpoint.head.seq));
        if recorded.and_then(|e| e.link).map(|l| l.hash) != Some(checkpoint.head.hash) {
            breaks.push(earliest_changed(format!(
                "the chain does not match the signed checkpoint at event {}: it was rewritten after event {trusted_until}",
                checkpoint.head.seq
            )));
            break;
        }
        trusted_until = checkpoint.head.seq;
    }
    let first = breaks.into_iter().min_by_key(|b| b.seq);
    Report {
        chain_valid: first.is_none(),
        events_checked: i64::try_from(chain.events.len()).unwrap_or(i64::MAX),
        events_verified: verified,
        checkpoints_checked,
        broken_at_event_id: first.as_ref().and_then(|b| b.event),
        broken_at_seq: first.as_ref().map(|b| b.seq),
        reason: first.map(|b| b.reason),
        verified_head: prev,
        trusted_until,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditEvent;
    use crate::principal::{RequestMeta, Surface};

    /// A test signer: HMAC-less, but distinguishes keys and messages (real signing is in crypto).
    struct FakeSigner;
    impl ChainSigner for FakeSigner {
        fn key_id(&self) -> String {
            "test".to_owned()
        }
        fn sign(&self, message: &[u8]) -> Vec<u8> {
            use sha2::Digest;
            sha2::Sha256::digest([b"k".as_slice(), message].concat()).to_vec()
        }
        fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
            self.sign(message) == signature
        }
    }

    fn chain_of(n: usize) -> (Vec<AuditEvent>, Head) {
        let org = OrgId::generate();
        let mut head = Head::EMPTY;
        let mut events = Vec::new();
        for i in 0..n {
            let mut event = AuditEvent::system(
                &RequestMeta::internal(Surface::Api),
                "secret.read",
                "secret",
                OffsetDateTime::UNIX_EPOCH,
            )
            .detail("i", i);
            event.org_id = org;
            let (link, next) = head.next(&event);
            event.link = Some(link);
            head = next;
            events.push(event);
        }
        (events, head)
    }

    fn check(events: &[AuditEvent], head: Head, checkpoints: &[Checkpoint]) -> Report {
        verify(&Chain { start: Head::EMPTY, events, head: Some(head), checkpoints, trusted_until: 0 }, &FakeSigner)
    }

    #[test]
    fn an_intact_chain_verifies() {
        let (events, head) = chain_of(5);
        let report = check(&events, head, &[]);
        assert!(report.chain_valid, "{report:?}");
        assert_eq!((report.events_checked, report.events_verified), (5, 5));
    }

    #[test]
    fn a_changed_field_breaks_at_that_event() {
        let (mut events, head) = chain_of(5);
        events[2].details = serde_json::json!({"i": 99});
        let report = check(&events, head, &[]);
        assert_eq!(report.broken_at_event_id, Some(events[2].id.0));
        assert_eq!(report.events_verified, 2);
    }

    #[test]
    fn a_consistent_rewrite_is_caught_by_a_checkpoint() {
        let (events, head) = chain_of(6);
        let checkpoint = Checkpoint::sign(
            &FakeSigner,
            events[0].org_id,
            Head { seq: 4, hash: events[3].link.unwrap().hash },
            OffsetDateTime::UNIX_EPOCH,
        );
        // Rewrite from event 3 on, recomputing every hash.
        let mut forged = events.clone();
        let mut prev = Head { seq: 2, hash: forged[1].link.unwrap().hash };
        for event in forged.iter_mut().skip(2) {
            event.action = "secret.write".to_owned();
            let (link, next) = prev.next(event);
            event.link = Some(link);
            prev = next;
        }
        let report = check(&forged, prev, std::slice::from_ref(&checkpoint));
        assert!(!report.chain_valid);
        assert_eq!(report.broken_at_seq, Some(1), "no earlier checkpoint: everything after the start is suspect");
        assert!(check(&events, head, &[checkpoint]).chain_valid);
    }
}
