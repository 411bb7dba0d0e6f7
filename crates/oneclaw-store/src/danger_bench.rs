//! Benchmark-only switch (feature `danger-bench-skip-audit`): skip audit writes to measure
//! their cost. Never compiled into the server or its tests.

use std::sync::atomic::{AtomicBool, Ordering};

static SKIP_AUDIT: AtomicBool = AtomicBool::new(false);

/// Turns audit writes off (`true`) or on.
pub fn danger_skip_audit(skip: bool) {
    SKIP_AUDIT.store(skip, Ordering::SeqCst);
}

pub(crate) fn skipping_audit() -> bool {
    SKIP_AUDIT.load(Ordering::Relaxed)
}
