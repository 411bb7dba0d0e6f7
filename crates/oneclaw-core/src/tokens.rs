//! Access-token claims and random credential strings.

use crate::principal::PrincipalRef;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oneclaw_types::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The claims of a oneclaw JWT.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// `user:<uuid>` or `agent:<uuid>`.
    pub sub: String,
    /// The org id.
    pub org: Uuid,
    pub iat: i64,
    pub exp: i64,
    pub jti: Uuid,
    /// The login session (user tokens from a password login or refresh).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<Uuid>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub vault_ids: Vec<Uuid>,
    /// The generation the token was issued under: an agent's token generation or a user's
    /// credential generation (see `model::Agent`, `model::User`). Older ones stop working.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "gen")]
    pub generation: Option<i64>,
    /// The personal API key a user token was exchanged for: revoking the key ends the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub akid: Option<Uuid>,
}

impl Claims {
    /// The principal named by `sub`, if it is well formed.
    pub fn subject(&self) -> Option<PrincipalRef> {
        PrincipalRef::parse_prefixed(&self.sub)
    }
}

/// Prefix of personal (user) API keys.
pub const USER_API_KEY_PREFIX: &str = "1ck_";
/// Prefix of agent API keys.
pub const AGENT_API_KEY_PREFIX: &str = "ocv_";
/// Prefix of refresh tokens.
pub const REFRESH_TOKEN_PREFIX: &str = "ocr_";
/// Prefix of link-share tokens (the only thing that opens an `anyone_with_link` share).
pub const SHARE_LINK_PREFIX: &str = "ocs_";
/// Prefix of invitation tokens.
pub const INVITE_TOKEN_PREFIX: &str = "oci_";
/// How many characters of a key (prefix included) are stored in clear to find it again.
pub const API_KEY_LOOKUP_CHARS: usize = 12;

/// A new random credential: `prefix` + 32 random bytes in URL-safe base64 (43 characters).
pub fn random_credential(prefix: &str) -> SecretString {
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    rand::fill(&mut bytes[..]);
    let mut text = String::with_capacity(prefix.len() + 43);
    text.push_str(prefix);
    URL_SAFE_NO_PAD.encode_string(&bytes[..], &mut text);
    SecretString::new(text)
}

/// The clear, indexable start of a key: enough to find it, far too little to use it.
pub fn lookup_prefix(key: &str) -> Option<&str> {
    key.get(..API_KEY_LOOKUP_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_random_and_well_formed() {
        let a = random_credential(USER_API_KEY_PREFIX);
        let b = random_credential(USER_API_KEY_PREFIX);
        assert_ne!(a.expose(), b.expose());
        assert!(a.expose().starts_with("1ck_"));
        assert_eq!(a.len(), 4 + 43);
        assert_eq!(lookup_prefix(a.expose()).unwrap().len(), API_KEY_LOOKUP_CHARS);
    }
}
