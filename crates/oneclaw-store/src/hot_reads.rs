//! The hot read cache: the secret read's one store read (the vault, its policy generation and
//! the sealed version of a path) kept in memory for a moment, so that a hot secret's repeated
//! reads touch the database only to append their audit records.
//!
//! What is kept is what the database holds: sealed values (ciphertext and wrapped data key),
//! never a plaintext, and never the policies (the core keeps those per vault and principal
//! under the vault's policy generation, which an entry answers only to a caller holding it).
//!
//! Coherence, in three parts:
//! - This process: every write transaction of this store moves the `epoch` once it has
//!   committed (or failed), and so does every group commit (which may carry the change of a
//!   writer whose request has gone). An entry is used only under the epoch read before the
//!   query that filled it, so nothing read before a committed change is answered after it: a
//!   change is seen by this node's next read, as without the cache.
//! - Other processes: on PostgreSQL, triggers send a notice when such a change commits
//!   (migration 0018) and `sync_notices::follow_read_notices` moves the epoch when it arrives;
//!   while that listener is not connected nothing is answered from memory. Whatever a notice
//!   may miss (and an operator command on the SQLite file, which sends none), an entry lives
//!   `DEFAULT_LIFETIME` at most (`ONECLAW_READ_CACHE_MS`), so another process's change is seen
//!   within that at the latest.
//! - Versions with an access limit are never kept: their count moves on every read.

use oneclaw_core::ids::{OrgId, VaultId};
use oneclaw_core::model::Vault;
use oneclaw_core::ports::SecretRead;
use oneclaw_core::ports::store::VaultAccess;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long an entry answers at most, unless configured otherwise: the bound on how late a
/// change made by another process is seen here. A hot secret costs one database read per this
/// time.
pub const DEFAULT_LIFETIME: Duration = Duration::from_millis(100);
/// Entries kept at most, and the bytes they may hold (sealed values, key handles, paths); a
/// full cache drops its expired entries, then all of them.
const MAX_ENTRIES: usize = 4096;
const MAX_BYTES: usize = 16 * 1024 * 1024;
/// Larger sealed values are read from the database each time.
const MAX_SEALED_BYTES: usize = 64 * 1024;
/// What an entry costs beyond its variable-length parts (the vault, the version's fields, the
/// map's slot), roughly.
const ENTRY_OVERHEAD: usize = 512;

/// The reads kept, and the epoch that says which of them still hold.
pub(crate) struct HotReads {
    epoch: AtomicU64,
    /// How long an entry answers at most, in microseconds; 0 keeps nothing.
    lifetime_micros: AtomicU64,
    /// False while other processes' changes would go unnoticed (PostgreSQL's listener is not
    /// connected): then nothing is answered from memory.
    noticing: AtomicBool,
    entries: Mutex<Kept>,
}

/// The entries and the bytes they hold.
#[derive(Default)]
struct Kept {
    map: HashMap<Key, Entry>,
    bytes: usize,
}

impl Kept {
    fn clear(&mut self) {
        self.map.clear();
        self.bytes = 0;
    }
}

impl Default for HotReads {
    fn default() -> Self {
        let lifetime = u64::try_from(DEFAULT_LIFETIME.as_micros()).unwrap_or(u64::MAX);
        Self {
            epoch: AtomicU64::new(0),
            lifetime_micros: AtomicU64::new(lifetime),
            noticing: AtomicBool::new(true),
            entries: Mutex::default(),
        }
    }
}

#[derive(PartialEq, Eq, Hash)]
struct Key {
    org: OrgId,
    vault: VaultId,
    path: String,
    version: Option<i64>,
}

struct Entry {
    epoch: u64,
    read_at: Instant,
    vault: Vault,
    policy_generation: i64,
    secret: Option<SecretRead>,
    /// What it counts against `MAX_BYTES`.
    size: usize,
}

/// Moves the epoch when dropped: held across a commit, so that a commit whose request goes
/// away mid-flight still ends what was kept (if the database applies that commit after this
/// drop, the change's notice or the lifetime covers the rest).
pub(crate) struct EndsReads(pub(crate) std::sync::Arc<HotReads>);

impl Drop for EndsReads {
    fn drop(&mut self) {
        self.0.changed();
    }
}

/// When a read began: taken before its query, so a change committed while it ran makes it
/// unusable.
#[derive(Clone, Copy)]
pub(crate) struct Stamp {
    epoch: u64,
    at: Instant,
}

/// One secret read's question: which vault of which org, which path and version.
#[derive(Clone, Copy)]
pub(crate) struct Question<'a> {
    pub org: OrgId,
    pub vault: VaultId,
    pub path: &'a str,
    pub version: Option<i64>,
}

