//! Several key providers behind one: new KEKs and server secrets go to the active provider,
//! everything else to the provider that made the KEK. During a migration (local keyring to
//! PKCS#11 or back) values under either stay readable.

use async_trait::async_trait;
use oneclaw_core::ids::VaultId;
use oneclaw_core::ports::{DataKey, KekRef, KeyHealth, KeyProvider};
use oneclaw_core::{Error, Result};
use std::sync::Arc;
use zeroize::Zeroizing;

/// The active provider and the others this server can still read with.
pub struct KeyRouter {
    active: Arc<dyn KeyProvider>,
    others: Vec<Arc<dyn KeyProvider>>,
}

impl KeyRouter {
    /// Routes to `active` for new keys; `others` only open what they made.
    pub fn new(active: Arc<dyn KeyProvider>, others: Vec<Arc<dyn KeyProvider>>) -> Self {
        Self { active, others }
    }

    /// Every configured provider, the active one first.
    pub fn providers(&self) -> impl Iterator<Item = &Arc<dyn KeyProvider>> {
        std::iter::once(&self.active).chain(self.others.iter())
    }

    fn owner(&self, kek: &KekRef) -> Result<&Arc<dyn KeyProvider>> {
        self.providers().find(|provider| provider.kind() == kek.provider).ok_or_else(|| {
            Error::Unavailable(format!(
                "this value's key is held by the {:?} key provider, which this server is not configured for",
                kek.provider
            ))
        })
    }
}

#[async_trait]
impl KeyProvider for KeyRouter {
    fn kind(&self) -> &'static str {
        self.active.kind()
    }

    async fn create_kek(&self, vault_id: VaultId, version: i64) -> Result<KekRef> {
        self.active.create_kek(vault_id, version).await
    }

    async fn destroy_kek(&self, kek: &KekRef) -> Result<()> {
        self.owner(kek)?.destroy_kek(kek).await
    }

    async fn wrap_dek(&self, kek: &KekRef, dek: &DataKey, aad: &[u8]) -> Result<Vec<u8>> {
        self.owner(kek)?.wrap_dek(kek, dek, aad).await
    }

    async fn unwrap_dek(&self, kek: &KekRef, wrapped: &[u8], aad: &[u8]) -> Result<DataKey> {
        self.owner(kek)?.unwrap_dek(kek, wrapped, aad).await
    }

    async fn seal_system_secret(&self, purpose: &str, secret: &[u8]) -> Result<Vec<u8>> {
        self.active.seal_system_secret(purpose, secret).await
    }

    /// Tries each provider, the active one first: a sealed secret does not say who sealed it,
    /// and only its sealer can open it. An outage is reported as such rather than as a mismatch.
    async fn unseal_system_secret(&self, purpose: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let mut failure = None;
        for provider in self.providers() {
            match provider.unseal_system_secret(purpose, sealed).await {
                Ok(secret) => return Ok(secret),
                Err(err @ Error::Unavailable(_)) => failure = Some(err),
                Err(err) => {
                    if failure.is_none() {
                        failure = Some(err);
                    }
                }
            }
        }
        Err(failure.unwrap_or_else(|| Error::Internal("no key provider is configured".to_owned())))
    }

    /// The worst health of any configured provider.
    async fn health(&self) -> KeyHealth {
        let mut worst = KeyHealth::Ok;
        for provider in self.providers() {
            match provider.health().await {
                KeyHealth::Ok => {}
                degraded @ KeyHealth::Degraded(_) => {
                    if worst == KeyHealth::Ok {
                        worst = degraded;
                    }
                }
                down @ KeyHealth::Unavailable(_) => return down,
            }
        }
        worst
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local_keyring::{LocalKeyring, MasterKey};

    #[tokio::test]
    async fn keys_go_to_the_provider_that_made_them() {
        let old = Arc::new(LocalKeyring::new(MasterKey::from_hex(&"01".repeat(32)).unwrap()));
        let vault = VaultId::generate();
        let kek = old.create_kek(vault, 1).await.unwrap();
        let sealed = old.seal_system_secret("p", b"seed").await.unwrap();
        let dek = DataKey(Zeroizing::new([3u8; 32]));
        let wrapped = old.wrap_dek(&kek, &dek, b"aad").await.unwrap();

        let router = KeyRouter::new(Arc::new(Misnamed), vec![old]);
        assert_eq!(*router.unwrap_dek(&kek, &wrapped, b"aad").await.unwrap().0, [3u8; 32]);
        assert_eq!(router.unseal_system_secret("p", &sealed).await.unwrap().as_slice(), b"seed");
        let foreign = KekRef { provider: "elsewhere".to_owned(), ..kek };
        let err = router.unwrap_dek(&foreign, &wrapped, b"aad").await.unwrap_err();
        assert!(matches!(err, Error::Unavailable(ref detail) if detail.contains("\"elsewhere\"")), "{err:?}");
        assert_eq!(router.kind(), "misnamed");
    }

    /// A provider that refuses everything, standing in for the active one.
    struct Misnamed;

    #[async_trait]
    impl KeyProvider for Misnamed {
        fn kind(&self) -> &'static str {
            "misnamed"
        }
        async fn create_kek(&self, _: VaultId, _: i64) -> Result<KekRef> {
            Err(Error::Internal("no".to_owned()))
        }
        async fn destroy_kek(&self, _: &KekRef) -> Result<()> {
            Err(Error::Internal("no".to_owned()))
        }
        async fn wrap_dek(&self, _: &KekRef, _: &DataKey, _: &[u8]) -> Result<Vec<u8>> {
            Err(Error::Internal("no".to_owned()))
        }
        async fn unwrap_dek(&self, _: &KekRef, _: &[u8], _: &[u8]) -> Result<DataKey> {
            Err(Error::Internal("no".to_owned()))
        }
        async fn seal_system_secret(&self, _: &str, _: &[u8]) -> Result<Vec<u8>> {
            Err(Error::Internal("no".to_owned()))
        }
        async fn unseal_system_secret(&self, _: &str, _: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
            Err(Error::Internal("no".to_owned()))
        }
    }
}
