//! Password hashing (Argon2id, OWASP parameters) and keyed digests of high-entropy credentials.
//!
//! Argon2 is slow on purpose (about 30 ms), so it runs on the blocking thread pool, never on an
//! async worker. API keys and refresh tokens carry 256 random bits, so a keyed HMAC-SHA256 is
//! enough for them and costs microseconds; the key (the "pepper") is a server secret sealed by
//! the key provider, so a stolen database alone cannot even test a guessed key.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use hmac::{Hmac, KeyInit, Mac};
use oneclaw_core::ports::CredentialHasher;
use oneclaw_core::{Error, Result};
use oneclaw_types::SecretString;
use sha2::Sha256;
use std::sync::Arc;
use zeroize::Zeroizing;

/// Argon2id with m = 19 MiB, t = 2, p = 1 (the OWASP recommendation).
fn argon2() -> Result<Argon2<'static>> {
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|err| Error::Internal(format!("argon2 params: {err}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// The `CredentialHasher` used in production and in tests.
pub struct Argon2Hasher {
    pepper: Zeroizing<Vec<u8>>,
    /// A hash of a random password, verified against when the account does not exist, so that
    /// "no such user" takes as long as "wrong password".
    decoy_phc: Arc<String>,
}

impl std::fmt::Debug for Argon2Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Argon2Hasher(<redacted>)")
    }
}

impl Argon2Hasher {
    /// A hasher whose credential digests are keyed with `pepper` (at least 32 bytes).
    pub fn new(pepper: Zeroizing<Vec<u8>>) -> Result<Self> {
        if pepper.len() < 32 {
            return Err(Error::Internal("the credential pepper must be at least 32 bytes".to_owned()));
        }
        let mut decoy = Zeroizing::new([0u8; 32]);
        rand::fill(&mut decoy[..]);
        let decoy_phc =
            argon2()?.hash_password(&decoy[..]).map_err(|err| Error::Internal(format!("argon2: {err}")))?.to_string();
        Ok(Self { pepper, decoy_phc: Arc::new(decoy_phc) })
    }
}

#[async_trait]
impl CredentialHasher for Argon2Hasher {
    async fn hash_password(&self, password: &SecretString) -> Result<String> {
        let password = password.clone();
        tokio::task::spawn_blocking(move || {
            argon2()?
                .hash_password(password.expose().as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|err| Error::Internal(format!("argon2: {err}")))
        })
        .await
        .map_err(|err| Error::Internal(format!("password hashing task failed: {err}")))?
    }

    async fn verify_password(&self, password: &SecretString, phc: Option<&str>) -> bool {
        let password = password.clone();
        let (phc, real) = match phc {
            Some(phc) => (phc.to_owned(), true),
            None => (self.decoy_phc.as_str().to_owned(), false),
        };
        let matched = tokio::task::spawn_blocking(move || {
            let Ok(parsed) = PasswordHash::new(&phc) else { return false };
            argon2().is_ok_and(|a| a.verify_password(password.expose().as_bytes(), &parsed).is_ok())
        })
        .await
        .unwrap_or(false);
        matched && real
    }

    fn digest_credential(&self, credential: &str) -> Vec<u8> {
        // HMAC accepts keys of any length, so this cannot fail; an empty digest would match nothing.
        match Hmac::<Sha256>::new_from_slice(&self.pepper) {
            Ok(mut mac) => {
                mac.update(credential.as_bytes());
                mac.finalize().into_bytes().to_vec()
            }
            Err(_) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher() -> Argon2Hasher {
        Argon2Hasher::new(Zeroizing::new(vec![5u8; 32])).unwrap()
    }

    #[tokio::test]
    async fn passwords_verify_only_against_their_own_hash() {
        let hasher = hasher();
        let phc = hasher.hash_password(&SecretString::from("correct horse")).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(hasher.verify_password(&SecretString::from("correct horse"), Some(&phc)).await);
        assert!(!hasher.verify_password(&SecretString::from("wrong horse"), Some(&phc)).await);
        assert!(!hasher.verify_password(&SecretString::from("correct horse"), None).await);
        assert!(!hasher.verify_password(&SecretString::from("x"), Some("not a phc")).await);
    }

    #[test]
    fn credential_digests_are_keyed() {
        let a = hasher().digest_credential("1ck_abc");
        let b = Argon2Hasher::new(Zeroizing::new(vec![6u8; 32])).unwrap().digest_credential("1ck_abc");
        assert_eq!(a.len(), 32);
        assert_eq!(a, hasher().digest_credential("1ck_abc"));
        assert_ne!(a, b);
    }
}
