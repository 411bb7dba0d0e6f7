//! Access tokens: EdDSA (Ed25519) JWTs.
//!
//! Only `EdDSA` is accepted on verification, so `alg: none`, HMAC-confusion and tokens signed
//! with any other key fail. Expiry is checked by the domain against its clock, not here.

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use oneclaw_core::ports::{TokenSigner, VerifyingKeyInfo};
use oneclaw_core::tokens::Claims;
use oneclaw_core::{Error, Result};
use oneclaw_types::SecretString;
use std::collections::HashSet;
use zeroize::Zeroizing;

/// Signs with one Ed25519 key; verifies with its public half.
pub struct Ed25519Signer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    header: Header,
    validation: Validation,
    public: VerifyingKeyInfo,
}

impl std::fmt::Debug for Ed25519Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ed25519Signer").field("kid", &self.public.kid).finish_non_exhaustive()
    }
}

impl Ed25519Signer {
    /// A new random 32-byte seed, to be sealed and stored.
    pub fn generate_seed() -> Zeroizing<Vec<u8>> {
        let mut seed = Zeroizing::new(vec![0u8; 32]);
        rand::fill(&mut seed[..]);
        seed
    }

    /// The signer for a 32-byte seed.
    pub fn from_seed(seed: &[u8]) -> Result<Self> {
        let seed: Zeroizing<[u8; 32]> = Zeroizing::new(
            seed.try_into().map_err(|_| Error::Internal("the JWT signing seed must be 32 bytes".to_owned()))?,
        );
        let signing = SigningKey::from_bytes(&seed);
        let der = signing
            .to_pkcs8_der()
            .map_err(|err| Error::Internal(format!("cannot encode the JWT signing key: {err}")))?;
        let public_key = signing.verifying_key().to_bytes().to_vec();
        let kid = crate::jwt_key_id(&public_key);
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.clone());
        let mut validation = Validation::new(Algorithm::EdDSA);
        // The domain checks exp against its own clock (so tests can move time) and revocation.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims = HashSet::new();
        Ok(Self {
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            decoding: DecodingKey::from_ed_der(&public_key),
            header,
            validation,
            public: VerifyingKeyInfo { kid, alg: "EdDSA", public_key },
        })
    }
}

impl TokenSigner for Ed25519Signer {
    fn sign(&self, claims: &Claims) -> Result<SecretString> {
        jsonwebtoken::encode(&self.header, claims, &self.encoding)
            .map(SecretString::new)
            .map_err(|err| Error::Internal(format!("cannot sign a token: {err}")))
    }

    fn verify(&self, token: &str) -> Result<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| Error::Unauthenticated("Invalid token".to_owned()))
    }

    fn verifying_key(&self) -> VerifyingKeyInfo {
        self.public.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use uuid::Uuid;

    fn claims() -> Claims {
        Claims {
            sub: format!("user:{}", Uuid::now_v7()),
            org: Uuid::now_v7(),
            iat: 1,
            exp: 2,
            jti: Uuid::now_v7(),
            sid: None,
            scopes: vec![],
            vault_ids: vec![],
            generation: None,
            akid: None,
        }
    }

    #[test]
    fn signs_and_verifies_its_own_tokens_only() {
        let signer = Ed25519Signer::from_seed(&Ed25519Signer::generate_seed()).unwrap();
        let other = Ed25519Signer::from_seed(&Ed25519Signer::generate_seed()).unwrap();
        let claims = claims();
        let token = signer.sign(&claims).unwrap();
        assert_eq!(signer.verify(token.expose()).unwrap(), claims);
        assert!(other.verify(token.expose()).is_err());
        let header = token.expose().split('.').next().unwrap();
        let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
        assert_eq!(header["alg"], "EdDSA");
    }

    #[test]
    fn refuses_alg_none_and_hmac_tokens() {
        let signer = Ed25519Signer::from_seed(&Ed25519Signer::generate_seed()).unwrap();
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims()).unwrap());
        let none = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#));
        assert!(signer.verify(&none).is_err());
        let hmac = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims(),
            &EncodingKey::from_secret(&signer.public.public_key).unwrap(),
        )
        .unwrap();
        assert!(signer.verify(&hmac).is_err());
    }
}

#[cfg(test)]
mod fuzz_tests {
    //! Bearer tokens come from anyone: verifying arbitrary and mangled ones never panics and
    //! never succeeds. A short seeded pass runs in CI; the long run is in docs/FUZZING.md.
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn fuzz_bearer_tokens_never_panic_or_verify(
            text in "\\PC{0,300}",
            flip in any::<proptest::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let signer = Ed25519Signer::from_seed(&Ed25519Signer::generate_seed()).unwrap();
            prop_assert!(signer.verify(&text).is_err());
            let claims = Claims {
                sub: "user:00000000-0000-0000-0000-000000000000".into(), org: uuid::Uuid::nil(), iat: 1, exp: 2,
                jti: uuid::Uuid::nil(), sid: None, scopes: vec![], vault_ids: vec![], generation: None, akid: None,
            };
            let good = signer.sign(&claims).unwrap();
            let mut bytes = good.expose().as_bytes().to_vec();
            let at = flip.index(bytes.len());
            if bytes[at] != byte && byte.is_ascii_graphic() {
                bytes[at] = byte;
                let mangled = String::from_utf8_lossy(&bytes).into_owned();
                // Base64url has a little slack in its last character; anything else must fail.
                if signer.verify(&mangled).is_ok() {
                    prop_assert_eq!(signer.verify(&mangled).unwrap(), signer.verify(good.expose()).unwrap());
                }
            }
        }
    }
}
