//! Property-based fuzzing of the parsers an attacker reaches first: secret paths and prefixes,
//! policy globs and conditions, API-key and token prefixes. Each property throws arbitrary
//! input at a parser and checks it never panics and never accepts what it must refuse. CI runs
//! a short seeded pass (`PROPTEST_RNG_SEED`); the long run is in docs/FUZZING.md.

use crate::path::{PathPrefix, SecretPath};
use crate::policy::{Conditions, PathGlob};
use crate::tokens::{Claims, lookup_prefix};
use proptest::prelude::*;

/// Path-like strings: segments from a small alphabet rich in the characters that matter.
fn path_like() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("..".to_owned()),
            Just(".".to_owned()),
            Just(String::new()),
            Just("%2e%2E".to_owned()),
            Just("%2F".to_owned()),
            Just("*".to_owned()),
            Just("**".to_owned()),
            "[a-zA-Z0-9_.%~\\-\\\\\u{0}\u{202e}é]{0,8}",
        ],
        0..8,
    )
    .prop_map(|segments| segments.join("/"))
}

/// Arbitrary JSON, a few levels deep.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        any::<f64>().prop_map(|n| serde_json::json!(n)),
        "[ -~]{0,24}".prop_map(serde_json::Value::String),
        prop_oneof![Just("10.0.0.0/8"), Just("::1"), Just("09:00"), Just("Europe/Paris"), Just("monday")]
            .prop_map(|s| serde_json::Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("ip_allowlist".to_owned()),
                    Just("time_window".to_owned()),
                    Just("after".to_owned()),
                    Just("before".to_owned()),
                    Just("timezone".to_owned()),
                    Just("days_of_week".to_owned()),
                    "[a-z_]{1,12}",
                ],
                inner,
                0..4
            )
            .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn fuzz_secret_paths_never_panic_and_never_keep_dot_segments(raw in path_like()) {
        if let Ok(path) = SecretPath::parse(&raw) {
            let text = path.as_str();
            prop_assert!(!text.is_empty());
            prop_assert!(text.split('/').all(|s| !s.is_empty() && s != "." && s != ".."), "{text:?}");
            prop_assert_eq!(SecretPath::parse(text).map(|p| p.as_str().to_owned()).ok(), Some(text.to_owned()));
        }
        let _ = PathPrefix::parse(&raw);
    }

    #[test]
    fn fuzz_policy_globs_never_panic_and_match_only_valid_paths(pattern in path_like(), raw in path_like()) {
        if let (Ok(glob), Ok(path)) = (PathGlob::parse(&pattern), SecretPath::parse(&raw)) {
            let _ = glob.matches(&path);
            if !pattern.contains('*') {
                prop_assert_eq!(glob.matches(&path), pattern == path.as_str());
            }
        }
    }

    #[test]
    fn fuzz_policy_conditions_never_panic(value in json_value()) {
        let _ = Conditions::parse(Some(&value));
    }

    #[test]
    fn fuzz_credential_prefixes_and_claims_never_panic(key in "\\PC{0,64}", sub in "\\PC{0,48}") {
        if let Some(prefix) = lookup_prefix(&key) {
            prop_assert!(key.starts_with(prefix));
        }
        let claims = Claims {
            sub, org: uuid::Uuid::nil(), iat: 0, exp: 0, jti: uuid::Uuid::nil(), sid: None,
            scopes: vec![], vault_ids: vec![], generation: None, akid: None,
        };
        let _ = claims.subject();
    }
}
