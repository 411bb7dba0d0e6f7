//! PostgreSQL: the audit journal's batch in one statement. The journal writes one batch at a
//! time, and through a transaction a batch took six round trips (BEGIN, the head locked, its
//! newest event's time, the INSERT, the head UPDATE, COMMIT): about 2 ms under load, while
//! every read in the next batch waited. Here this node remembers each org's head as its last
//! batch left it, chains the next batch onto it in memory, and hands the whole batch to
//! `oneclaw_append_audit_batch` (migration 19), which moves each head only from the exact
//! (seq, hash) the batch was chained onto and then writes the events and the request counts,
//! all in the statement's one commit.
//!
//! A head remembered wrongly costs nothing but time: if another server or another transaction
//! has appended since, the function writes nothing and says so (SQLSTATE OC001), this node
//! forgets those heads and the batch is written the locking way (`append_audit_batch_in_tx`).
//! A batch with an event a webhook of its org wants, or whose org's webhooks are not known,
//! goes that way too: its deliveries are enqueued in the same transaction (`sql_webhooks.rs`).

use crate::convert::{to_json_text, to_ms};
use crate::sql_audit::{OrgHead, audit_write_failed, head_and_newest, link_events, orgs_in_order};
use crate::sql_webhooks::Subscriptions;
use oneclaw_core::Result;
use oneclaw_core::audit::AuditEvent;
use oneclaw_core::audit::chain::{Head, Link};
use oneclaw_core::ids::OrgId;
use oneclaw_core::ports::RequestCount;
use oneclaw_core::webhooks::event_type;
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use time::OffsetDateTime;
use uuid::Uuid;

/// Orgs whose heads are remembered before the memory is cleared.
const MOST_REMEMBERED: usize = 10_000;

/// The SQLSTATE `oneclaw_append_audit_batch` raises when a head has moved.
const HEAD_MOVED: &str = "OC001";

const APPEND_SQL: &str = "SELECT oneclaw_append_audit_batch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
     $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)";

/// An org's head and its newest event's time, read without a lock: a guess the function checks.
const HEAD_SQL: &str = "SELECT h.seq, h.hash, e.created_at AS newest FROM audit_heads h \
     LEFT JOIN audit_events e ON e.org_id = h.org_id AND e.seq = h.seq WHERE h.org_id = $1";

/// What became of a batch.
pub(crate) enum Appended {
    /// Written and committed.
    Done,
    /// Not written: it goes through a transaction instead.
    NotTaken(Vec<AuditEvent>, Vec<RequestCount>),
}

/// The heads this node's batches left, and the pool the batches are written through.
pub(crate) struct ChainAppends {
    pool: PgPool,
    heads: Mutex<HashMap<OrgId, (Head, OffsetDateTime)>>,
    /// Batches written in one statement (tests and operators tell which way batches go).
    written: AtomicU64,
}

impl ChainAppends {
    pub(crate) fn new(pool: PgPool) -> Self {
        Self { pool, heads: Mutex::default(), written: AtomicU64::new(0) }
    }

    /// Batches written in one statement so far.
    pub(crate) fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Writes the batch in one statement if it can; else hands it back untouched.
    pub(crate) async fn append(
        &self,
        subscriptions: &Subscriptions,
        events: Vec<AuditEvent>,
        counts: Vec<RequestCount>,
    ) -> Result<Appended> {
        if events.is_empty() || crate::audit_skipped() {
            return Ok(Appended::NotTaken(events, counts));
        }
        let orgs = orgs_in_order(&events);
        if announced(subscriptions, &orgs, &events) {
            return Ok(Appended::NotTaken(events, counts));
        }
        let mut heads = Vec::with_capacity(orgs.len());
        for org in orgs {
            match self.head(org).await? {
                Some((head, newest)) => heads.push(OrgHead { org, head, newest }),
                // An org's first event creates its head: the locking way does that.
                None => return Ok(Appended::NotTaken(events, counts)),
            }
        }
        let from: Vec<(i64, [u8; 32])> = heads.iter().map(|at| (at.head.seq, at.head.hash)).collect();
        let linked = link_events(&events, &mut heads)?;
        match self.write(&heads, &from, &linked, &counts).await {
            Ok(()) => {
                self.written.fetch_add(1, Ordering::Relaxed);
                self.remember(&heads);
                Ok(Appended::Done)
            }
            Err(err) => {
                // Whatever happened, these heads may have moved: read them afresh next time.
                self.forget(&heads);
                match &err {
                    sqlx::Error::Database(db) if db.code().as_deref() == Some(HEAD_MOVED) => {
                        Ok(Appended::NotTaken(events, counts))
                    }
                    _ => Err(audit_write_failed(err)),
                }
            }
        }
    }

