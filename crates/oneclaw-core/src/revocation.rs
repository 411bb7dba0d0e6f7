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
    /// Per agent (token generation) and per user (credential generation), the oldest
    /// generation still accepted.
    generations: RwLock<HashMap<Uuid, i64>>,
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

    /// Records a principal's current generation (an agent's token generation, a user's
    /// credential generation); tokens of older generations stop working. Never goes back.
    pub fn set_generation(&self, principal: Uuid, generation: i64) {
        if let Ok(mut map) = self.generations.write() {
            let slot = map.entry(principal).or_insert(generation);
            *slot = (*slot).max(generation);
        }
    }

    /// True when a token of this generation is still accepted for the principal.
    pub fn generation_current(&self, principal: &Uuid, generation: i64) -> bool {
        self.generations
            .read()
            .map(|map| map.get(principal).is_none_or(|current| generation >= *current))
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
        assert!(list.generation_current(&agent, 0));
        list.set_generation(agent, 2);
        assert!(!list.generation_current(&agent, 1));
        assert!(list.generation_current(&agent, 2));
        list.set_generation(agent, 1);
        assert!(!list.generation_current(&agent, 1), "generations never go back");
    }
}
