//! Reading and verifying the audit log, and signing checkpoints of every org's chain.

use super::Deps;
use super::access::Access;
use super::change::Change;
use crate::audit::AuditEvent;
use crate::audit::chain::Head;
use crate::audit::verify::{Chain, Checkpoint, Report, verify};

fn len(events: &[AuditEvent]) -> i64 {
    i64::try_from(events.len()).unwrap_or(i64::MAX)
}
use crate::ids::OrgId;
use crate::ports::AuditQuery;
use crate::principal::Caller;
use crate::{Error, Result};
use time::OffsetDateTime;

/// Largest page of events.
pub const MAX_PAGE: i64 = 1000;
/// Events read per round trip while verifying.
const VERIFY_BATCH: i64 = 5000;

/// Audit service.
pub struct Audit<'a> {
    deps: &'a Deps,
}

impl<'a> Audit<'a> {
    pub(crate) fn new(deps: &'a Deps) -> Self {
        Self { deps }
    }

    /// The caller's org's events, newest first. Owners and admins see all of them; members and
    /// agents only the events they did or that are about them (see docs/ACCESS.md).
    pub async fn list(&self, caller: &Caller, query: AuditQuery) -> Result<Vec<AuditEvent>> {
        if !(1..=MAX_PAGE).contains(&query.limit) {
            return Err(Error::invalid_field("limit", format!("must be between 1 and {MAX_PAGE}")));
        }
        if query.offset < 0 {
            return Err(Error::invalid_field("offset", "must not be negative"));
        }
        if let (Some(from), Some(to)) = (query.from, query.to)
            && from > to
        {
            return Err(Error::invalid_field("from", "must not be after to"));
        }
        let filters = [query.action.as_deref(), query.resource_id.as_deref()];
        if filters.into_iter().flatten().any(|text| text.contains('\0')) {
            return Err(Error::invalid("A filter may not contain a NUL character"));
        }
        let events = self.visible(caller, query).await?;
        // A paid query (past the allowance), charged once it has its answer.
        super::charging::charge_alone(self.deps, caller, crate::billing::PaidOperation::AuditQuery).await?;
        Ok(events)
    }

    /// The caller's few most recent visible events (the dashboard's home page): not a query of
    /// the log, so not paid for.
    pub async fn recent(&self, caller: &Caller, limit: i64) -> Result<Vec<AuditEvent>> {
        self.visible(caller, AuditQuery { limit: limit.clamp(1, MAX_PAGE), ..AuditQuery::default() }).await
    }

    /// The events of `query` the caller may see: all of the org's for owners and admins, else
    /// only those by or about the caller.
    async fn visible(&self, caller: &Caller, mut query: AuditQuery) -> Result<Vec<AuditEvent>> {
        query.limit = query.limit.min(MAX_PAGE);
        if !Access::new(self.deps).is_admin(caller).await? {
            query.about = Some(caller.principal.who.id);
        }
        self.deps.store.audit_events(caller.org_id(), &query).await
    }

    /// Verifies the caller's org's chain (humans only): up to `limit` events from the first at
    /// or after `from` (or the start), stopping at `to`.
    pub async fn verify(
        &self,
        caller: &Caller,
        from: Option<OffsetDateTime>,
        to: Option<OffsetDateTime>,
        limit: i64,
    ) -> Result<Report> {
        if caller.principal.user_id().is_none() || !Access::new(self.deps).is_admin(caller).await? {
            return Err(Error::Forbidden("Only org owners and admins verify the audit log".to_owned()));
        }
        if !(1..=1_000_000).contains(&limit) {
            return Err(Error::invalid_field("limit", "must be between 1 and 1000000"));
        }
        self.verify_org(caller.org_id(), from, to, limit).await
    }

    /// Verifies one org's chain, reading it in batches (so a log of any size fits in memory);
    /// also used by `oneclaw audit verify`, for every org.
    pub async fn verify_org(
        &self,
        org: OrgId,
        from: Option<OffsetDateTime>,
        to: Option<OffsetDateTime>,
        limit: i64,
    ) -> Result<Report> {
        self.verify_org_in_batches(org, from, to, limit, VERIFY_BATCH).await
    }

