//! The audit chain in SQL: appending under the org's head lock, reading chains, heads and
//! checkpoints. Generic over the backend like `sql_impl.rs`.

use super::sql_rows::audit_from;
use crate::backend::{BuildStatement, Columns, SqlBackend, Statement, Tx, get};
use crate::convert::{from_ms, to_json_text, to_ms};
use crate::errors::db_error;
use oneclaw_core::audit::AuditEvent;
use oneclaw_core::audit::chain::{GENESIS, Head, Link};
use oneclaw_core::audit::verify::Checkpoint;
use oneclaw_core::ids::OrgId;
use oneclaw_core::{Error, Result};
use sqlx::{Pool, QueryBuilder};
use time::OffsetDateTime;

/// Any failure to write the audit log refuses the action: the caller's transaction rolls back.
pub(crate) fn audit_write_failed(err: sqlx::Error) -> Error {
    match db_error(err) {
        Error::Unavailable(detail) => Error::Unavailable(detail),
        other => {
            tracing::error!(error = %other, "audit log write failed");
            Error::Unavailable(
                "The audit log cannot be written, so the action was refused and nothing changed.".to_owned(),
            )
        }
    }
}

pub(crate) fn hash32(bytes: Vec<u8>) -> Result<[u8; 32]> {
    bytes.try_into().map_err(|_| Error::Internal("a stored audit hash is not 32 bytes".to_owned()))
}

fn head_from(row: &impl Columns) -> Result<Head> {
    Ok(Head { seq: get(row, "seq")?, hash: hash32(get(row, "hash")?)? })
}

/// Appends an event to its org's chain inside the caller's transaction.
pub(super) async fn append<DB: SqlBackend>(conn: &mut Tx<DB>, event: &AuditEvent) -> Result<()> {
    append_many(conn, std::slice::from_ref(event)).await
}

/// Appends events to their orgs' chains inside the caller's transaction, in order. Each org's
/// head is read (and locked) once and written once, however many of its events there are.
pub(super) async fn append_many<DB: SqlBackend>(conn: &mut Tx<DB>, events: &[AuditEvent]) -> Result<()> {
    if crate::audit_skipped() {
        return Ok(());
    }
    let append = Append::read_heads(conn, events).await?;
    if let Some(mut sql) = append.one_statement::<DB>() {
        // Prepared once in the shape every change's record takes (one event, one org).
        sql.build().persistent(append.is_common()).execute_on(&mut *conn).await.map_err(audit_write_failed)?;
        return Ok(());
    }
    append.write_apart(conn).await
}

/// Events linked onto their orgs' heads, read and locked in the caller's transaction, ready
/// to be written with the heads they move.
struct Append {
    linked: Vec<(AuditEvent, Link)>,
    heads: Vec<OrgHead>,
}

impl Append {
    async fn read_heads<DB: SqlBackend>(conn: &mut Tx<DB>, events: &[AuditEvent]) -> Result<Self> {
        let mut heads = Vec::new();
        for org in orgs_in_order(events) {
            let (head, newest) = locked_head(conn, org).await?;
            heads.push(OrgHead { org, head, newest });
        }
        let linked = link_events(events, &mut heads)?;
        Ok(Self { linked, heads })
    }

    /// The rows and the heads they move as one statement text, run in one round trip, where
    /// the backend takes several statements at once (SQLite, where each statement is a hop to
    /// the connection's worker thread, taken while every other writer waits) and the rows fit
    /// one INSERT; `None` otherwise. (Adding the member's RELEASE to it as well measured
    /// slower: its text then changes with the savepoint's number, so it is parsed every time.)
    fn one_statement<DB: SqlBackend>(&self) -> Option<QueryBuilder<DB>> {
        if !DB::MULTIPLE_STATEMENTS || self.linked.len() > EVENTS_PER_INSERT {
            return None;
        }
        let mut sql = events_insert::<DB>(&self.linked);
        for OrgHead { org, head, .. } in &self.heads {
            sql.push("; UPDATE audit_heads SET seq = ").push_arg(head.seq);
            sql.push(", hash = ").push_arg(&head.hash[..]).push(" WHERE org_id = ").push_arg(org.0);
        }
        Some(sql)
    }

    /// One event of one org: the statement text is the same every time.
    fn is_common(&self) -> bool {
        self.linked.len() == 1 && self.heads.len() == 1
    }

