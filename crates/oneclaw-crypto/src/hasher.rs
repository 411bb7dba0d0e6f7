//! Password hashing (Argon2id, OWASP parameters) and keyed digests of high-entropy credentials.
//!
//! Argon2 is slow on purpose (about 30 ms, 19 MiB each), so it runs on the blocking thread pool,
//! never on an async worker, and on at most half the cores at a time: a flood of sign-ins
//! would otherwise start hundreds of hashes at once (gigabytes of memory, and the HSM calls that
//! share the blocking pool starved). Past a bounded queue the answer is 503 at once. A caller
//! that gives up while queued (a timed-out request) leaves the queue without hashing. API keys and refresh tokens carry 256 random bits, so a keyed HMAC-SHA256 is
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

/// Hashes that may wait for a hashing slot, per slot, before further ones are refused.
const QUEUE_PER_CORE: usize = 16;

/// The `CredentialHasher` used in production and in tests.
pub struct Argon2Hasher {
    pepper: Zeroizing<Vec<u8>>,
    /// One permit per core: the hashes that may run at once.
    running: Arc<tokio::sync::Semaphore>,
    /// Hashes running or waiting; bounded by `capacity`.
    admitted: Arc<std::sync::atomic::AtomicUsize>,
    capacity: usize,
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
        // Half the cores at most (one on a 2-core machine): a flood of sign-ins must leave the
        // rest to the requests that are not guessing passwords.
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        let hashers = (cores / 2).max(1);
        Ok(Self {
            pepper,
            decoy_phc: Arc::new(decoy_phc),
            running: Arc::new(tokio::sync::Semaphore::new(hashers)),
            admitted: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
            capacity: hashers * (1 + QUEUE_PER_CORE),
        })
    }

    /// Runs one Argon2 computation when a core is free; refuses at once when the queue is full.
    async fn bounded<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        use std::sync::atomic::Ordering;
        let admitted = self.admitted.fetch_add(1, Ordering::AcqRel) + 1;
        let _slot = Admitted(self.admitted.clone());
        if admitted > self.capacity {
            return Err(Error::Unavailable("the server is busy checking passwords; try again shortly".to_owned()));
        }
        let _permit = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::Internal("password hashing is shut down".to_owned()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|err| Error::Internal(format!("password hashing task failed: {err}")))
    }
}

/// Leaves the queue when dropped (done, failed or abandoned).
struct Admitted(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

#[async_trait]
impl CredentialHasher for Argon2Hasher {
    async fn hash_password(&self, password: &SecretString) -> Result<String> {
        let password = password.clone();
        self.bounded(move || {
            argon2()?
                .hash_password(password.expose().as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|err| Error::Internal(format!("argon2: {err}")))
        })
        .await?
    }

    async fn verify_password(&self, password: &SecretString, phc: Option<&str>) -> Result<bool> {
        let password = password.clone();
        let (phc, real) = match phc {
            Some(phc) => (phc.to_owned(), true),
            None => (self.decoy_phc.as_str().to_owned(), false),
        };
        let matched = self
            .bounded(move || {
                let Ok(parsed) = PasswordHash::new(&phc) else { return false };
                argon2().is_ok_and(|a| a.verify_password(password.expose().as_bytes(), &parsed).is_ok())
            })
            .await?;
        Ok(matched && real)
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
        assert!(hasher.verify_password(&SecretString::from("correct horse"), Some(&phc)).await.unwrap());
        assert!(!hasher.verify_password(&SecretString::from("wrong horse"), Some(&phc)).await.unwrap());
        assert!(!hasher.verify_password(&SecretString::from("correct horse"), None).await.unwrap());
        assert!(!hasher.verify_password(&SecretString::from("x"), Some("not a phc")).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flood_past_the_queue_is_refused_not_queued() {
        let hasher = Arc::new(hasher());
        let phc = hasher.hash_password(&SecretString::from("correct horse")).await.unwrap();
        let flood = hasher.capacity + 40;
        let tasks: Vec<_> = (0..flood)
            .map(|_| {
                let (hasher, phc) = (hasher.clone(), phc.clone());
                tokio::spawn(async move { hasher.verify_password(&SecretString::from("guess"), Some(&phc)).await })
            })
            .collect();
        let mut refused = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(matched) => assert!(!matched),
                Err(Error::Unavailable(_)) => refused += 1,
                Err(other) => panic!("{other:?}"),
            }
        }
        assert!(refused >= 40, "only {refused} of {flood} refused");
        assert_eq!(hasher.admitted.load(std::sync::atomic::Ordering::Acquire), 0, "every slot given back");
        assert!(hasher.verify_password(&SecretString::from("correct horse"), Some(&phc)).await.unwrap());
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
