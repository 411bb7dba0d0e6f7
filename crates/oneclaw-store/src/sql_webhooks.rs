//! Queries of event webhooks and their delivery outbox, generic over the backend. Deliveries
//! are enqueued in the transaction that appends their audit events (`enqueue`), so an event is
//! announced if and only if it was recorded.

use crate::backend::{Columns, SqlBackend, Statement, Tx, get};
use crate::convert::{from_ms, opt_from_ms, to_ms};
use crate::errors::db_error;
use oneclaw_core::audit::AuditEvent;
use oneclaw_core::ids::{OrgId, UserId};
use oneclaw_core::ports::store::{AttemptOutcome, DeliveryRecord, DueDelivery};
use oneclaw_core::webhooks::{Webhook, event_type};
use oneclaw_core::{Error, Result};
use sqlx::Pool;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use uuid::Uuid;

macro_rules! webhook_cols {
    () => {
        "id, org_id, url, events, description, is_active, created_by, created_at"
    };
}

/// How long a node trusts its memory of an org's subscriptions. A change made on this node
/// clears it at once; one made on another node is seen within this.
const SUBSCRIPTIONS_FOR: Duration = Duration::from_secs(5);

/// Which event types each org's active webhooks subscribe to, so an append for an org with no
/// webhooks costs no statement.
#[derive(Default)]
pub(crate) struct Subscriptions {
    held: Mutex<HashMap<OrgId, (Instant, Vec<String>)>>,
    /// Webhook changes begun or committed on this node: a list read before one is not kept,
    /// since it may predate it (a transaction that read it while the change was uncommitted).
    changes: AtomicU64,
}

/// When a reader found an org's subscriptions unknown: what `remember` checks against.
pub(crate) struct Seen(u64);

impl Subscriptions {
    /// The org's subscribed event types if known and fresh; else the moment of asking, to read
    /// them and `remember` what was read.
    pub(crate) fn held(&self, org: OrgId) -> std::result::Result<Vec<String>, Seen> {
        let seen = Seen(self.changes.load(Ordering::Acquire));
        let Ok(held) = self.held.lock() else { return Err(seen) };
        match held.get(&org).filter(|(at, _)| at.elapsed() < SUBSCRIPTIONS_FOR) {
            Some((_, types)) => Ok(types.clone()),
            None => Err(seen),
        }
    }

    /// What an org's webhooks' event lists (`SUBSCRIBED_SQL`'s rows, read after `held`
    /// answered `seen`) name; kept only if no webhook has changed on this node since.
    pub(crate) fn remember(&self, org: OrgId, lists: &[String], seen: Seen) -> Vec<String> {
        let types = subscribed_types(lists.iter().map(String::as_str));
        if let Ok(mut held) = self.held.lock()
            && self.changes.load(Ordering::Acquire) == seen.0
        {
            if held.len() > 10_000 {
                held.clear();
            }
            held.insert(org, (Instant::now(), types.clone()));
        }
        types
    }

    /// An org's webhooks change: called when the change is made and again once it commits, so
    /// no list read in between is kept.
    pub(crate) fn forget(&self, org: OrgId) {
        let held = self.held.lock();
        self.changes.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut held) = held {
            held.remove(&org);
        }
    }
}

fn webhook_from(row: &impl Columns) -> Result<Webhook> {
    let events: String = get(row, "events")?;
    Ok(Webhook {
        id: get(row, "id")?,
        org_id: OrgId(get(row, "org_id")?),
        url: get(row, "url")?,
        events: serde_json::from_str(&events).map_err(|err| Error::Internal(format!("stored events: {err}")))?,
        description: get(row, "description")?,
        is_active: get(row, "is_active")?,
        created_by: UserId(get(row, "created_by")?),
        created_at: from_ms(get(row, "created_at")?)?,
    })
}

fn events_json(webhook: &Webhook) -> String {
    serde_json::to_string(&webhook.events).unwrap_or_else(|_| "[]".to_owned())
}

/// The event lists (JSON arrays) of org `$1`'s active webhooks (`$2` is true).
pub(crate) const SUBSCRIBED_SQL: &str =
    "SELECT events FROM webhooks WHERE org_id = $1 AND is_active = $2 AND deleted_at IS NULL";

/// A pending delivery of event `$1` of type `$2` at `$3` to each active webhook of org `$4`
/// (`$5` is true) whose event list matches `$6` (`subscribed_pattern`).
pub(crate) const ENQUEUE_SQL: &str = "INSERT INTO webhook_deliveries \
     (webhook_id, event_id, org_id, event_type, status, attempts, next_attempt_at, created_at) \
     SELECT id, $1, org_id, $2, 'pending', 0, $3, $3 FROM webhooks \
     WHERE org_id = $4 AND is_active = $5 AND deleted_at IS NULL AND events LIKE $6";

