//! Object handles of KEKs already found, so an unwrap (the cold read) makes one HSM operation
//! instead of two: finding a key walks the token's objects (about 50 µs on SoftHSM2 with a few
//! dozen keys, growing with their number), the decryption itself about 20 µs.
//!
//! Handles belong to the process's PKCS#11 application, so one map serves every session. A
//! handle can go stale (another process destroyed the key, the HSM restarted): an unwrap with
//! a dead or wrong handle fails its integrity check and is retried after a fresh find. Wraps
//! always find their key: a wrap under a wrong key would not fail until the value is read, and
//! checking a cached handle's CKA_ID costs as much as finding it again (measured on SoftHSM2);
//! wraps come with a database commit anyway.

use cryptoki::object::ObjectHandle;
use std::collections::HashMap;
use std::sync::Mutex;

/// More KEKs than this in use at once and the map starts over (a find each, then cached again).
const MAX_HANDLES: usize = 100_000;

#[derive(Default)]
pub(crate) struct HandleCache {
    found: Mutex<HashMap<(String, Vec<u8>), ObjectHandle>>,
}

impl HandleCache {
    pub(crate) fn get(&self, label: &str, id: &[u8]) -> Option<ObjectHandle> {
        self.found.lock().ok()?.get(&(label.to_owned(), id.to_vec())).copied()
    }

    pub(crate) fn put(&self, label: &str, id: &[u8], handle: ObjectHandle) {
        if let Ok(mut found) = self.found.lock() {
            if found.len() >= MAX_HANDLES {
                found.clear();
            }
            found.insert((label.to_owned(), id.to_vec()), handle);
        }
    }

    pub(crate) fn forget(&self, label: &str, id: &[u8]) {
        if let Ok(mut found) = self.found.lock() {
            found.remove(&(label.to_owned(), id.to_vec()));
        }
    }
}
