//! Envelope encryption of secret values.
//!
//! Each version gets a fresh 256-bit data key (DEK). The value is sealed with AES-256-GCM under
//! the DEK; the DEK is wrapped by the vault's KEK inside the key provider. Both are bound to the
//! same AAD (org, vault, path, version), so a ciphertext or wrapped key copied to another row,
//! vault or version fails to open.
//!
//! The stored wrapped DEK starts with a header: magic `OCW1`, the KEK version (u32, big-endian),
//! then the provider's blob. The header lets KEK rotation find and re-wrap DEKs without ever
//! touching the values.

use crate::aead;
use crate::dek_cache::{DekCache, DekCacheConfig, KeyOpCounters};
use async_trait::async_trait;
use oneclaw_core::model::SealedValue;
use oneclaw_core::ports::{DataKey, KekRef, KeyProvider, SecretCipher, ValueBinding};
use oneclaw_core::{Error, Result};
use oneclaw_types::SecretString;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use zeroize::Zeroizing;

const MAGIC: &[u8; 4] = b"OCW1";
const HEADER_LEN: usize = 8;

/// The `SecretCipher` over any key provider, with a cache of unwrapped data keys.
#[derive(Clone)]
pub struct Envelope {
    keys: Arc<dyn KeyProvider>,
    cache: Arc<DekCache>,
    counters: Arc<KeyOpCounters>,
}

impl Envelope {
    /// Envelope encryption with KEKs held by `keys` and the default DEK cache.
    pub fn new(keys: Arc<dyn KeyProvider>) -> Self {
        Self::with_cache(keys, DekCacheConfig::default())
    }

    /// Envelope encryption with a DEK cache of the given size (capacity 0: no cache).
    pub fn with_cache(keys: Arc<dyn KeyProvider>, cache: DekCacheConfig) -> Self {
        Self { keys, cache: Arc::new(DekCache::new(cache)), counters: Arc::new(KeyOpCounters::default()) }
    }
}

/// The AAD: a fixed label, the fixed-width ids and version, then the path (variable length last,
/// so the encoding is unambiguous).
fn binding_aad(binding: ValueBinding<'_>) -> Vec<u8> {
    let mut aad = Vec::with_capacity(14 + 16 + 16 + 8 + binding.path.len());
    aad.extend_from_slice(b"oneclaw/val/v1");
    aad.extend_from_slice(binding.org_id.0.as_bytes());
    aad.extend_from_slice(binding.vault_id.0.as_bytes());
    aad.extend_from_slice(&binding.version.to_be_bytes());
    aad.extend_from_slice(binding.path.as_bytes());
    aad
}

fn header(kek_version: i64) -> Result<[u8; HEADER_LEN]> {
    let version = u32::try_from(kek_version).map_err(|_| Error::Internal("KEK version out of range".to_owned()))?;
    let mut out = [0u8; HEADER_LEN];
    out[..4].copy_from_slice(MAGIC);
    out[4..].copy_from_slice(&version.to_be_bytes());
    Ok(out)
}

/// Splits a stored wrapped DEK into its KEK version and the provider's blob.
pub fn parse_wrapped_dek(wrapped: &[u8]) -> Result<(i64, &[u8])> {
    let (head, blob) = wrapped.split_at_checked(HEADER_LEN).ok_or_else(aead::integrity)?;
    if &head[..4] != MAGIC {
        return Err(aead::integrity());
    }
    let version: [u8; 4] = head[4..].try_into().map_err(|_| aead::integrity())?;
    Ok((i64::from(u32::from_be_bytes(version)), blob))
}

#[async_trait]
impl SecretCipher for Envelope {
    async fn seal(&self, kek: &KekRef, binding: ValueBinding<'_>, plaintext: &SecretString) -> Result<SealedValue> {
        let aad = binding_aad(binding);
        let mut dek = DataKey(Zeroizing::new([0u8; 32]));
        rand::fill(&mut dek.0[..]);
        let ciphertext = aead::seal(&dek.0, &aad, plaintext.expose().as_bytes())?;
        let blob = self.keys.wrap_dek(kek, &dek, &aad).await?;
        self.counters.wraps.fetch_add(1, Ordering::Relaxed);
        let mut wrapped_dek = header(kek.version)?.to_vec();
        wrapped_dek.extend_from_slice(&blob);
        self.cache.put(DekCache::slot(&wrapped_dek), &dek);
        Ok(SealedValue { ciphertext, wrapped_dek, kek_version: kek.version })
    }

    fn key_operations(&self) -> oneclaw_core::ports::KeyOperations {
        self.counters.snapshot(&self.cache)
    }

    async fn rewrap(
        &self,
        old: &KekRef,
        new: &KekRef,
        binding: ValueBinding<'_>,
        wrapped_dek: &[u8],
    ) -> Result<Vec<u8>> {
        let (kek_version, blob) = parse_wrapped_dek(wrapped_dek)?;
        if kek_version != old.version {
            return Err(Error::Internal(format!(
                "data key is wrapped by KEK version {kek_version}, not the version {} being rotated out",
                old.version
            )));
        }
        let aad = binding_aad(binding);
        let dek = self.keys.unwrap_dek(old, blob, &aad).await?;
        self.counters.unwraps.fetch_add(1, Ordering::Relaxed);
        let blob = self.keys.wrap_dek(new, &dek, &aad).await?;
        self.counters.wraps.fetch_add(1, Ordering::Relaxed);
        let mut rewrapped = header(new.version)?.to_vec();
        rewrapped.extend_from_slice(&blob);
        Ok(rewrapped)
    }

