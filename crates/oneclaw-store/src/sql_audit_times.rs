//! An audit query's time bounds as bounds on the chain's sequence numbers, so the audit log
//! needs no index on time (one B-tree fewer written with every batch of records).
//!
//! Why it holds: each record is stamped no earlier than the record before it in its org's
//! chain (`sql_audit::link_events` raises a stamp to the head's newest), so `created_at` never
//! falls as `seq` rises, and the records in a time range are one run of sequence numbers. The
//! run's ends are found by bisection over the chain, one point lookup on (org, seq) per step.
//! The caller keeps its `created_at` conditions as well: the bounds only narrow where the
//! query looks, so a chain whose stamps were not in order (a tampered one) can never make a
//! record that is outside the range appear, only leave the bounds unused.

use crate::backend::{SqlBackend, Statement};
use crate::errors::db_error;
use oneclaw_core::Result;
use oneclaw_core::ids::OrgId;
use sqlx::Pool;

/// Inclusive bounds on `seq` for records stamped within `from..=to` (milliseconds); `None`
/// where a side is unbounded or cannot be narrowed.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct SeqBounds {
    pub(crate) first: Option<i64>,
    pub(crate) last: Option<i64>,
}

/// The bounds for `from..=to` in the org's chain as it stands now. Records appended after the
/// lookup lie past the head it read: a `to` at or after the head's stamp leaves the top open,
/// so they are never cut off.
pub(crate) async fn seq_bounds<DB: SqlBackend>(
    pool: &Pool<DB>,
    org: OrgId,
    from: Option<i64>,
    to: Option<i64>,
) -> Result<SeqBounds> {
    if from.is_none() && to.is_none() {
        return Ok(SeqBounds::default());
    }
    let head = super::sql_audit::head(pool, org).await?.seq;
    if head < 1 {
        return Ok(SeqBounds::default());
    }
    let mut stamps = Stamps { pool, org };
    let first = match from {
        Some(from) => stamps.first_at_or_after(from, head).await?,
        None => None,
    };
    let last = match to {
        // The last record stamped at or before `to` is one before the first stamped after it.
        Some(to) => stamps.first_at_or_after(to.saturating_add(1), head).await?.map(|after| after - 1),
        None => None,
    };
    // Open at the top when every record so far is at or before `to`: later ones may be too.
    let last = last.filter(|&last| last < head);
    Ok(SeqBounds { first, last })
}

struct Stamps<'a, DB: SqlBackend> {
    pool: &'a Pool<DB>,
    org: OrgId,
}

impl<DB: SqlBackend> Stamps<'_, DB> {
    /// The lowest seq in `1..=head + 1` whose record is stamped at or after `at` (`head + 1`
    /// when none is yet); `None` if a record it looked at is missing.
    async fn first_at_or_after(&mut self, at: i64, head: i64) -> Result<Option<i64>> {
        let (mut low, mut high) = (1_i64, head + 1);
        while low < high {
            let middle = low + (high - low) / 2;
            let Some(stamp) = self.stamp(middle).await? else { return Ok(None) };
            if stamp >= at {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        Ok(Some(low))
    }

    async fn stamp(&mut self, seq: i64) -> Result<Option<i64>> {
        sqlx::query(super::sql_audit::EVENT_TIME_SQL)
            .arg(self.org.0)
            .arg(seq)
            .fetch_optional_scalar_on(self.pool)
            .await
            .map_err(db_error)
    }
}