impl Question<'_> {
    fn key(&self) -> Key {
        Key { org: self.org, vault: self.vault, path: self.path.to_owned(), version: self.version }
    }
}

impl HotReads {
    /// Entries answer for `lifetime` at most; zero keeps nothing (every read asks the database).
    pub(crate) fn set_lifetime(&self, lifetime: Duration) {
        let micros = u64::try_from(lifetime.as_micros()).unwrap_or(u64::MAX);
        self.lifetime_micros.store(micros, Ordering::Relaxed);
        if micros == 0 {
            self.changed();
            self.clear();
        }
    }

    /// Whether other processes' changes are being noticed; either way, what was kept is stale.
    pub(crate) fn noticing(&self, noticing: bool) {
        self.noticing.store(noticing, Ordering::Release);
        self.changed();
    }

    /// How long an entry answers: zero while nothing may be answered from memory.
    fn lifetime(&self) -> Duration {
        if !self.noticing.load(Ordering::Acquire) {
            return Duration::ZERO;
        }
        Duration::from_micros(self.lifetime_micros.load(Ordering::Relaxed))
    }

    /// A write transaction or group commit ended: nothing read before it is answered again.
    pub(crate) fn changed(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        // Nothing kept can be answered any more: free it now rather than when the cache fills
        // (sealed values of deleted secrets and old key handles would otherwise stay in memory
        // while the server is idle).
        self.clear();
    }

    fn clear(&self) {
        if let Ok(mut kept) = self.entries.lock()
            && !kept.map.is_empty()
        {
            kept.clear();
        }
    }

    /// Taken before the query whose answer may be kept.
    pub(crate) fn stamp(&self) -> Stamp {
        Stamp { epoch: self.epoch.load(Ordering::Acquire), at: Instant::now() }
    }

    /// The kept answer, when it still holds and the caller holds the policies of its
    /// generation (the answer carries none).
    pub(crate) fn get(&self, question: Question<'_>, held: Option<i64>) -> Option<(VaultAccess, Option<SecretRead>)> {
        let held = held?;
        let lifetime = self.lifetime();
        if lifetime.is_zero() {
            return None;
        }
        let epoch = self.epoch.load(Ordering::Acquire);
        let kept = self.entries.lock().ok()?;
        let entry = kept.map.get(&question.key())?;
        if entry.epoch != epoch || entry.read_at.elapsed() >= lifetime || entry.policy_generation != held {
            return None;
        }
        let access =
            VaultAccess { vault: entry.vault.clone(), policy_generation: entry.policy_generation, policies: None };
        Some((access, entry.secret.clone()))
    }

    /// Keeps what a read stamped `stamp` found, unless a change ended since the stamp or the
    /// version is one not to keep.
    pub(crate) fn keep(&self, stamp: Stamp, question: Question<'_>, found: &(VaultAccess, Option<SecretRead>)) {
        let (access, secret) = found;
        let keepable = secret.as_ref().is_none_or(|read| {
            read.version.max_access_count.is_none()
                && read.sealed.ciphertext.len() + read.sealed.wrapped_dek.len() <= MAX_SEALED_BYTES
        });
        let lifetime = self.lifetime();
        if !keepable || lifetime.is_zero() || self.epoch.load(Ordering::Acquire) != stamp.epoch {
            return;
        }
        let size = ENTRY_OVERHEAD
            + question.path.len()
            + secret
                .as_ref()
                .map_or(0, |read| read.sealed.ciphertext.len() + read.sealed.wrapped_dek.len() + read.kek.handle.len());
        let Ok(mut kept) = self.entries.lock() else { return };
        // Again under the lock: a change that ended since has cleared the cache, or is waiting
        // to, and this read must not be left behind in it.
        if self.epoch.load(Ordering::Acquire) != stamp.epoch {
            return;
        }
        if kept.map.len() >= MAX_ENTRIES || kept.bytes + size > MAX_BYTES {
            let epoch = stamp.epoch;
            kept.map.retain(|_, entry| entry.epoch == epoch && entry.read_at.elapsed() < lifetime);
            kept.bytes = kept.map.values().map(|entry| entry.size).sum();
            if kept.map.len() >= MAX_ENTRIES || kept.bytes + size > MAX_BYTES {
                kept.clear();
            }
        }
        let entry = Entry {
            epoch: stamp.epoch,
            read_at: stamp.at,
            vault: access.vault.clone(),
            policy_generation: access.policy_generation,
            secret: secret.clone(),
            size,
        };
        kept.bytes += size;
        if let Some(replaced) = kept.map.insert(question.key(), entry) {
            kept.bytes -= replaced.size;
        }
    }

