//! Environment variables: keys, environments and branch overrides, validated once at the edge,
//! and the path an access policy sees a variable at.
//!
//! A variable applies to one or more environments of its vault (the built-in `production`,
//! `preview`, `development`, or a custom one), optionally only on one git branch (an override,
//! preview only). Policies know secrets by path, so a variable is checked as the virtual path
//! `env/<environment>/<KEY>`: `env/production/*` grants reading every production variable.

use crate::ids::{EnvVarId, EnvironmentId, OrgId, SecretId, VaultId};
use crate::path::SecretPath;
use crate::principal::PrincipalRef;
use crate::{Error, Result};
use time::OffsetDateTime;

/// The environments every vault has.
pub const BUILTIN_ENVIRONMENTS: [&str; 3] = ["production", "preview", "development"];
/// The environment a branch override belongs to.
pub const BRANCH_ENVIRONMENT: &str = "preview";
/// The longest key accepted, in characters.
pub const MAX_KEY_CHARS: usize = 256;
/// The longest git branch accepted, in bytes.
pub const MAX_BRANCH_BYTES: usize = 255;
/// The longest comment accepted, in characters.
pub const MAX_COMMENT_CHARS: usize = 1024;
/// The most custom environments a vault may have.
pub const MAX_CUSTOM_ENVIRONMENTS: usize = 50;

/// A variable's name: `[A-Za-z_][A-Za-z0-9_]*`, 1 to 256 characters.
pub fn checked_key(key: &str) -> Result<String> {
    let mut chars = key.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok || key.len() > MAX_KEY_CHARS || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(Error::invalid_field(
            "key",
            format!("must match [A-Za-z_][A-Za-z0-9_]* and be at most {MAX_KEY_CHARS} characters"),
        ));
    }
    // `…/env-vars/resolve` is the resolve route, so a variable by that name could never be
    // read, changed or deleted by key.
    if key == "resolve" {
        return Err(Error::invalid_field("key", "'resolve' is reserved"));
    }
    Ok(key.to_owned())
}

/// An environment's slug: a built-in name, or lowercase letters, digits and hyphens, 2 to 30
/// characters, starting with a letter.
pub fn checked_slug(slug: &str) -> Result<String> {
    let ok = (2..=30).contains(&slug.len())
        && slug.starts_with(|c: char| c.is_ascii_lowercase())
        && !slug.ends_with('-')
        && slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok {
        return Err(Error::invalid_field(
            "slug",
            "must be 2 to 30 lowercase letters, digits and hyphens, starting with a letter",
        ));
    }
    Ok(slug.to_owned())
}

/// A git branch name as git accepts it (no spaces, control characters, `..`, `~^:?*[\`), at
/// most 255 bytes.
pub fn checked_branch(branch: &str) -> Result<String> {
    let bad = branch.is_empty()
        || branch.len() > MAX_BRANCH_BYTES
        || branch.starts_with(['/', '-', '.'])
        || branch.ends_with(['/', '.'])
        || branch.contains("..")
        || branch.contains("//")
        || branch.contains("@{")
        || branch.chars().any(|c| c.is_control() || c.is_whitespace() || "~^:?*[\\".contains(c));
    if bad {
        return Err(Error::invalid_field("git_branch", "is not a valid git branch name"));
    }
    Ok(branch.to_owned())
}

/// A comment: printable, at most 1024 characters; blank means none.
pub fn checked_comment(comment: Option<String>) -> Result<Option<String>> {
    match comment {
        None => Ok(None),
        Some(text) if text.trim().is_empty() => Ok(None),
        Some(text) if text.chars().count() > MAX_COMMENT_CHARS || text.chars().any(|c| c.is_control() && c != '\n') => {
            Err(Error::invalid_field("comment", format!("must be at most {MAX_COMMENT_CHARS} printable characters")))
        }
        Some(text) => Ok(Some(text)),
    }
}

/// Environments named in a request: each a valid slug, no repeats, at least one; sorted so a
/// variable's list reads the same however it was given.
pub fn checked_environments(environments: Vec<String>) -> Result<Vec<String>> {
    if environments.is_empty() {
        return Err(Error::invalid_field("environments", "must name at least one environment"));
    }
    let mut checked = Vec::with_capacity(environments.len());
    for slug in environments {
        let slug = checked_slug(&slug)
            .map_err(|_| Error::invalid_field("environments", format!("{slug:?} is not an environment slug")))?;
        if !checked.contains(&slug) {
            checked.push(slug);
        }
    }
    order_environments(&mut checked);
    Ok(checked)
}

/// Built-ins first in their usual order, then custom environments by name.
pub fn order_environments(environments: &mut [String]) {
    environments.sort_by_key(|slug| environment_order(slug));
}

fn environment_order(slug: &str) -> (usize, String) {
    let builtin = BUILTIN_ENVIRONMENTS.iter().position(|b| *b == slug).unwrap_or(BUILTIN_ENVIRONMENTS.len());
    (builtin, slug.to_owned())
}

/// The path a policy sees a variable at in one environment.
pub fn policy_path(environment: &str, key: &str) -> Result<SecretPath> {
    SecretPath::parse(&format!("env/{environment}/{key}"))
}

