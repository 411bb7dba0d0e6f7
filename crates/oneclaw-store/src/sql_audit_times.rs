//! An audit query's time bounds as bounds on the chain's sequence numbers, so the audit log
//! needs no index on time (one B-tree fewer written with every batch of records).
//!
//! Why it holds: each record is stamped no earlier than the record before it in its org's
//! chain (`sql_audit::link_events` raises a stamp to the head's newest), so `created_at` never
//! falls as `seq` rises, and the records in a time range are one run of sequence numbers. The
//! run's ends are found by bisection over the chain, one point lookup on (org, seq) per step.
//! The caller keeps its `created_at` conditions as well, so a record outside the range never
//! appears. Only a chain whose stamps are out of order, which takes a direct write to the
//! database (and `audit verify` names it, the stamp being hashed), could make the bounds leave
//! out a record inside the range.

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
    let first = match from {
        Some(from) => first_at_or_after(pool, org, from, head).await?,
        None => None,
    };
    let last = match to {
        // The last record stamped at or before `to` is one before the first stamped after it.
        Some(to) => first_at_or_after(pool, org, to.saturating_add(1), head).await?.map(|after| after - 1),
        None => None,
    };
    // Open at the top when every record so far is at or before `to`: later ones may be too.
    let last = last.filter(|&last| last < head);
    Ok(SeqBounds { first, last })
}

/// The lowest seq in `1..=head + 1` whose record is stamped at or after `at` (`head + 1` when
/// none is yet); `None` if a record it looked at is missing.
async fn first_at_or_after<DB: SqlBackend>(pool: &Pool<DB>, org: OrgId, at: i64, head: i64) -> Result<Option<i64>> {
    let (mut low, mut high) = (1_i64, head + 1);
    while low < high {
        let middle = low + (high - low) / 2;
        let stamp: Option<i64> = sqlx::query(super::sql_audit::EVENT_TIME_SQL)
            .arg(org.0)
            .arg(middle)
            .fetch_optional_scalar_on(pool)
            .await
            .map_err(db_error)?;
        let Some(stamp) = stamp else { return Ok(None) };
        if stamp >= at {
            high = middle;
        } else {
            low = middle + 1;
        }
    }
    Ok(Some(low))
}

#[cfg(test)]
mod tests {
    use super::{SeqBounds, seq_bounds};
    use crate::test_support::{event, store_with_orgs};
    use oneclaw_core::ports::Store;

    /// The bounds themselves, not only the pages they narrow: a query is answered whole even
    /// with no bounds, so only this shows the bisection finds the run.
    #[tokio::test]
    async fn a_time_range_is_the_run_of_sequence_numbers_stamped_within_it() {
        let (store, orgs, _dir) = store_with_orgs(&["a"]).await;
        let org = orgs[0];
        let start = 1_900_000_000_000_i64;
        let mut tx = store.begin().await.unwrap();
        for second in 0..20 {
            let mut stamped = event(org, "times");
            stamped.created_at =
                time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(start + second * 1_000) * 1_000_000)
                    .unwrap();
            tx.append_audit(&stamped).await.unwrap();
        }
        tx.commit().await.unwrap();
        let ms = |second: i64| Some(start + second * 1_000);
        let bounds = |first: Option<i64>, last: Option<i64>| SeqBounds { first, last };
        let pool = store.pool();
        // Seq n holds second n - 1.
        assert_eq!(seq_bounds(pool, org, ms(5), ms(9)).await.unwrap(), bounds(Some(6), Some(10)));
        assert_eq!(seq_bounds(pool, org, ms(5), None).await.unwrap(), bounds(Some(6), None));
        assert_eq!(seq_bounds(pool, org, None, ms(0)).await.unwrap(), bounds(None, Some(1)));
        assert_eq!(
            seq_bounds(pool, org, ms(-1), ms(30)).await.unwrap(),
            bounds(Some(1), None),
            "to past the newest: open"
        );
        assert_eq!(seq_bounds(pool, org, ms(30), None).await.unwrap(), bounds(Some(21), None), "after the newest");
        assert_eq!(seq_bounds(pool, org, None, ms(-1)).await.unwrap(), bounds(None, Some(0)), "before the first");
        assert_eq!(seq_bounds(pool, org, None, None).await.unwrap(), SeqBounds::default());
    }
}
