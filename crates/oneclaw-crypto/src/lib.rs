//! Cryptography for oneclaw, behind the ports of `oneclaw-core`:
//!
//! - `aead`: AES-256-GCM with a random nonce, the one primitive every seal below uses;
//! - `envelope`: per-version data keys, AAD-bound to org, vault, path and version;
//! - `local_keyring`: the default key provider, KEKs sealed by a master key from a file;
//! - `key_router`: several key providers behind one, for migrations between them;
//! - `hasher`: Argon2id passwords and keyed (HMAC-SHA256) digests of API keys and tokens;
//! - `jwt`: Ed25519 (EdDSA) access tokens.
//!
//! Key material lives in `Zeroizing` buffers and never appears in `Debug` output or errors.

mod aead;
pub mod checkpoint;
pub mod dek_cache;
pub mod envelope;
pub mod hasher;
pub mod jwt;
pub mod key_router;
pub mod local_keyring;

pub use checkpoint::Ed25519ChainSigner;
pub use dek_cache::{DekCache, DekCacheConfig, KeyOpCounters};
pub use envelope::Envelope;
pub use hasher::Argon2Hasher;
pub use jwt::Ed25519Signer;
pub use key_router::KeyRouter;
pub use local_keyring::{LocalKeyring, MasterKey};

/// A short id for a public key: URL-safe base64 of the first 12 bytes of its SHA-256.
pub(crate) fn jwt_key_id(public_key: &[u8]) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&sha2::Sha256::digest(public_key)[..12])
}