/// The LIKE pattern that finds `kind` in a webhook's event list.
pub(crate) fn subscribed_pattern(kind: &str) -> String {
    format!("%\"{kind}\"%")
}

/// The event types that an org's webhooks' event lists (`SUBSCRIBED_SQL`'s rows) name.
fn subscribed_types<'a>(lists: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    lists.into_iter().flat_map(|text| serde_json::from_str::<Vec<String>>(text).unwrap_or_default()).collect()
}

/// Enqueues a delivery of each event to every active webhook of its org subscribed to its type.
pub(super) async fn enqueue<DB: SqlBackend>(
    tx: &mut Tx<DB>,
    subscriptions: &Subscriptions,
    events: &[AuditEvent],
) -> Result<()> {
    for event in events {
        let Some(kind) = event_type(event) else { continue };
        let types = match subscriptions.held(event.org_id) {
            Ok(types) => types,
            Err(seen) => {
                let rows = sqlx::query(SUBSCRIBED_SQL)
                    .arg(event.org_id.0)
                    .arg(true)
                    .fetch_all_on(&mut *tx)
                    .await
                    .map_err(db_error)?;
                let lists = rows.iter().map(|row| get::<String>(row, "events")).collect::<Result<Vec<_>>>()?;
                subscriptions.remember(event.org_id, &lists, seen)
            }
        };
        if !types.iter().any(|t| t == kind) {
            continue;
        }
        let now = to_ms(event.created_at);
        sqlx::query(ENQUEUE_SQL)
            .arg(event.id.0)
            .arg(kind)
            .arg(now)
            .arg(event.org_id.0)
            .arg(true)
            .arg(subscribed_pattern(kind))
            .execute_on(&mut *tx)
            .await
            .map_err(db_error)?;
    }
    Ok(())
}

pub(super) async fn list<DB: SqlBackend>(pool: &Pool<DB>, org: OrgId) -> Result<Vec<Webhook>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        webhook_cols!(),
        " FROM webhooks WHERE org_id = $1 AND deleted_at IS NULL ORDER BY created_at, id"
    ))
    .arg(org.0)
    .fetch_all_on(pool)
    .await
    .map_err(db_error)?;
    rows.iter().map(webhook_from).collect()
}

pub(super) async fn by_id<DB: SqlBackend>(pool: &Pool<DB>, org: OrgId, id: Uuid) -> Result<Option<Webhook>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        webhook_cols!(),
        " FROM webhooks WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL"
    ))
    .arg(id)
    .arg(org.0)
    .fetch_optional_on(pool)
    .await
    .map_err(db_error)?;
    row.as_ref().map(webhook_from).transpose()
}

pub(super) async fn deliveries_waiting<DB: SqlBackend>(pool: &Pool<DB>) -> Result<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS waiting FROM webhook_deliveries WHERE status = 'pending'")
        .fetch_one_on(pool)
        .await
        .map_err(db_error)?;
    get(&row, "waiting")
}

pub(super) async fn deliveries<DB: SqlBackend>(
    pool: &Pool<DB>,
    webhook: Uuid,
    limit: i64,
) -> Result<Vec<DeliveryRecord>> {
    let rows = sqlx::query(
        "SELECT event_id, event_type, status, attempts, last_status, last_error, next_attempt_at, created_at, \
         delivered_at FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY created_at DESC, event_id LIMIT $2",
    )
    .arg(webhook)
    .arg(limit)
    .fetch_all_on(pool)
    .await
    .map_err(db_error)?;
    rows.iter()
        .map(|row| {
            Ok(DeliveryRecord {
                event_id: get(row, "event_id")?,
                event_type: get(row, "event_type")?,
                status: get(row, "status")?,
                attempts: get(row, "attempts")?,
                last_status: get(row, "last_status")?,
                last_error: get(row, "last_error")?,
                next_attempt_at: from_ms(get(row, "next_attempt_at")?)?,
                created_at: from_ms(get(row, "created_at")?)?,
                delivered_at: opt_from_ms(get(row, "delivered_at")?)?,
            })
        })
        .collect()
}

