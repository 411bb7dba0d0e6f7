//! `Change`: a write transaction that can only be committed together with its audit events, so
//! nothing changes without its record and no record exists for a change that did not happen.

use crate::Result;
use crate::audit::AuditEvent;
use crate::ports::{AuditJournal, CountTicket, Store, StoreTx};
use crate::principal::Caller;

pub(crate) struct Change {
    tx: Box<dyn StoreTx>,
}

impl Change {
    pub(crate) async fn begin(store: &dyn Store) -> Result<Self> {
        Ok(Self { tx: store.begin().await? })
    }

    pub(crate) fn tx(&mut self) -> &mut dyn StoreTx {
        self.tx.as_mut()
    }

    /// Adds the caller's request count (billing) to this transaction, where it is still to be
    /// made; the ticket is to be told once the transaction has committed
    /// (`CountTicket::committed`), so the surface does not count the request again.
    pub(crate) async fn count_request(&mut self, caller: &Caller) -> Result<Option<CountTicket>> {
        let Some(ticket) = caller.charge.take_count() else {
            return Ok(None);
        };
        if let Some((org, month)) = ticket.org_and_month() {
            self.tx.add_requests(org, month, 1).await?;
        }
        Ok(Some(ticket))
    }

    /// Appends the events and commits, all or nothing.
    pub(crate) async fn commit(mut self, events: impl IntoIterator<Item = AuditEvent>) -> Result<()> {
        let events: Vec<AuditEvent> = events.into_iter().collect();
        if !events.is_empty() {
            self.tx.append_audits(&events).await?;
        }
        self.tx.commit().await
    }
}

/// Records an event on its own, for actions that changed nothing (a denied or failed attempt).
/// A failure to record is logged and does not hide the original answer from the caller.
pub(crate) async fn record_alone(journal: &dyn AuditJournal, event: AuditEvent) {
    if let Err(err) = journal.record(event).await {
        tracing::error!(error = %err, "could not record an audit event for a refused request");
    }
}

/// Records the event of a request that is being served, with the request's count (billing)
/// where it is still to be made: one durable commit for both. The answer follows the record.
pub(crate) async fn record_served(journal: &dyn AuditJournal, caller: &Caller, event: AuditEvent) -> Result<()> {
    journal.record_counted(event, caller.charge.take_count()).await
}