/// The reserved secret path holding a vault variable's value.
pub fn value_path(id: EnvVarId) -> SecretPath {
    SecretPath::reserved(&format!("env/{id}"))
}

/// `KEY=value` lines a dotenv reader (docker compose, python-dotenv, Node's dotenv) reads back
/// as the same values: single-quoted (taken literally, no `$` expansion) when the value allows,
/// else double-quoted with backslashes, `"`, `$` and newlines escaped (a carriage return stays
/// as it is: dotenv parsers know no escape for it).
pub fn dotenv<'v>(vars: impl IntoIterator<Item = (&'v str, &'v str)>) -> String {
    let mut out = String::new();
    for (key, value) in vars {
        out.push_str(key);
        out.push('=');
        if !value.contains(['\'', '\n', '\r', '\\']) {
            out.push('\'');
            out.push_str(value);
            out.push('\'');
        } else {
            out.push('"');
            for c in value.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '"' => out.push_str("\\\""),
                    '$' => out.push_str("\\$"),
                    '\n' => out.push_str("\\n"),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        out.push('\n');
    }
    out
}

/// Which variables: a vault's own, or the org's shared ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvScope {
    Vault(VaultId),
    Org(OrgId),
}

/// A variable as stored: never its value.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvVar {
    pub id: EnvVarId,
    pub org_id: OrgId,
    /// `None` for an org-shared variable.
    pub vault_id: Option<VaultId>,
    pub key: String,
    pub environments: Vec<String>,
    /// Set on a branch override (preview only).
    pub git_branch: Option<String>,
    pub sensitive: bool,
    pub comment: Option<String>,
    /// The value's current version.
    pub version: i64,
    /// The secret holding a vault variable's value.
    pub secret_id: Option<SecretId>,
    pub created_by: PrincipalRef,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// The vaults an org-shared variable is linked into.
    pub linked_vaults: Vec<VaultId>,
}

impl EnvVar {
    /// The scope whose (key, environment, branch) must be unique.
    pub fn scope(&self) -> EnvScope {
        match self.vault_id {
            Some(vault) => EnvScope::Vault(vault),
            None => EnvScope::Org(self.org_id),
        }
    }

    pub fn applies_to(&self, environment: &str) -> bool {
        self.environments.iter().any(|e| e == environment)
    }
}

/// A custom environment of a vault (built-ins are not stored).
#[derive(Debug, Clone, PartialEq)]
pub struct VaultEnvironment {
    pub id: EnvironmentId,
    pub vault_id: VaultId,
    pub slug: String,
    pub description: Option<String>,
    pub copied_from: Option<String>,
    pub created_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_shell_rule() {
        for good in ["DATABASE_URL", "_X", "a1", "x"] {
            assert!(checked_key(good).is_ok(), "{good}");
        }
        for bad in ["", "1A", "A-B", "A B", "É", "A=B", "resolve", &"A".repeat(257)] {
            assert!(checked_key(bad).is_err(), "{bad}");
        }
        assert!(checked_key(&"A".repeat(256)).is_ok());
    }

    #[test]
    fn slugs_are_lowercase_words_with_hyphens() {
        for good in ["production", "qa", "staging-eu", "e2e"] {
            assert!(checked_slug(good).is_ok(), "{good}");
        }
        for bad in ["", "a", "Prod", "-qa", "qa-", "q_a", "2qa", &"a".repeat(31)] {
            assert!(checked_slug(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn branches_are_what_git_accepts() {
        for good in ["main", "feature/login", "fix-1.2", "user/x_y"] {
            assert!(checked_branch(good).is_ok(), "{good}");
        }
        for bad in ["", "a b", "a..b", "/a", "a/", "-a", "a:b", "a~1", "a\nb", "a//b", "x@{1}"] {
            assert!(checked_branch(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn environments_are_deduplicated_and_ordered() {
        let got = checked_environments(vec!["qa".into(), "development".into(), "production".into(), "qa".into()]);
        assert_eq!(got.ok(), Some(vec!["production".to_owned(), "development".to_owned(), "qa".to_owned()]));
        assert!(checked_environments(vec![]).is_err());
        assert!(checked_environments(vec!["Prod".into()]).is_err());
    }

    #[test]
    fn a_variable_is_seen_by_policies_under_env() {
        assert_eq!(
            policy_path("production", "DB_URL").map(|p| p.as_str().to_owned()).ok(),
            Some("env/production/DB_URL".into())
        );
    }

    #[test]
    fn dotenv_lines_read_back_as_the_same_values() {
        let text = dotenv([("A", "plain $HOME"), ("B", "it's $5"), ("C", "two\nlines \"q\" \\")]);
        assert_eq!(text, "A='plain $HOME'\nB=\"it's \\$5\"\nC=\"two\\nlines \\\"q\\\" \\\\\"\n");
    }

    #[test]
    fn values_live_under_the_reserved_prefix() {
        let id = EnvVarId::generate();
        assert!(value_path(id).as_str().starts_with("@oneclaw/"));
        assert!(SecretPath::parse(value_path(id).as_str()).is_err(), "the API can never name it");
    }
}
