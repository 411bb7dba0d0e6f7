//! Ed25519 signatures over audit checkpoints.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use oneclaw_core::audit::verify::ChainSigner;
use oneclaw_core::{Error, Result};
use sha2::{Digest, Sha256};

/// Signs checkpoints with a seed the key provider sealed.
pub struct Ed25519ChainSigner {
    signing: SigningKey,
    verifying: VerifyingKey,
    key_id: String,
}

impl std::fmt::Debug for Ed25519ChainSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ed25519ChainSigner").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

impl Ed25519ChainSigner {
    /// The signer for a 32-byte seed.
    pub fn from_seed(seed: &[u8]) -> Result<Self> {
        let seed: zeroize::Zeroizing<[u8; 32]> = zeroize::Zeroizing::new(
            seed.try_into().map_err(|_| Error::Internal("the checkpoint seed must be 32 bytes".to_owned()))?,
        );
        let signing = SigningKey::from_bytes(&seed);
        let verifying = signing.verifying_key();
        let key_id = crate::jwt_key_id(verifying.as_bytes());
        Ok(Self { signing, verifying, key_id })
    }
}

impl ChainSigner for Ed25519ChainSigner {
    fn key_id(&self) -> String {
        self.key_id.clone()
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.signing.sign(&Sha256::digest(message)).to_bytes().to_vec()
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        Signature::from_slice(signature).is_ok_and(|sig| self.verifying.verify(&Sha256::digest(message), &sig).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_for_their_message_and_key() {
        let a = Ed25519ChainSigner::from_seed(&[1u8; 32]).unwrap();
        let b = Ed25519ChainSigner::from_seed(&[2u8; 32]).unwrap();
        let sig = a.sign(b"head 7");
        assert!(a.verify(b"head 7", &sig));
        assert!(!a.verify(b"head 8", &sig));
        assert!(!b.verify(b"head 7", &sig));
        assert_ne!(a.key_id(), b.key_id());
    }
}
