//! Bindings and their executions. An execution is reserved (checked against the binding's
//! per-minute and per-day limits and inserted as `running`) in one transaction that holds the
//! binding's row, so racing executions on any node cannot pass a limit together.

use super::*;
use crate::ids::AgentId;
use crate::intents::{Binding, CallLimits, Execution};

#[async_trait]
pub trait BindingStore: Send + Sync {
    async fn bindings(&self, org: OrgId, agent: AgentId) -> Result<Vec<Binding>>;
    async fn binding(&self, org: OrgId, id: Uuid) -> Result<Option<Binding>>;
    async fn binding_by_name(&self, org: OrgId, agent: AgentId, name: &str) -> Result<Option<Binding>>;
    /// The sealed inline credential, when the binding has one.
    async fn binding_credential(&self, id: Uuid) -> Result<Option<Vec<u8>>>;
    /// An agent's executions, newest first.
    async fn executions(&self, org: OrgId, agent: AgentId, limit: i64, offset: i64) -> Result<Vec<Execution>>;
}

/// Why a reservation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    Reserved,
    /// The binding is gone or inactive.
    Unavailable,
    PerMinuteReached,
    PerDayReached,
}

#[async_trait]
pub trait BindingTx: Send {
    /// Inserts a binding with its sealed inline credential; false when the agent already has
    /// a binding of that name.
    async fn insert_binding(&mut self, binding: &Binding, sealed: Option<&[u8]>) -> Result<bool>;
    /// Writes config, guardrails, the active flag, the credential source, who set it and, when
    /// given, a new sealed credential (`Some(None)` clears it); false when there is no such
    /// binding.
    async fn update_binding(&mut self, binding: &Binding, sealed: Option<Option<&[u8]>>) -> Result<bool>;
    async fn delete_binding(&mut self, org: OrgId, id: Uuid) -> Result<bool>;
    /// Under the binding's row lock: counts its executions of the last minute and day against
    /// `limits` and, when both are under, inserts `execution` (status `running`).
    async fn reserve_execution(&mut self, execution: &Execution, limits: CallLimits) -> Result<Reservation>;
    /// Writes a finished execution's status, summaries, duration and redaction count.
    async fn finish_execution(&mut self, execution: &Execution) -> Result<()>;
}
