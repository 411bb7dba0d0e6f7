//! Key ports: the key provider that holds vault KEKs, and the envelope cipher that seals values.

use crate::Result;
use crate::ids::{OrgId, VaultId};
use crate::model::SealedValue;
use async_trait::async_trait;
use oneclaw_types::SecretString;
use zeroize::Zeroizing;

/// A reference to one version of a vault's key-encryption key, as the store keeps it.
///
/// For the local keyring `handle` is the KEK sealed under the master key; for an HSM it names
/// the key object. Either way it is useless without the provider.
#[derive(Clone, PartialEq, Eq)]
pub struct KekRef {
    pub vault_id: VaultId,
    pub version: i64,
    pub provider: String,
    pub handle: Vec<u8>,
}

impl std::fmt::Debug for KekRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KekRef")
            .field("vault_id", &self.vault_id)
            .field("version", &self.version)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

/// A 256-bit data-encryption key. Wiped on drop; never printed.
#[derive(Clone)]
pub struct DataKey(pub Zeroizing<[u8; 32]>);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

/// How the key provider is doing, as `GET /v1/health/hsm` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyHealth {
    Ok,
    /// Answering, but calls failed recently; the detail says what.
    Degraded(String),
    /// Not answering; requests that need a key get 503.
    Unavailable(String),
}

/// Holds vault KEKs and wraps data keys with them. KEKs never leave the provider in clear.
#[async_trait]
pub trait KeyProvider: Send + Sync + 'static {
    /// `local` or `pkcs11`.
    fn kind(&self) -> &'static str;

    /// Creates KEK `version` for a vault and returns how to find it again.
    async fn create_kek(&self, vault_id: VaultId, version: i64) -> Result<KekRef>;

    /// Destroys a KEK; every value under it becomes unreadable.
    async fn destroy_kek(&self, kek: &KekRef) -> Result<()>;

    /// Encrypts a data key under the KEK, bound to `aad`.
    async fn wrap_dek(&self, kek: &KekRef, dek: &DataKey, aad: &[u8]) -> Result<Vec<u8>>;

    /// Decrypts a wrapped data key; any tampering is an error.
    async fn unwrap_dek(&self, kek: &KekRef, wrapped: &[u8], aad: &[u8]) -> Result<DataKey>;

    /// Seals a server secret (the JWT signing key, the API-key hashing key) for storage.
    async fn seal_system_secret(&self, purpose: &str, secret: &[u8]) -> Result<Vec<u8>>;

    /// Opens what `seal_system_secret` made.
    async fn unseal_system_secret(&self, purpose: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>>;

    /// Whether the provider answers. A provider that lives in this process is always `Ok`.
    async fn health(&self) -> KeyHealth {
        KeyHealth::Ok
    }
}

/// Key-provider work since start, as the envelope counts it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyOperations {
    /// Data keys unwrapped by the provider (cold reads, rotations).
    pub unwraps: u64,
    /// Data keys wrapped by the provider (writes, rotations).
    pub wraps: u64,
    /// Opens whose data key came from the cache: no provider call.
    pub cache_hits: u64,
    /// Opens whose data key was not cached (each is an unwrap, or its failure).
    pub cache_misses: u64,
    /// Cached data keys dropped: past the cache's capacity, or expired.
    pub cache_evictions: u64,
}

/// What a value is bound to: moved to another org, vault, path or version, it no longer opens.
#[derive(Debug, Clone, Copy)]
pub struct ValueBinding<'a> {
    pub org_id: OrgId,
    pub vault_id: VaultId,
    pub path: &'a str,
    pub version: i64,
}

/// Envelope encryption of secret values: a fresh data key per version, wrapped by the vault KEK.
#[async_trait]
pub trait SecretCipher: Send + Sync + 'static {
    /// Encrypts a value for one version of one secret.
    async fn seal(&self, kek: &KekRef, binding: ValueBinding<'_>, plaintext: &SecretString) -> Result<SealedValue>;

    /// Decrypts it; fails if anything in the binding or the ciphertext differs.
    async fn open(&self, kek: &KekRef, binding: ValueBinding<'_>, sealed: &SealedValue) -> Result<SecretString>;

    /// Re-wraps a stored data key from the `old` KEK to the `new` one (KEK rotation), without
    /// touching the value it seals.
    async fn rewrap(
        &self,
        old: &KekRef,
        new: &KekRef,
        binding: ValueBinding<'_>,
        wrapped_dek: &[u8],
    ) -> Result<Vec<u8>>;

    /// Key-provider work and DEK cache use since start.
    fn key_operations(&self) -> KeyOperations {
        KeyOperations::default()
    }
}