    /// `verify_org` reading `batch_size` events per round trip (tests use small batches to
    /// cross batch boundaries).
    pub async fn verify_org_in_batches(
        &self,
        org: OrgId,
        from: Option<OffsetDateTime>,
        to: Option<OffsetDateTime>,
        limit: i64,
        batch_size: i64,
    ) -> Result<Report> {
        let store = &self.deps.store;
        let checkpoints = store.audit_checkpoints(org).await?;
        let signer = self.deps.chain_signer.as_ref();
        let mut start = Head::EMPTY;
        let mut trusted_until = 0;
        let mut after = 0;
        let mut started = from.is_none();
        let mut total = Report {
            chain_valid: true,
            events_checked: 0,
            events_verified: 0,
            checkpoints_checked: 0,
            broken_at_event_id: None,
            broken_at_seq: None,
            reason: None,
            verified_head: start,
            trusted_until,
        };
        // The head before the events: a record appended while the chain is read lies past it
        // and is left for the next verification. Read after them, the head of a busy log was
        // ahead of the last event read, which looked like events cut from the end.
        let head_at_start = store.audit_head(org).await?;
        loop {
            let mut batch = store.audit_chain(org, after, batch_size).await?;
            let mut at_end = batch.len() < usize::try_from(batch_size).unwrap_or(usize::MAX);
            if let Some(past) = batch.iter().position(|e| e.link.is_some_and(|l| l.seq > head_at_start.seq)) {
                batch.truncate(past);
                at_end = true;
            }
            after = batch.last().and_then(|e| e.link).map_or(after, |l| l.seq);
            let mut events = Vec::with_capacity(batch.len());
            let mut stop = false;
            for event in batch {
                if !started {
                    if from.is_some_and(|from| event.created_at < from) {
                        if let Some(link) = event.link {
                            start = Head { seq: link.seq, hash: link.hash };
                            trusted_until = link.seq;
                        }
                        continue;
                    }
                    started = true;
                }
                if to.is_some_and(|to| event.created_at > to) || total.events_checked + len(&events) >= limit {
                    stop = true;
                    break;
                }
                events.push(event);
            }
            let last = at_end || stop;
            let head = if at_end && !stop { Some(head_at_start) } else { None };
            let upto = events.last().and_then(|e| e.link).map_or(start.seq, |l| l.seq);
            let in_range: Vec<Checkpoint> = checkpoints
                .iter()
                .filter(|c| c.head.seq > start.seq && (head.is_some() || c.head.seq <= upto))
                .cloned()
                .collect();
            let report = verify(&Chain { start, events: &events, head, checkpoints: &in_range, trusted_until }, signer);
            total.events_checked += report.events_checked;
            total.events_verified += report.events_verified;
            total.checkpoints_checked += report.checkpoints_checked;
            total.verified_head = report.verified_head;
            if !report.chain_valid {
                total.chain_valid = false;
                total.broken_at_seq = report.broken_at_seq;
                total.reason = report.reason;
                total.broken_at_event_id = match (report.broken_at_event_id, report.broken_at_seq) {
                    (Some(id), _) => Some(id),
                    // The earliest suspect event lies in an earlier batch: look it up.
                    (None, Some(seq)) => store.audit_chain(org, seq - 1, 1).await?.first().map(|e| e.id.0),
                    (None, None) => None,
                };
                return Ok(total);
            }
            start = report.verified_head;
            trusted_until = report.trusted_until;
            total.trusted_until = trusted_until;
            if last {
                return Ok(total);
            }
        }
    }

    /// Signs a checkpoint of every org whose chain moved since its last checkpoint. Returns how
    /// many were signed.
    pub async fn checkpoint_all(&self) -> Result<usize> {
        let now = self.deps.clock.now();
        let mut signed = 0;
        for (org, head) in self.deps.store.audit_heads().await? {
            let last = self.deps.store.audit_last_checkpoint_seq(org).await?;
            if head.seq <= last {
                continue;
            }
            let checkpoint = Checkpoint::sign(self.deps.chain_signer.as_ref(), org, head, now);
            let mut change = Change::begin(self.deps.store.as_ref()).await?;
            change.tx().insert_checkpoint(&checkpoint).await?;
            // A checkpoint is not an action: commit it without an event, so signing does not
            // itself move the chain it vouches for.
            change.commit([]).await?;
            signed += 1;
        }
        Ok(signed)
    }
}
