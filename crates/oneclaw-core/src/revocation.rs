//! Revoked sessions and tokens, held in memory so checking a token costs no query.
//!
//! The store is the record; this set mirrors it. It is loaded at start-up and updated by the
//! services in the same call that commits a revocation. Entries leave once the longest a token
//! could outlive them has passed.

use std::collections::HashMap;
use std::sync::RwLock;
use uuid::Uuid;

/// Ids (session ids and token ids) that must no longer be accepted, with when they may be forgotten.
#[derive(Debug, Default)]
pub struct RevocationList {
    revoked: RwLock<HashMap<Uuid, i64>>,
    /// Per agent, the oldest token generation still accepted.
    agent_generations: RwLock<HashMap<Uuid, i64>>,
}

impl RevocationList {
    /// Marks an id revoked until `forget_after` (unix seconds).
    pub fn revoke(&self, id: Uuid, forget_after: i64) {
        if let Ok(mut map) = self.revoked.write() {
            map.insert(id, forget_after);
        }
    }

    /// True when the id was revoked.
    pub fn is_revoked(&self, id: &Uuid) -> bool {
        // A poisoned lock means a panic elsewhere while writing; fail closed.
        self.revoked.read().map(|map| map.contains_key(id)).unwrap_or(true)
    }

    /// Forgets a revocation (a removed member invited back).
    pub fn unrevoke(&self, id: &Uuid) {
        if let Ok(mut map) = self.revoked.write() {
            map.remove(id);
        }
    }

    /// Records an agent's current token generation; older tokens stop working.
    pub fn set_agent_generation(&self, agent: Uuid, generation: i64) {
        if let Ok(mut map) = self.agent_generations.write() {
            let slot = map.entry(agent).or_insert(generation);
            *slot = (*slot).max(generation);
        }
    }

    /// True when an agent token of this generation is still accepted.
    pub fn agent_generation_current(&self, agent: &Uuid, generation: i64) -> bool {
        self.agent_generations
            .read()
            .map(|map| map.get(agent).is_none_or(|current| generation >= *current))
            .unwrap_or(false)
    }

    /// Drops entries whose tokens have all expired.
    pub fn prune(&self, now_unix: i64) {
        if let Ok(mut map) = self.revoked.write() {
            map.retain(|_, forget_after| *forget_after > now_unix);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoked_ids_stay_revoked_until_pruned_after_expiry() {
        let list = RevocationList::default();
        let id = Uuid::now_v7();
        assert!(!list.is_revoked(&id));
        list.revoke(id, 100);
        list.prune(99);
        assert!(list.is_revoked(&id));
        list.prune(100);
        assert!(!list.is_revoked(&id));
    }

    #[test]
    fn agent_tokens_of_older_generations_are_refused() {
        let list = RevocationList::default();
        let agent = Uuid::now_v7();
        assert!(list.agent_generation_current(&agent, 0));
        list.set_agent_generation(agent, 2);
        assert!(!list.agent_generation_current(&agent, 1));
        assert!(list.agent_generation_current(&agent, 2));
        list.set_agent_generation(agent, 1);
        assert!(!list.agent_generation_current(&agent, 1), "generations never go back");
    }
}