    /// Writes the rows (in INSERTs of at most `EVENTS_PER_INSERT`) and the heads, a statement
    /// at a time.
    async fn write_apart<DB: SqlBackend>(&self, conn: &mut Tx<DB>) -> Result<()> {
        insert_events(conn, &self.linked).await?;
        for OrgHead { org, head, .. } in &self.heads {
            sqlx::query(UPDATE_HEAD_SQL)
                .arg(org.0)
                .arg(head.seq)
                .arg(&head.hash[..])
                .execute_on(&mut *conn)
                .await
                .map_err(audit_write_failed)?;
        }
        Ok(())
    }
}

/// An org's chain head during an append, with the time of its newest event: an event is
/// stamped no earlier than the one chained before it, so time order and chain order agree
/// even when requests that began in one order commit in another.
pub(crate) struct OrgHead {
    pub(crate) org: OrgId,
    pub(crate) head: Head,
    pub(crate) newest: OffsetDateTime,
}

/// The orgs of `events`, each once, in org order: the order every batch locks their heads in
/// (the locking way here and `oneclaw_append_audit_batch` alike), so two batches of the same
/// orgs on two PostgreSQL nodes never wait on each other.
pub(crate) fn orgs_in_order(events: &[AuditEvent]) -> Vec<OrgId> {
    let mut orgs: Vec<OrgId> = events.iter().map(|event| event.org_id).collect();
    orgs.sort_unstable_by_key(|org| org.0);
    orgs.dedup();
    orgs
}

/// Chains `events`, in order, onto the heads of their orgs (`heads` holds one for each org in
/// them, and ends holding the new heads): each event stamped and linked. The one place the
/// SQL stores and SQLite's batch writer (`sqlite_journal.rs`) compute links.
pub(crate) fn link_events(events: &[AuditEvent], heads: &mut [OrgHead]) -> Result<Vec<(AuditEvent, Link)>> {
    let mut linked = Vec::with_capacity(events.len());
    for event in events {
        let Some(at) = heads.iter_mut().find(|at| at.org == event.org_id) else {
            return Err(Error::Internal("an audit event's org has no head in its batch".to_owned()));
        };
        let stamped = AuditEvent { created_at: event.created_at.max(at.newest), ..event.clone() };
        let (link, next) = at.head.next(&stamped);
        at.head = next;
        at.newest = stamped.created_at;
        linked.push((stamped, link));
    }
    Ok(linked)
}

/// Writes an org's new head.
pub(crate) const UPDATE_HEAD_SQL: &str = "UPDATE audit_heads SET seq = $2, hash = $3 WHERE org_id = $1";
/// Creates an org's empty head (`$2` the genesis hash) unless it exists.
pub(crate) const INSERT_EMPTY_HEAD_SQL: &str =
    "INSERT INTO audit_heads (org_id, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (org_id) DO NOTHING";
/// When the event at `$2` of org `$1`'s chain was stamped.
pub(crate) const EVENT_TIME_SQL: &str = "SELECT created_at FROM audit_events WHERE org_id = $1 AND seq = $2";
/// One chained event, its values in `audit_cols!` order.
pub(crate) const INSERT_EVENT_SQL: &str = concat!(
    "INSERT INTO audit_events (",
    audit_cols!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
);

/// The org's head and when its newest event was stamped (the start of time for an empty
/// chain), created empty if needed, locked for the rest of the transaction. One statement when
/// the head exists, which is every time but an org's first event: each statement is a round
/// trip inside the write lock.
async fn locked_head<DB: SqlBackend>(conn: &mut Tx<DB>, org: OrgId) -> Result<(Head, OffsetDateTime)> {
    if let Some(found) = head_for_append(conn, org).await? {
        return Ok(found);
    }
    sqlx::query(INSERT_EMPTY_HEAD_SQL)
        .arg(org.0)
        .arg(&GENESIS[..])
        .execute_on(&mut *conn)
        .await
        .map_err(audit_write_failed)?;
    head_for_append(conn, org).await?.ok_or_else(|| Error::Internal("the audit head vanished".to_owned()))
}

