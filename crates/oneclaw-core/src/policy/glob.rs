//! Path globs: `*` is exactly one segment, `**` is any number of segments (zero included), any
//! other segment matches itself exactly (case-sensitive). Globs match parsed `SecretPath`s only,
//! so percent-encoding, `..`, `.` and doubled slashes never reach the matcher: they were decoded
//! once and refused at the edge.

use crate::path::{MAX_PATH_BYTES, SecretPath};
use crate::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    One,
    Any,
}

/// A validated path glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathGlob {
    text: String,
    segments: Vec<Segment>,
}

impl PathGlob {
    /// Parses a glob; wildcards must be whole segments.
    pub fn parse(text: &str) -> Result<Self> {
        let invalid = |why: &str| Error::invalid_field("secret_path_pattern", why.to_owned());
        if text.is_empty() || text.len() > MAX_PATH_BYTES {
            return Err(invalid("must be 1 to 512 characters"));
        }
        if text.starts_with('/') || text.ends_with('/') {
            return Err(invalid("must not start or end with '/'"));
        }
        let mut segments = Vec::new();
        for segment in text.split('/') {
            segments.push(match segment {
                "*" => Segment::One,
                "**" => Segment::Any,
                literal if literal.contains('*') => {
                    return Err(invalid("'*' and '**' must be whole segments, like api-keys/* or prod/**"));
                }
                literal => {
                    SecretPath::parse(literal).map_err(|err| invalid(&err.to_string()))?;
                    Segment::Literal(literal.to_owned())
                }
            });
        }
        Ok(Self { text: text.to_owned(), segments })
    }

    /// The glob as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The literal segments the glob begins with, up to its first wildcard: every path it
    /// matches begins with them (the policy index files the glob under them).
    pub fn literal_prefix(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().map_while(|segment| match segment {
            Segment::Literal(literal) => Some(literal.as_str()),
            Segment::One | Segment::Any => None,
        })
    }

    /// True when the glob matches the whole path.
    pub fn matches(&self, path: &SecretPath) -> bool {
        let parts: Vec<&str> = path.as_str().split('/').collect();
        // reachable[j]: the glob segments seen so far can consume exactly parts[..j].
        let mut reachable = vec![false; parts.len() + 1];
        reachable[0] = true;
        for segment in &self.segments {
            let mut next = vec![false; parts.len() + 1];
            for j in 0..=parts.len() {
                if !reachable[j] {
                    continue;
                }
                match segment {
                    Segment::Any => next[j..].iter_mut().for_each(|slot| *slot = true),
                    Segment::One if j < parts.len() => next[j + 1] = true,
                    Segment::Literal(literal) if j < parts.len() && parts[j] == literal => next[j + 1] = true,
                    _ => {}
                }
            }
            reachable = next;
        }
        reachable[parts.len()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn matches(glob: &str, path: &str) -> bool {
        PathGlob::parse(glob).unwrap().matches(&SecretPath::parse(path).unwrap())
    }

    #[test]
    fn documented_examples() {
        assert!(matches("**", "a"));
        assert!(matches("**", "a/b/c"));
        assert!(matches("api-keys/*", "api-keys/stripe"));
        assert!(!matches("api-keys/*", "api-keys/stripe/live"));
        assert!(!matches("api-keys/*", "api-keys"));
        assert!(matches("api-keys/**", "api-keys/stripe/live"));
        assert!(matches("api-keys/**", "api-keys"), "** matches zero segments");
        assert!(matches("prod/db", "prod/db"));
        assert!(!matches("prod/db", "prod/db2"));
        assert!(!matches("prod/db", "PROD/db"), "matching is case-sensitive");
        assert!(matches("*/db/**", "prod/db/a/b"));
        assert!(!matches("*/db/**", "db"));
    }

    #[test]
    fn partial_wildcards_and_bad_segments_are_refused() {
        for bad in ["", "/a", "a/", "api-*", "a**", "a//b", "../a", "a/./b", "a b", "%2F"] {
            assert!(PathGlob::parse(bad).is_err(), "{bad:?}");
        }
    }

    /// The obvious recursive matcher, to check the dynamic-programming one against.
    fn reference(glob: &[&str], path: &[&str]) -> bool {
        match (glob.first(), path.first()) {
            (None, None) => true,
            (None, Some(_)) => false,
            (Some(&"**"), _) => reference(&glob[1..], path) || (!path.is_empty() && reference(glob, &path[1..])),
            (Some(_), None) => false,
            (Some(&"*"), Some(_)) => reference(&glob[1..], &path[1..]),
            (Some(literal), Some(segment)) => literal == segment && reference(&glob[1..], &path[1..]),
        }
    }

    fn segment() -> impl Strategy<Value = String> {
        prop::sample::select(vec!["a", "b", "A", "db", "prod", "x.y"]).prop_map(str::to_owned)
    }

    fn glob_segment() -> impl Strategy<Value = String> {
        prop_oneof![segment(), Just("*".to_owned()), Just("**".to_owned())]
    }

    proptest! {
        #[test]
        fn agrees_with_the_reference_matcher(
            glob in prop::collection::vec(glob_segment(), 1..6),
            path in prop::collection::vec(segment(), 1..7),
        ) {
            let glob_text = glob.join("/");
            let path_text = path.join("/");
            let glob_refs: Vec<&str> = glob.iter().map(String::as_str).collect();
            let path_refs: Vec<&str> = path.iter().map(String::as_str).collect();
            prop_assert_eq!(matches(&glob_text, &path_text), reference(&glob_refs, &path_refs));
        }

        #[test]
        fn literal_globs_match_only_themselves(
            glob in prop::collection::vec(segment(), 1..5),
            path in prop::collection::vec(segment(), 1..5),
        ) {
            prop_assert_eq!(matches(&glob.join("/"), &path.join("/")), glob == path);
        }
    }
}