    async fn open(&self, kek: &KekRef, binding: ValueBinding<'_>, sealed: &SealedValue) -> Result<SecretString> {
        let (kek_version, blob) = parse_wrapped_dek(&sealed.wrapped_dek)?;
        if kek_version != kek.version {
            return Err(Error::Internal(format!(
                "value is wrapped by KEK version {kek_version}, but version {} was supplied",
                kek.version
            )));
        }
        let aad = binding_aad(binding);
        let slot = DekCache::slot(&sealed.wrapped_dek);
        let dek = match self.cache.get(&slot) {
            Some(dek) => {
                self.counters.cache_hits.fetch_add(1, Ordering::Relaxed);
                dek
            }
            None => {
                self.counters.cache_misses.fetch_add(1, Ordering::Relaxed);
                let dek = self.keys.unwrap_dek(kek, blob, &aad).await?;
                self.counters.unwraps.fetch_add(1, Ordering::Relaxed);
                self.cache.put(slot, &dek);
                dek
            }
        };
        // The value's own AES-GCM tag still checks the binding: a cached key opens nothing else.
        let plain = aead::open(&dek.0, &aad, &sealed.ciphertext)?;
        let text = String::from_utf8(plain.to_vec()).map_err(|_| aead::integrity())?;
        Ok(SecretString::new(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local_keyring::{LocalKeyring, MasterKey};
    use oneclaw_core::ids::{OrgId, VaultId};

    fn envelope() -> Envelope {
        Envelope::new(Arc::new(LocalKeyring::new(MasterKey::from_hex(&"11".repeat(32)).unwrap())))
    }

    #[tokio::test]
    async fn values_are_bound_to_org_vault_path_and_version() {
        let envelope = envelope();
        let vault = VaultId::generate();
        let kek = envelope.keys.create_kek(vault, 1).await.unwrap();
        let binding = ValueBinding { org_id: OrgId::generate(), vault_id: vault, path: "db/password", version: 3 };
        let sealed = envelope.seal(&kek, binding, &SecretString::from("s3cr3t-value")).await.unwrap();
        assert!(!sealed.ciphertext.windows(12).any(|w| w == b"s3cr3t-value"));
        assert_eq!(envelope.open(&kek, binding, &sealed).await.unwrap().expose(), "s3cr3t-value");

        for moved in [
            ValueBinding { path: "db/other", ..binding },
            ValueBinding { version: 4, ..binding },
            ValueBinding { org_id: OrgId::generate(), ..binding },
        ] {
            assert!(envelope.open(&kek, moved, &sealed).await.is_err());
        }
        let mut tampered = sealed.clone();
        tampered.ciphertext[15] ^= 0x80;
        assert!(envelope.open(&kek, binding, &tampered).await.is_err());
        let mut bad_header = sealed.clone();
        bad_header.wrapped_dek[0] = b'X';
        assert!(envelope.open(&kek, binding, &bad_header).await.is_err());
    }

    #[tokio::test]
    async fn repeated_reads_skip_the_key_provider_unless_the_cache_is_off() {
        for (capacity, expected_unwraps) in [(100, 0), (0, 5)] {
            let keys = Arc::new(LocalKeyring::new(MasterKey::from_hex(&"22".repeat(32)).unwrap()));
            let envelope =
                Envelope::with_cache(keys, DekCacheConfig { capacity, ttl: std::time::Duration::from_secs(60) });
            let vault = VaultId::generate();
            let kek = envelope.keys.create_kek(vault, 1).await.unwrap();
            let binding = ValueBinding { org_id: OrgId::generate(), vault_id: vault, path: "hot", version: 1 };
            let sealed = envelope.seal(&kek, binding, &SecretString::from("v")).await.unwrap();
            for _ in 0..5 {
                assert_eq!(envelope.open(&kek, binding, &sealed).await.unwrap().expose(), "v");
            }
            let counts = envelope.key_operations();
            assert_eq!((counts.unwraps, counts.wraps), (expected_unwraps, 1), "capacity {capacity}");
            assert_eq!(counts.cache_hits, 5 - expected_unwraps);
            assert_eq!(counts.cache_misses, expected_unwraps, "every miss is an unwrap");
            // A cached key still refuses a moved ciphertext.
            let moved = ValueBinding { path: "elsewhere", ..binding };
            assert!(envelope.open(&kek, moved, &sealed).await.is_err());
        }
    }

    #[tokio::test]
    async fn every_version_gets_its_own_data_key() {
        let envelope = envelope();
        let vault = VaultId::generate();
        let kek = envelope.keys.create_kek(vault, 1).await.unwrap();
        let binding = ValueBinding { org_id: OrgId::generate(), vault_id: vault, path: "a", version: 1 };
        let one = envelope.seal(&kek, binding, &SecretString::from("same")).await.unwrap();
        let two = envelope.seal(&kek, binding, &SecretString::from("same")).await.unwrap();
        assert_ne!(one.wrapped_dek, two.wrapped_dek);
        assert_ne!(one.ciphertext, two.ciphertext);
        assert_eq!(parse_wrapped_dek(&one.wrapped_dek).unwrap().0, 1);
    }
}