async fn head_for_append<DB: SqlBackend>(conn: &mut Tx<DB>, org: OrgId) -> Result<Option<(Head, OffsetDateTime)>> {
    let Some(row) = sqlx::query(DB::SELECT_HEAD_FOR_APPEND)
        .arg(org.0)
        .fetch_optional_on(&mut *conn)
        .await
        .map_err(audit_write_failed)?
    else {
        return Ok(None);
    };
    let (head, newest) = head_and_newest(&row)?;
    let newest = match newest {
        Some(at) => at,
        None => newest_event_time(conn, org, head.seq).await?,
    };
    Ok(Some((head, newest)))
}

/// A head row as read for an append (`seq`, `hash`, `newest`): the head, and the time of its
/// newest event where the row carries it (the start of time for an empty chain); `None` where
/// it must be read apart.
pub(crate) fn head_and_newest(row: &impl Columns) -> Result<(Head, Option<OffsetDateTime>)> {
    let head = head_from(row)?;
    let newest = match get::<Option<i64>>(row, "newest")? {
        Some(at) => Some(from_ms(at)?),
        None if head.seq == 0 => Some(OffsetDateTime::UNIX_EPOCH),
        None => None,
    };
    Ok((head, newest))
}

/// When the event at `seq` of the org's chain was stamped (the start of time if it is gone).
async fn newest_event_time<DB: SqlBackend>(conn: &mut Tx<DB>, org: OrgId, seq: i64) -> Result<OffsetDateTime> {
    let at: Option<i64> = sqlx::query(EVENT_TIME_SQL)
        .arg(org.0)
        .arg(seq)
        .fetch_optional_scalar_on(&mut *conn)
        .await
        .map_err(audit_write_failed)?;
    at.map_or(Ok(OffsetDateTime::UNIX_EPOCH), from_ms)
}

/// Most events in one INSERT: 16 values each, well under SQLite's 32,766 and PostgreSQL's
/// 65,535 bound parameters.
const EVENTS_PER_INSERT: usize = 256;

/// Inserts chained events, many rows per statement: a batch of reads' records is one round trip
/// inside the write lock, not one per read.
async fn insert_events<DB: SqlBackend>(conn: &mut Tx<DB>, linked: &[(AuditEvent, Link)]) -> Result<()> {
    for chunk in linked.chunks(EVENTS_PER_INSERT) {
        // Kept prepared only in the one-row shape a change's record takes: every batch size
        // cached would push the hot statements out of the connection's statement cache.
        events_insert::<DB>(chunk)
            .build()
            .persistent(chunk.len() == 1)
            .execute_on(&mut *conn)
            .await
            .map_err(audit_write_failed)?;
    }
    Ok(())
}

/// The INSERT of chained events, one row each (at most `EVENTS_PER_INSERT`).
fn events_insert<DB: SqlBackend>(linked: &[(AuditEvent, Link)]) -> QueryBuilder<DB> {
    let mut sql = QueryBuilder::<DB>::new(concat!("INSERT INTO audit_events (", audit_cols!(), ") VALUES "));
    for (n, (event, link)) in linked.iter().enumerate() {
        sql.push(if n == 0 { "(" } else { ", (" });
        sql.push_arg(event.id.0).push(", ");
        sql.push_arg(event.org_id.0).push(", ");
        sql.push_arg(&event.actor_type).push(", ");
        sql.push_arg(event.actor_id).push(", ");
        sql.push_arg(&event.action).push(", ");
        sql.push_arg(&event.resource_type).push(", ");
        sql.push_arg(event.resource_id.as_deref()).push(", ");
        sql.push_arg(to_json_text(&event.details)).push(", ");
        sql.push_arg(event.ip_address.as_deref()).push(", ");
        sql.push_arg(event.user_agent.as_deref()).push(", ");
        sql.push_arg(&event.surface).push(", ");
        sql.push_arg(event.outcome.as_str()).push(", ");
        sql.push_arg(to_ms(event.created_at)).push(", ");
        sql.push_arg(link.seq).push(", ");
        sql.push_arg(&link.prev_hash[..]).push(", ");
        sql.push_arg(&link.hash[..]).push(")");
    }
    sql
}

/// The org's chain head (`Head::EMPTY` for an org with no events).
pub(super) async fn head<DB: SqlBackend>(pool: &Pool<DB>, org: OrgId) -> Result<Head> {
    let row = sqlx::query("SELECT seq, hash FROM audit_heads WHERE org_id = $1")
        .arg(org.0)
        .fetch_optional_on(pool)
        .await
        .map_err(db_error)?;
    row.as_ref().map_or(Ok(Head::EMPTY), head_from)
}