    /// Bytes counted against the budget, for tests.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.entries.lock().map(|kept| kept.bytes).unwrap_or(0)
    }

    /// Entries kept, for tests.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.lock().map(|kept| kept.map.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oneclaw_core::ids::{SecretId, UserId};
    use oneclaw_core::model::{SealedValue, SecretVersion};
    use oneclaw_core::ports::KekRef;
    use oneclaw_core::principal::{PrincipalKind, PrincipalRef};
    use time::OffsetDateTime;

    fn found(org: OrgId, vault: VaultId, sealed_bytes: usize) -> (VaultAccess, Option<SecretRead>) {
        let by = PrincipalRef { kind: PrincipalKind::User, id: uuid::Uuid::nil() };
        let now = OffsetDateTime::UNIX_EPOCH;
        let vault_row = Vault {
            id: vault,
            org_id: org,
            name: "v".into(),
            description: String::new(),
            created_by: by,
            owner_user_id: UserId(uuid::Uuid::nil()),
            created_at: now,
            kek_version: 1,
        };
        let version = SecretVersion {
            secret_id: SecretId(uuid::Uuid::nil()),
            vault_id: vault,
            path: "p".into(),
            version: 1,
            secret_type: "generic".into(),
            metadata: serde_json::Value::Null,
            rotation_policy: None,
            expires_at: None,
            max_access_count: None,
            access_count: 0,
            is_disabled: false,
            deleted_at: None,
            created_by: by,
            created_at: now,
        };
        let sealed = SealedValue { ciphertext: vec![1; sealed_bytes], wrapped_dek: Vec::new(), kek_version: 1 };
        let kek = KekRef { vault_id: vault, version: 1, provider: "local".into(), handle: Vec::new() };
        let access = VaultAccess { vault: vault_row, policy_generation: 0, policies: None };
        (access, Some(SecretRead { version, sealed, kek }))
    }

    #[test]
    fn the_cache_never_holds_more_than_its_bound_nor_a_large_value() {
        let reads = HotReads::default();
        let (org, vault) = (OrgId::generate(), VaultId::generate());
        let paths: Vec<String> = (0..MAX_ENTRIES + 10).map(|n| format!("p{n}")).collect();
        for path in &paths {
            let question = Question { org, vault, path, version: None };
            reads.keep(reads.stamp(), question, &found(org, vault, 16));
            assert!(reads.len() <= MAX_ENTRIES);
        }
        assert!(reads.len() > 0, "kept after the bound was reached");
        let large = Question { org, vault, path: "large", version: None };
        reads.keep(reads.stamp(), large, &found(org, vault, MAX_SEALED_BYTES + 1));
        assert!(reads.get(large, Some(0)).is_none(), "a large value is read from the database each time");
        let small = Question { org, vault, path: &paths[MAX_ENTRIES + 9], version: None };
        assert!(reads.get(small, Some(0)).is_some());
    }

    #[test]
    fn the_cache_holds_no_more_bytes_than_its_budget_and_a_change_frees_them() {
        let reads = HotReads::default();
        let (org, vault) = (OrgId::generate(), VaultId::generate());
        let paths: Vec<String> = (0..2 * MAX_BYTES / MAX_SEALED_BYTES).map(|n| format!("p{n}")).collect();
        for path in &paths {
            let question = Question { org, vault, path, version: None };
            reads.keep(reads.stamp(), question, &found(org, vault, MAX_SEALED_BYTES - 64));
            assert!(reads.bytes() <= MAX_BYTES, "{} bytes kept", reads.bytes());
        }
        assert!(reads.len() > 0);
        reads.changed();
        assert_eq!((reads.len(), reads.bytes()), (0, 0), "nothing kept can be answered after a change");
    }

    #[test]
    fn a_read_stamped_before_a_change_is_not_kept_and_a_change_drops_what_was() {
        let reads = HotReads::default();
        let (org, vault) = (OrgId::generate(), VaultId::generate());
        let question = Question { org, vault, path: "p", version: None };
        let stamp = reads.stamp();
        reads.changed();
        reads.keep(stamp, question, &found(org, vault, 16));
        assert!(reads.get(question, Some(0)).is_none(), "read before the change, answered after it");
        reads.keep(reads.stamp(), question, &found(org, vault, 16));
        assert!(reads.get(question, Some(0)).is_some());
        reads.changed();
        assert!(reads.get(question, Some(0)).is_none());
        // And nothing at all while other processes' changes go unnoticed.
        reads.keep(reads.stamp(), question, &found(org, vault, 16));
        reads.noticing(false);
        reads.keep(reads.stamp(), question, &found(org, vault, 16));
        assert!(reads.get(question, Some(0)).is_none());
    }
}
