//! Agents and their token generations.

use super::*;

/// Reads (and the few writes that need no transaction) of agents.
#[async_trait]
pub trait AgentStore: Send + Sync {
    /// An agent of the org (deleted ones included; callers decide).
    async fn agent(&self, org: OrgId, id: AgentId) -> Result<Option<Agent>>;
    async fn agents(&self, org: OrgId) -> Result<Vec<Agent>>;
    async fn agents_by_key_prefix(&self, key_prefix: &str) -> Result<Vec<Agent>>;
    /// (agent id, token generation) of every agent whose generation moved from its first.
    async fn agent_generations(&self) -> Result<Vec<(Uuid, i64)>>;
}

/// Changes to agents, inside a write transaction.
#[async_trait]
pub trait AgentTx: Send {
    /// Deactivates every live agent the user registered, bumping each one's token generation:
    /// (agent id, new generation) of each.
    async fn disable_agents_of(&mut self, creator: UserId) -> Result<Vec<(AgentId, i64)>>;
    async fn insert_agent(&mut self, agent: &Agent) -> Result<()>;
    /// Writes every mutable field of an agent (settings, key, generation, deletion) if it is still
    /// at `agent.revision - 1` and not deleted; false when something changed it meanwhile.
    async fn update_agent(&mut self, agent: &Agent) -> Result<bool>;
    async fn touch_agent(&mut self, id: AgentId, now: OffsetDateTime) -> Result<()>;
}