/// Every org's head.
pub(super) async fn heads<DB: SqlBackend>(pool: &Pool<DB>) -> Result<Vec<(OrgId, Head)>> {
    let rows = sqlx::query("SELECT org_id, seq, hash FROM audit_heads ORDER BY org_id")
        .fetch_all_on(pool)
        .await
        .map_err(db_error)?;
    rows.iter().map(|row| Ok((OrgId(get(row, "org_id")?), head_from(row)?))).collect()
}

/// Up to `limit` events of the org's chain after `after_seq`, in chain order.
pub(super) async fn chain<DB: SqlBackend>(
    pool: &Pool<DB>,
    org: OrgId,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<AuditEvent>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        audit_cols!(),
        " FROM audit_events WHERE org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
    ))
    .arg(org.0)
    .arg(after_seq)
    .arg(limit)
    .fetch_all_on(pool)
    .await
    .map_err(db_error)?;
    rows.iter().map(audit_from).collect()
}

/// The event at `seq` of the org's chain.
pub(super) async fn link_at<DB: SqlBackend>(pool: &Pool<DB>, org: OrgId, seq: i64) -> Result<Option<Head>> {
    let row = sqlx::query("SELECT seq, hash FROM audit_events WHERE org_id = $1 AND seq = $2")
        .arg(org.0)
        .arg(seq)
        .fetch_optional_on(pool)
        .await
        .map_err(db_error)?;
    row.as_ref().map(head_from).transpose()
}

pub(super) async fn checkpoints<DB: SqlBackend>(pool: &Pool<DB>, org: OrgId) -> Result<Vec<Checkpoint>> {
    let rows = sqlx::query(
        "SELECT org_id, seq, hash, signature, key_id, signed_at FROM audit_checkpoints WHERE org_id = $1 ORDER BY seq",
    )
    .arg(org.0)
    .fetch_all_on(pool)
    .await
    .map_err(db_error)?;
    rows.iter()
        .map(|row| {
            Ok(Checkpoint {
                org_id: OrgId(get(row, "org_id")?),
                head: head_from(row)?,
                signature: get(row, "signature")?,
                key_id: get(row, "key_id")?,
                signed_at: from_ms(get(row, "signed_at")?)?,
            })
        })
        .collect()
}

pub(super) async fn last_checkpoint_seq<DB: SqlBackend>(pool: &Pool<DB>, org: OrgId) -> Result<i64> {
    let seq: Option<i64> = sqlx::query("SELECT MAX(seq) FROM audit_checkpoints WHERE org_id = $1")
        .arg(org.0)
        .fetch_scalar_on(pool)
        .await
        .map_err(db_error)?;
    Ok(seq.unwrap_or(0))
}

pub(super) async fn insert_checkpoint<DB: SqlBackend>(conn: &mut Tx<DB>, checkpoint: &Checkpoint) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_checkpoints (org_id, seq, hash, signature, key_id, signed_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (org_id, seq) DO NOTHING",
    )
    .arg(checkpoint.org_id.0)
    .arg(checkpoint.head.seq)
    .arg(&checkpoint.head.hash[..])
    .arg(&checkpoint.signature)
    .arg(&checkpoint.key_id)
    .arg(to_ms(checkpoint.signed_at))
    .execute_on(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Chains events written before the chain existed (migration 3), oldest first, once.
pub(super) async fn chain_legacy_events<DB: SqlBackend>(
    pool: &Pool<DB>,
    mut begin: impl AsyncFnMut() -> Result<Tx<DB>>,
) -> Result<()> {
    let rows =
        sqlx::query(concat!("SELECT ", audit_cols!(), " FROM audit_events WHERE seq IS NULL ORDER BY created_at, id"))
            .fetch_all_on(pool)
            .await
            .map_err(db_error)?;
    if rows.is_empty() {
        return Ok(());
    }
    let events = rows.iter().map(audit_from).collect::<Result<Vec<_>>>()?;
    let mut tx = begin().await?;
    sqlx::query("DELETE FROM audit_events WHERE seq IS NULL").execute_on(&mut tx).await.map_err(db_error)?;
    append_many(&mut tx, &events).await?;
    tx.commit().await.map_err(db_error)?;
    tracing::info!(events = events.len(), "chained audit events written before the audit chain existed");
    Ok(())
}
