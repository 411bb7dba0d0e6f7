//! A page of an org's audit log, newest first, with the caller's filters.
//!
//! Only the filters given become conditions (all bound, never spliced in), so the planner can
//! use the (org_id, actor_id | resource_id | action, seq) indexes for each of them. Time is
//! found through the chain's order: there is no index on it (`sql_audit_times.rs`).

use crate::backend::{BuildStatement, SqlBackend, Statement};
use crate::convert::{to_ms, to_ms_rounded_up};
use crate::errors::db_error;
use crate::sql_audit_times::seq_bounds;
use crate::sql_rows::audit_from;
use oneclaw_core::Result;
use oneclaw_core::audit::AuditEvent;
use oneclaw_core::ids::OrgId;
use oneclaw_core::ports::AuditQuery;
use sqlx::{Pool, QueryBuilder};

pub(crate) async fn page<DB: SqlBackend>(pool: &Pool<DB>, org: OrgId, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
    // Stamps are whole milliseconds: `from` rounds up, `to` down, so a bound inside a
    // millisecond takes in no record stamped outside it.
    let (from, to) = (query.from.map(to_ms_rounded_up), query.to.map(to_ms));
    let bounds = seq_bounds(pool, org, from, to).await?;
    let mut sql = QueryBuilder::<DB>::new(concat!("SELECT ", audit_cols!(), " FROM audit_events WHERE org_id = "));
    sql.push_arg(org.0);
    if let Some(resource) = &query.resource_id {
        sql.push(" AND resource_id = ").push_arg(resource.clone());
    }
    if let Some(actor) = query.actor_id {
        sql.push(" AND actor_id = ").push_arg(actor);
    }
    if let Some(about) = query.about {
        sql.push(" AND (actor_id = ").push_arg(about);
        sql.push(" OR resource_id = ").push_arg(about.to_string()).push(")");
    }
    if let Some(action) = &query.action {
        sql.push(" AND action = ").push_arg(action.clone());
    }
    if let Some(from) = from {
        sql.push(" AND created_at >= ").push_arg(from);
    }
    if let Some(to) = to {
        sql.push(" AND created_at <= ").push_arg(to);
    }
    if let Some(first) = bounds.first {
        sql.push(" AND seq >= ").push_arg(first);
    }
    if let Some(last) = bounds.last {
        sql.push(" AND seq <= ").push_arg(last);
    }
    sql.push(" ORDER BY seq DESC LIMIT ").push_arg(query.limit).push(" OFFSET ").push_arg(query.offset);
    let rows = sql.build().fetch_all_on(pool).await.map_err(db_error)?;
    rows.iter().map(audit_from).collect()
}