pub(super) async fn claim_due<DB: SqlBackend>(
    pool: &Pool<DB>,
    now: OffsetDateTime,
    claim_until: OffsetDateTime,
    limit: i64,
) -> Result<Vec<DueDelivery>> {
    let rows = sqlx::query(concat!(
        "SELECT d.webhook_id AS d_webhook_id, d.event_type AS d_event_type, d.attempts AS d_attempts, \
         d.created_at AS d_created_at, d.next_attempt_at AS d_next_attempt_at, w.url AS w_url, \
         w.secret_sealed AS w_secret_sealed, ",
        "e.id, e.org_id, e.actor_type, e.actor_id, e.action, e.resource_type, e.resource_id, e.details, \
         e.ip_address, e.user_agent, e.surface, e.outcome, e.created_at, e.seq, e.prev_hash, e.hash \
         FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id AND w.deleted_at IS NULL \
         JOIN audit_events e ON e.id = d.event_id \
         WHERE d.status = 'pending' AND d.next_attempt_at <= $1 ORDER BY d.next_attempt_at LIMIT $2"
    ))
    .arg(to_ms(now))
    .arg(limit)
    .fetch_all_on(pool)
    .await
    .map_err(db_error)?;
    let mut claimed = Vec::new();
    for row in &rows {
        let webhook_id: Uuid = get(row, "d_webhook_id")?;
        let event = super::sql_rows::audit_from(row)?;
        let due_at: i64 = get(row, "d_next_attempt_at")?;
        // The claim: only the node whose update still sees the due time it read sends it.
        let won = sqlx::query(
            "UPDATE webhook_deliveries SET next_attempt_at = $1 \
             WHERE webhook_id = $2 AND event_id = $3 AND status = 'pending' AND next_attempt_at = $4",
        )
        .arg(to_ms(claim_until))
        .arg(webhook_id)
        .arg(event.id.0)
        .arg(due_at)
        .execute_on(pool)
        .await
        .map_err(db_error)?;
        if won != 1 {
            continue;
        }
        claimed.push(DueDelivery {
            webhook_id,
            url: get(row, "w_url")?,
            secret_sealed: get(row, "w_secret_sealed")?,
            event_type: get(row, "d_event_type")?,
            attempts: get(row, "d_attempts")?,
            created_at: from_ms(get(row, "d_created_at")?)?,
            claimed_until: claim_until,
            event,
        });
    }
    Ok(claimed)
}

pub(super) async fn record_attempt<DB: SqlBackend>(
    pool: &Pool<DB>,
    webhook: Uuid,
    event: Uuid,
    outcome: &AttemptOutcome,
    now: OffsetDateTime,
) -> Result<()> {
    let statement = match outcome {
        AttemptOutcome::Delivered { status } => sqlx::query(
            "UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, last_status = $1, \
             last_error = NULL, delivered_at = $2 WHERE webhook_id = $3 AND event_id = $4",
        )
        .arg(*status)
        .arg(to_ms(now)),
        AttemptOutcome::Failed { status, error, next_attempt_at, give_up } => sqlx::query(
            "UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, last_status = $2, last_error = $3, \
             next_attempt_at = $4 WHERE webhook_id = $5 AND event_id = $6",
        )
        .arg(if *give_up { "failed" } else { "pending" })
        .arg(*status)
        .arg(error.as_str())
        .arg(to_ms(*next_attempt_at)),
    };
    statement.arg(webhook).arg(event).execute_on(pool).await.map_err(db_error)?;
    Ok(())
}

pub(super) async fn insert<DB: SqlBackend>(tx: &mut Tx<DB>, webhook: &Webhook, secret_sealed: &[u8]) -> Result<()> {
    sqlx::query(concat!(
        "INSERT INTO webhooks (",
        webhook_cols!(),
        ", secret_sealed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .arg(webhook.id)
    .arg(webhook.org_id.0)
    .arg(webhook.url.as_str())
    .arg(events_json(webhook))
    .arg(webhook.description.as_str())
    .arg(webhook.is_active)
    .arg(webhook.created_by.0)
    .arg(to_ms(webhook.created_at))
    .arg(secret_sealed)
    .execute_on(tx)
    .await
    .map_err(db_error)?;
    Ok(())
}

pub(super) async fn update<DB: SqlBackend>(tx: &mut Tx<DB>, webhook: &Webhook) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE webhooks SET url = $1, events = $2, description = $3, is_active = $4 \
         WHERE id = $5 AND org_id = $6 AND deleted_at IS NULL",
    )
    .arg(webhook.url.as_str())
    .arg(events_json(webhook))
    .arg(webhook.description.as_str())
    .arg(webhook.is_active)
    .arg(webhook.id)
    .arg(webhook.org_id.0)
    .execute_on(tx)
    .await
    .map_err(db_error)?;
    Ok(done == 1)
}

