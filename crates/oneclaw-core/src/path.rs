//! Secret paths: parsed once at the edge, so no invalid path exists past it.
//!
//! A path is one or more segments joined by `/`. A segment holds ASCII letters, digits, `-`, `_`
//! and `.`, and is never `.` or `..`. No leading, trailing or doubled slash. Paths are
//! case-sensitive. The URL tail is percent-decoded exactly once (so `%2F` is a separator and
//! `%252F` stays an invalid `%`), which is what lets every client encoding reach the same secret.

use crate::{Error, Result};
use percent_encoding::percent_decode_str;

/// The longest path accepted, in bytes.
pub const MAX_PATH_BYTES: usize = 512;
/// The deepest path accepted, in segments.
pub const MAX_PATH_SEGMENTS: usize = 32;
/// The first segment of paths the server keeps for itself (environment variables' values).
/// `@` is refused in every path the API accepts, and always was, so no secret call can name,
/// read or list these, and no secret stored before them can collide.
pub const RESERVED_SEGMENT: &str = "@oneclaw";

/// A valid secret path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretPath(String);

impl SecretPath {
    /// Validates a decoded path.
    pub fn parse(path: &str) -> Result<Self> {
        if path.is_empty() {
            return Err(Error::invalid("secret path is empty"));
        }
        if path.len() > MAX_PATH_BYTES {
            return Err(Error::invalid(format!("secret path is longer than {MAX_PATH_BYTES} bytes")));
        }
        if path.starts_with('/') || path.ends_with('/') {
            return Err(Error::invalid("secret path must not start or end with '/'"));
        }
        let mut segments = 0;
        for segment in path.split('/') {
            segments += 1;
            check_segment(segment)?;
        }
        if segments > MAX_PATH_SEGMENTS {
            return Err(Error::invalid(format!("secret path has more than {MAX_PATH_SEGMENTS} segments")));
        }
        Ok(Self(path.to_owned()))
    }

    /// A path under the reserved segment, for the server's own values. `tail` is made of
    /// valid segments by the caller (an id).
    pub(crate) fn reserved(tail: &str) -> Self {
        Self(format!("{RESERVED_SEGMENT}/{tail}"))
    }

    /// Percent-decodes a URL path tail once, then validates it.
    pub fn from_url_tail(raw: &str) -> Result<Self> {
        Self::parse(&decode_once(raw)?)
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SecretPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A list filter: empty, or a path prefix that may end with `/`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathPrefix(String);

impl PathPrefix {
    /// Validates a prefix: the same characters as a path; a trailing `/` is allowed.
    pub fn parse(prefix: &str) -> Result<Self> {
        if prefix.is_empty() {
            return Ok(Self::default());
        }
        let trimmed = prefix.strip_suffix('/').unwrap_or(prefix);
        if trimmed.is_empty() {
            return Err(Error::invalid_field("prefix", "must not be only '/'"));
        }
        // A prefix may end inside a segment (`api-k`), so only the complete segments must be
        // whole names; the characters of the last one are still checked.
        SecretPath::parse(trimmed).map_err(|err| Error::invalid_field("prefix", err.to_string()))?;
        Ok(Self(prefix.to_owned()))
    }

    /// The prefix as text (empty for "everything").
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn check_segment(segment: &str) -> Result<()> {
    if segment.is_empty() {
        return Err(Error::invalid("secret path has an empty segment ('//')"));
    }
    if segment == "." || segment == ".." {
        return Err(Error::invalid("secret path must not contain '.' or '..' segments"));
    }
    if let Some(bad) = segment.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))) {
        return Err(Error::invalid(format!(
            "secret path contains {bad:?}; allowed are letters, digits, '-', '_', '.' and '/'"
        )));
    }
    Ok(())
}

fn decode_once(raw: &str) -> Result<String> {
    percent_decode_str(raw)
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| Error::invalid("secret path is not valid UTF-8 after percent-decoding"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_paths() {
        for ok in ["a", "api-keys/stripe", "db/prod/PASSWORD_1", "v1.2/cert.pem", "a/b/c/d"] {
            assert_eq!(SecretPath::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn rejects_traversal_empty_segments_and_odd_characters() {
        for bad in
            ["", "/a", "a/", "a//b", "..", "a/../b", "./a", "a/.", "a b", "a%2Fb", "a\\b", "a\0b", "é", "a/*", "a?b"]
        {
            assert!(SecretPath::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn the_reserved_segment_is_refused() {
        let reserved = SecretPath::reserved("env/x");
        assert!(SecretPath::parse(reserved.as_str()).is_err());
        assert!(SecretPath::from_url_tail("%40oneclaw/env/x").is_err());
        assert!(PathPrefix::parse("@oneclaw/").is_err());
    }

    #[test]
    fn decodes_encoded_slashes_exactly_once() {
        assert_eq!(SecretPath::from_url_tail("db%2Fcreds").unwrap().as_str(), "db/creds");
        assert_eq!(SecretPath::from_url_tail("db%2fcreds").unwrap().as_str(), "db/creds");
        // Double encoding leaves a literal '%', which is not a path character.
        assert!(SecretPath::from_url_tail("db%252Fcreds").is_err());
        assert!(SecretPath::from_url_tail("a/%2E%2E/b").is_err());
        assert!(SecretPath::from_url_tail("a%2F%2Fb").is_err());
    }

    #[test]
    fn limits_length_and_depth() {
        assert!(SecretPath::parse(&"a".repeat(MAX_PATH_BYTES)).is_ok());
        assert!(SecretPath::parse(&"a".repeat(MAX_PATH_BYTES + 1)).is_err());
        let deep = vec!["a"; MAX_PATH_SEGMENTS + 1].join("/");
        assert!(SecretPath::parse(&deep).is_err());
    }

    #[test]
    fn prefixes_may_end_with_a_slash() {
        assert_eq!(PathPrefix::parse("api-keys/").unwrap().as_str(), "api-keys/");
        assert_eq!(PathPrefix::parse("").unwrap().as_str(), "");
        assert!(PathPrefix::parse("/").is_err());
        assert!(PathPrefix::parse("../").is_err());
    }
}