    async fn head(&self, org: OrgId) -> Result<Option<(Head, OffsetDateTime)>> {
        if let Some(known) = self.heads.lock().ok().and_then(|heads| heads.get(&org).copied()) {
            return Ok(Some(known));
        }
        let Some(row) =
            sqlx::query(HEAD_SQL).bind(org.0).fetch_optional(&self.pool).await.map_err(audit_write_failed)?
        else {
            return Ok(None);
        };
        // A head whose newest event is not there (a chain being moved in): the locking way.
        let (head, Some(newest)) = head_and_newest(&row)? else { return Ok(None) };
        Ok(Some((head, newest)))
    }

    async fn write(
        &self,
        heads: &[OrgHead],
        from: &[(i64, [u8; 32])],
        linked: &[(AuditEvent, Link)],
        counts: &[RequestCount],
    ) -> sqlx::Result<()> {
        // Each column an array, borrowed from the events where it can be.
        let text =
            |f: &dyn Fn(&AuditEvent) -> &str| -> Vec<&str> { linked.iter().map(|(event, _)| f(event)).collect() };
        let optional = |f: &dyn Fn(&AuditEvent) -> Option<&str>| -> Vec<Option<&str>> {
            linked.iter().map(|(event, _)| f(event)).collect()
        };
        let details: Vec<String> = linked.iter().map(|(event, _)| to_json_text(&event.details)).collect();
        sqlx::query(APPEND_SQL)
            .bind(heads.iter().map(|at| at.org.0).collect::<Vec<Uuid>>())
            .bind(from.iter().map(|(seq, _)| *seq).collect::<Vec<i64>>())
            .bind(from.iter().map(|(_, hash)| hash.to_vec()).collect::<Vec<Vec<u8>>>())
            .bind(heads.iter().map(|at| at.head.seq).collect::<Vec<i64>>())
            .bind(heads.iter().map(|at| at.head.hash.to_vec()).collect::<Vec<Vec<u8>>>())
            .bind(linked.iter().map(|(event, _)| event.id.0).collect::<Vec<Uuid>>())
            .bind(linked.iter().map(|(event, _)| event.org_id.0).collect::<Vec<Uuid>>())
            .bind(text(&|event| &event.actor_type))
            .bind(linked.iter().map(|(event, _)| event.actor_id).collect::<Vec<Option<Uuid>>>())
            .bind(text(&|event| &event.action))
            .bind(text(&|event| &event.resource_type))
            .bind(optional(&|event| event.resource_id.as_deref()))
            .bind(&details)
            .bind(optional(&|event| event.ip_address.as_deref()))
            .bind(optional(&|event| event.user_agent.as_deref()))
            .bind(text(&|event| &event.surface))
            .bind(text(&|event| event.outcome.as_str()))
            .bind(linked.iter().map(|(event, _)| to_ms(event.created_at)).collect::<Vec<i64>>())
            .bind(linked.iter().map(|(_, link)| link.seq).collect::<Vec<i64>>())
            .bind(linked.iter().map(|(_, link)| link.prev_hash.to_vec()).collect::<Vec<Vec<u8>>>())
            .bind(linked.iter().map(|(_, link)| link.hash.to_vec()).collect::<Vec<Vec<u8>>>())
            .bind(counts.iter().map(|count| count.org.0).collect::<Vec<Uuid>>())
            .bind(counts.iter().map(|count| count.month.as_str()).collect::<Vec<&str>>())
            .bind(counts.iter().map(|count| count.n).collect::<Vec<i64>>())
            .execute(&self.pool)
            .await
            .map(drop)
    }

    fn remember(&self, heads: &[OrgHead]) {
        if let Ok(mut known) = self.heads.lock() {
            if known.len() >= MOST_REMEMBERED {
                known.clear();
            }
            for at in heads {
                known.insert(at.org, (at.head, at.newest));
            }
        }
    }

    fn forget(&self, heads: &[OrgHead]) {
        if let Ok(mut known) = self.heads.lock() {
            for at in heads {
                known.remove(&at.org);
            }
        }
    }
}

/// Whether a webhook may want an event of the batch (or an org's webhooks are not known here).
/// An org's subscriptions are looked up once, and only if one of its events is announceable.
fn announced(subscriptions: &Subscriptions, orgs: &[OrgId], events: &[AuditEvent]) -> bool {
    orgs.iter().any(|&org| {
        let mut kinds = events.iter().filter(|event| event.org_id == org).filter_map(event_type).peekable();
        if kinds.peek().is_none() {
            return false;
        }
        match subscriptions.held(org) {
            Ok(types) => kinds.any(|kind| types.iter().any(|t| t == kind)),
            Err(_) => true,
        }
    })
}