pub(super) async fn delete<DB: SqlBackend>(tx: &mut Tx<DB>, org: OrgId, id: Uuid, now: OffsetDateTime) -> Result<bool> {
    let done = sqlx::query("UPDATE webhooks SET deleted_at = $1 WHERE id = $2 AND org_id = $3 AND deleted_at IS NULL")
        .arg(to_ms(now))
        .arg(id)
        .arg(org.0)
        .execute_on(&mut *tx)
        .await
        .map_err(db_error)?;
    if done == 1 {
        // Never to be sent now: out of the outbox (and its depth), in the same commit.
        sqlx::query("UPDATE webhook_deliveries SET status = 'cancelled' WHERE webhook_id = $1 AND status = 'pending'")
            .arg(id)
            .execute_on(&mut *tx)
            .await
            .map_err(db_error)?;
    }
    Ok(done == 1)
}

#[cfg(test)]
mod tests {
    use super::Subscriptions;
    use crate::test_support::store_with_orgs;
    use oneclaw_core::clock::{Clock, SystemClock};
    use oneclaw_core::ids::{OrgId, UserId};
    use oneclaw_core::ports::Store;
    use oneclaw_core::webhooks::Webhook;

    const READ_LIST: &str = r#"["secret.read"]"#;

    /// A transaction that read an org's webhooks while another had just created one, not yet
    /// committed, read none: keeping that would skip the new webhook's deliveries.
    #[test]
    fn a_list_read_across_a_webhook_change_is_answered_but_not_kept() {
        let subscriptions = Subscriptions::default();
        let org = OrgId::generate();
        let seen = subscriptions.held(org).expect_err("nothing is known yet");
        subscriptions.forget(org);
        assert!(subscriptions.remember(org, &[], seen).is_empty(), "the reader goes on with what it read");
        let seen = subscriptions.held(org).expect_err("what was read across the change is not kept");
        subscriptions.remember(org, &[READ_LIST.to_owned()], seen);
        assert_eq!(subscriptions.held(org).ok(), Some(vec!["secret.read".to_owned()]), "a list read after it is");
    }

    /// A deleted webhook's deliveries still pending are cancelled with it: they leave the
    /// outbox (whose depth is a metric) instead of waiting there for ever.
    #[tokio::test]
    async fn deleting_a_webhook_cancels_its_pending_deliveries() {
        use oneclaw_core::ports::store::WebhookStore;
        let (store, orgs, _dir) = store_with_orgs(&["a"]).await;
        let org = orgs[0];
        let webhook = read_hook(org);
        let mut tx = store.begin().await.unwrap();
        tx.insert_webhook(&webhook, b"sealed").await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.append_audits(&[crate::test_support::event(org, "secret.read")]).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(store.deliveries_waiting().await.unwrap(), 1);

        let mut tx = store.begin().await.unwrap();
        assert!(tx.delete_webhook(org, webhook.id, SystemClock.now()).await.unwrap());
        tx.commit().await.unwrap();
        assert_eq!(store.deliveries_waiting().await.unwrap(), 0);
        let statuses: Vec<String> =
            store.deliveries(webhook.id, 10).await.unwrap().into_iter().map(|delivery| delivery.status).collect();
        assert_eq!(statuses, ["cancelled"]);
    }

    fn read_hook(org: OrgId) -> Webhook {
        Webhook {
            id: uuid::Uuid::now_v7(),
            org_id: org,
            url: "https://hooks.example/in".to_owned(),
            events: vec!["secret.read".to_owned()],
            description: String::new(),
            is_active: true,
            created_by: UserId::generate(),
            created_at: SystemClock.now(),
        }
    }

    /// What was remembered while a webhook change was uncommitted is forgotten when it commits.
    #[tokio::test]
    async fn a_committed_webhook_change_forgets_what_was_read_before_it() {
        let (store, orgs, _dir) = store_with_orgs(&["a"]).await;
        let org = orgs[0];
        let webhook = read_hook(org);
        let mut tx = store.begin().await.unwrap();
        tx.insert_webhook(&webhook, b"sealed").await.unwrap();
        // Read on another connection meanwhile (PostgreSQL), which cannot see the new webhook.
        let seen = store.subscriptions().held(org).expect_err("forgotten at the change");
        store.subscriptions().remember(org, &[], seen);
        assert_eq!(store.subscriptions().held(org).ok(), Some(Vec::new()));
        tx.commit().await.unwrap();
        assert!(store.subscriptions().held(org).is_err(), "the commit forgets it again");
    }
}
