//! A string that holds a secret: zeroized on drop, redacted in `Debug`, revealed only on request.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

/// A secret value, password, token or key in string form.
///
/// `Debug` prints `SecretString(<redacted>)`, so a value can never reach a log line through a
/// derived `Debug` of a struct that holds it. The bytes are wiped when it is dropped.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Wraps a string; the caller gives up its copy.
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// The plaintext. Named so that every place that needs it is easy to find and review.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Length in bytes, without exposing the value.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when the value is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// On the wire a secret string is a plain JSON string.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for SecretString {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new().schema_type(utoipa::openapi::schema::Type::String).into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for SecretString {}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self::new(value.to_owned())
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretString(<redacted>)")
    }
}

impl Serialize for SecretString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = SecretString::from("hunter2-very-secret");
        let printed = format!("{secret:?} {:?}", Some(&secret));
        assert!(!printed.contains("hunter2"), "{printed}");
    }

    #[test]
    fn serde_round_trips_the_plaintext() {
        let secret: SecretString = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(secret.expose(), "abc");
        assert_eq!(serde_json::to_string(&secret).unwrap(), "\"abc\"");
    }
}
