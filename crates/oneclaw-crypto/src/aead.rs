//! AES-256-GCM with a fresh random 96-bit nonce per message: `nonce || ciphertext || tag`.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use oneclaw_core::{Error, Result};

const NONCE_LEN: usize = 12;

/// Encrypts `plaintext` under `key`, bound to `aad`.
pub(crate) fn seal(key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    let cipher =
        Aes256Gcm::new_from_slice(key).map_err(|_| Error::Internal("AES key has the wrong length".to_owned()))?;
    let mut nonce = [0u8; NONCE_LEN];
    rand::fill(&mut nonce);
    let ciphertext = cipher
        .encrypt(&Nonce::from(nonce), Payload { msg: plaintext, aad })
        .map_err(|_| Error::Internal("AES-GCM encryption failed".to_owned()))?;
    let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// Decrypts what `seal` made. Any change to the key, the AAD or the bytes is an integrity error.
pub(crate) fn open(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let cipher =
        Aes256Gcm::new_from_slice(key).map_err(|_| Error::Internal("AES key has the wrong length".to_owned()))?;
    let (nonce, ciphertext) = sealed.split_at_checked(NONCE_LEN).ok_or_else(integrity)?;
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| integrity())?;
    cipher
        .decrypt(&Nonce::from(nonce), Payload { msg: ciphertext, aad })
        .map(zeroize::Zeroizing::new)
        .map_err(|_| integrity())
}

pub(crate) fn integrity() -> Error {
    Error::Internal("ciphertext failed its integrity check".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_what_it_sealed_and_nothing_else() {
        let key = [7u8; 32];
        let sealed = seal(&key, b"aad", b"hello").unwrap();
        assert_eq!(open(&key, b"aad", &sealed).unwrap().as_slice(), b"hello");
        assert!(open(&key, b"other", &sealed).is_err());
        assert!(open(&[8u8; 32], b"aad", &sealed).is_err());
        let mut flipped = sealed.clone();
        flipped[20] ^= 1;
        assert!(open(&key, b"aad", &flipped).is_err());
        assert!(open(&key, b"aad", &sealed[..5]).is_err());
        assert_ne!(seal(&key, b"aad", b"hello").unwrap(), sealed, "nonces must differ");
    }
}
