//! `HsmOutageDouble`: a TEST DOUBLE standing in for a network HSM that goes away and comes back.
//!
//! SoftHSM2 runs in-process and cannot be unplugged (moving its token directory makes keys
//! vanish for good rather than fail), and the one PKCS#11 proxy on this machine (p11-kit
//! remote) cannot carry AES-GCM or key-wrap calls. So the outage is simulated here: in front of
//! the real configured provider, with a switch; while it is off every call fails exactly as
//! the PKCS#11 provider fails when its device does (`Error::Unavailable`). The provider's own
//! recovery from lost sessions is tested against SoftHSM2 in `oneclaw-pkcs11`.

use async_trait::async_trait;
use oneclaw_core::ids::VaultId;
use oneclaw_core::ports::{DataKey, KekRef, KeyHealth, KeyProvider};
use oneclaw_core::{Error, Result};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use zeroize::Zeroizing;

/// The configured provider behind an on/off switch (TEST DOUBLE, see the module docs).
pub struct HsmOutageDouble {
    inner: Arc<dyn KeyProvider>,
    down: AtomicBool,
    refused: AtomicU64,
}

impl HsmOutageDouble {
    pub fn wrap(inner: Arc<dyn KeyProvider>) -> Arc<Self> {
        Arc::new(Self { inner, down: AtomicBool::new(false), refused: AtomicU64::new(0) })
    }

    /// Takes the "HSM" away (`true`) or brings it back (`false`).
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// How many calls were refused while it was away.
    pub fn refused_calls(&self) -> u64 {
        self.refused.load(Ordering::SeqCst)
    }

    fn check(&self) -> Result<()> {
        if self.down.load(Ordering::SeqCst) {
            self.refused.fetch_add(1, Ordering::SeqCst);
            return Err(Error::Unavailable("the HSM is unavailable (open a session: DeviceError)".to_owned()));
        }
        Ok(())
    }
}

#[async_trait]
impl KeyProvider for HsmOutageDouble {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    async fn create_kek(&self, vault_id: VaultId, version: i64) -> Result<KekRef> {
        self.check()?;
        self.inner.create_kek(vault_id, version).await
    }

    async fn destroy_kek(&self, kek: &KekRef) -> Result<()> {
        self.check()?;
        self.inner.destroy_kek(kek).await
    }

    async fn wrap_dek(&self, kek: &KekRef, dek: &DataKey, aad: &[u8]) -> Result<Vec<u8>> {
        self.check()?;
        self.inner.wrap_dek(kek, dek, aad).await
    }

    async fn unwrap_dek(&self, kek: &KekRef, wrapped: &[u8], aad: &[u8]) -> Result<DataKey> {
        self.check()?;
        self.inner.unwrap_dek(kek, wrapped, aad).await
    }

    async fn seal_system_secret(&self, purpose: &str, secret: &[u8]) -> Result<Vec<u8>> {
        self.check()?;
        self.inner.seal_system_secret(purpose, secret).await
    }

    async fn unseal_system_secret(&self, purpose: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        self.check()?;
        self.inner.unseal_system_secret(purpose, sealed).await
    }

    async fn health(&self) -> KeyHealth {
        match self.check() {
            Err(err) => KeyHealth::Unavailable(err.to_string()),
            Ok(()) => self.inner.health().await,
        }
    }
}
