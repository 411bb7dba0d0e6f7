//! Credential ports: password and API-key hashing, and access-token signing.

use crate::Result;
use crate::tokens::Claims;
use async_trait::async_trait;
use oneclaw_types::SecretString;

/// Hashes passwords (slow, salted) and credentials such as API keys (fast, keyed).
#[async_trait]
pub trait CredentialHasher: Send + Sync + 'static {
    /// An Argon2id PHC string for a new password.
    async fn hash_password(&self, password: &SecretString) -> Result<String>;

    /// True when the password matches. With `None` it still spends the same time, so unknown
    /// accounts cannot be told from wrong passwords by timing. `Unavailable` (a 503) when too
    /// many hashes already wait: a flood is refused instead of queued without bound.
    async fn verify_password(&self, password: &SecretString, phc: Option<&str>) -> Result<bool>;

    /// A keyed digest of a high-entropy credential (API key, refresh token), for storage.
    fn digest_credential(&self, credential: &str) -> Vec<u8>;
}

/// The public half of the token-signing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyingKeyInfo {
    pub kid: String,
    /// `EdDSA`.
    pub alg: &'static str,
    /// The raw 32-byte Ed25519 public key.
    pub public_key: Vec<u8>,
}

/// Signs and verifies access tokens. Expiry and revocation are checked by the domain, which owns
/// the clock; the signer checks the signature and the algorithm only.
pub trait TokenSigner: Send + Sync + 'static {
    /// A compact JWT for the claims.
    fn sign(&self, claims: &Claims) -> Result<SecretString>;

    /// The claims of a token whose signature and algorithm are valid.
    fn verify(&self, token: &str) -> Result<Claims>;

    /// The public key, for JWKS.
    fn verifying_key(&self) -> VerifyingKeyInfo;
}
