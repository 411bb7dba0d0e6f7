//! Bearer tokens this node has already verified, by keyed digest of the whole token: a token's
//! signature is checked and its claims parsed once, not on every request it is presented with.
//! Only the signature check and the parse are skipped: expiry and revocation (session, key,
//! generation) are checked on every use, so a remembered token stops working exactly when an
//! unremembered one would.

use crate::tokens::Claims;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Most tokens remembered; past it the memory starts over (it only saves work).
const MAX_REMEMBERED: usize = 100_000;

#[derive(Default)]
pub struct VerifiedTokens {
    by_digest: Mutex<HashMap<Vec<u8>, Arc<Claims>>>,
}

impl VerifiedTokens {
    pub(crate) fn get(&self, digest: &[u8]) -> Option<Arc<Claims>> {
        self.by_digest.lock().ok()?.get(digest).cloned()
    }

    pub(crate) fn remember(&self, digest: Vec<u8>, claims: Arc<Claims>) {
        if let Ok(mut tokens) = self.by_digest.lock() {
            if tokens.len() >= MAX_REMEMBERED {
                tokens.clear();
            }
            tokens.insert(digest, claims);
        }
    }

    /// Forgets tokens that have expired (`now` in unix seconds).
    pub(crate) fn prune(&self, now: i64) {
        if let Ok(mut tokens) = self.by_digest.lock() {
            tokens.retain(|_, claims| claims.exp > now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Arc<Claims> {
        Arc::new(Claims { exp, jti: uuid::Uuid::new_v4(), ..Claims::default() })
    }

    #[test]
    fn a_token_is_found_only_by_its_own_digest_and_forgotten_once_expired() {
        let tokens = VerifiedTokens::default();
        tokens.remember(b"digest-a".to_vec(), claims(100));
        tokens.remember(b"digest-b".to_vec(), claims(200));
        assert_eq!(tokens.get(b"digest-a").map(|c| c.exp), Some(100));
        assert!(tokens.get(b"digest-c").is_none());
        tokens.prune(150);
        assert!(tokens.get(b"digest-a").is_none(), "expired tokens are forgotten");
        assert_eq!(tokens.get(b"digest-b").map(|c| c.exp), Some(200));
    }
}
