//! The PKCS#11 key provider: each vault's KEK is an AES-256 token object in an HSM, sensitive and
//! never extractable; data keys are wrapped and unwrapped inside the HSM.
//!
//! Hardware HSMs, cloud HSMs and SoftHSM2 (the HSM of the tests) all speak PKCS#11. The library is
//! loaded and initialised once per process (`context`), a small pool of logged-in sessions serves
//! every call off the async threads (`pool`), and the mechanisms live in `mechanism`.

mod context;
mod handles;
#[cfg(test)]
mod hung_hsm_tests;
mod mechanism;
mod pool;
mod provider;

pub use mechanism::WrapMechanism;
pub use provider::{KekInspection, PROVIDER, Pkcs11Provider, kek_label};

use std::path::PathBuf;
use std::time::Duration;
use zeroize::Zeroizing;

/// Where the HSM is and how to log in. The PIN is wiped on drop and never printed.
#[derive(Clone)]
pub struct Pkcs11Config {
    /// Path of the PKCS#11 module (`libsofthsm2.so`, a vendor library).
    pub module: PathBuf,
    /// Label of the token that holds the keys; the slot is found by it, never by number.
    pub token_label: String,
    /// The user PIN.
    pub pin: Zeroizing<String>,
    /// Logged-in sessions kept open.
    pub sessions: usize,
    /// How data keys are wrapped under a KEK.
    pub mechanism: WrapMechanism,
    /// How long one HSM call may take before the request fails with 503.
    pub call_timeout: Duration,
}

impl std::fmt::Debug for Pkcs11Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Config")
            .field("module", &self.module)
            .field("token_label", &self.token_label)
            .field("sessions", &self.sessions)
            .field("mechanism", &self.mechanism)
            .field("call_timeout", &self.call_timeout)
            .finish_non_exhaustive()
    }
}
