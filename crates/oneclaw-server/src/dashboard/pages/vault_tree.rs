//! A vault's secrets as a path tree, one level at a time: the folders directly under the
//! current folder (with how many secrets each holds) and the secrets at that level, and the
//! breadcrumbs back up. A page then stays small however many secrets the vault holds.

use maud::{Markup, html};
use oneclaw_core::model::SecretVersion;
use oneclaw_core::path::PathPrefix;
use std::collections::BTreeMap;
use uuid::Uuid;

/// What one level of the tree shows.
pub struct Level<'a> {
    /// Folder names under the current folder, with the number of secrets beneath each.
    pub folders: Vec<(&'a str, usize)>,
    /// Secrets directly in the current folder, by name.
    pub secrets: Vec<&'a SecretVersion>,
}

/// Splits `secrets` (all under `folder`, which is empty or ends with `/`) into one level.
pub fn level<'a>(folder: &str, secrets: &'a [SecretVersion]) -> Level<'a> {
    let mut folders: BTreeMap<&'a str, usize> = BTreeMap::new();
    let mut here = Vec::new();
    for secret in secrets {
        let Some(rest) = secret.path.strip_prefix(folder) else { continue };
        match rest.split_once('/') {
            Some((name, _)) => *folders.entry(name).or_default() += 1,
            None => here.push(secret),
        }
    }
    here.sort_by(|a, b| a.path.cmp(&b.path));
    Level { folders: folders.into_iter().collect(), secrets: here }
}

/// The folder a `?folder=` asks for, if it is one: empty (the root) or a valid prefix ending
/// with `/`. Anything else is not a folder and the page says so.
pub fn parse_folder(raw: Option<&str>) -> Option<String> {
    let raw = raw.unwrap_or_default().trim();
    if raw.is_empty() {
        return Some(String::new());
    }
    (raw.ends_with('/') && PathPrefix::parse(raw).is_ok()).then(|| raw.to_owned())
}

/// The folder holding `path` (`db/prod/password` → `db/prod/`; `token` → the root).
pub fn folder_of(path: &str) -> &str {
    path.rfind('/').map_or("", |at| &path[..=at])
}

/// The vault page showing `folder`.
pub fn folder_url(vault: Uuid, folder: &str) -> String {
    if folder.is_empty() { format!("/vaults/{vault}") } else { format!("/vaults/{vault}?folder={folder}") }
}

/// The vault's name and each folder on the way down to `folder`, each a link but the last.
pub fn breadcrumbs(vault: Uuid, vault_name: &str, folder: &str) -> Markup {
    let mut walked = String::new();
    let crumbs: Vec<(&str, String)> = folder
        .split('/')
        .filter(|segment| !segment.is_empty())
        .map(|segment| {
            walked.push_str(segment);
            walked.push('/');
            (segment, folder_url(vault, &walked))
        })
        .collect();
    html! {
        nav.breadcrumbs aria-label="Folder" {
            @if crumbs.is_empty() { b { (vault_name) } }
            @else { a href=(folder_url(vault, "")) { (vault_name) } }
            @for (at, (segment, url)) in crumbs.iter().enumerate() {
                " / "
                @if at + 1 == crumbs.len() { b aria-current="page" { (segment) } }
                @else { a href=(url) { (segment) } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use oneclaw_core::ids::{SecretId, VaultId};
    use oneclaw_core::principal::{PrincipalKind, PrincipalRef};
    use time::OffsetDateTime;

    fn secret(path: &str) -> SecretVersion {
        SecretVersion {
            secret_id: SecretId(Uuid::nil()),
            vault_id: VaultId(Uuid::nil()),
            path: path.to_owned(),
            version: 1,
            secret_type: "generic".to_owned(),
            metadata: serde_json::Value::Null,
            rotation_policy: None,
            expires_at: None,
            max_access_count: None,
            access_count: 0,
            is_disabled: false,
            deleted_at: None,
            created_by: PrincipalRef { kind: PrincipalKind::User, id: Uuid::nil() },
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_level_holds_its_folders_with_counts_and_its_own_secrets() {
        let all: Vec<_> = ["token", "db/password", "db/prod/password", "db/prod/user", "api/stripe"].map(secret).into();
        let root = level("", &all);
        assert_eq!(root.folders, vec![("api", 1), ("db", 3)]);
        assert_eq!(root.secrets.iter().map(|s| s.path.as_str()).collect::<Vec<_>>(), ["token"]);
        let under_db: Vec<_> = all.iter().filter(|s| s.path.starts_with("db/")).cloned().collect();
        let db = level("db/", &under_db);
        assert_eq!(db.folders, vec![("prod", 2)]);
        assert_eq!(db.secrets.iter().map(|s| s.path.as_str()).collect::<Vec<_>>(), ["db/password"]);
    }

    #[test]
    fn only_real_folders_are_accepted() {
        assert_eq!(parse_folder(None).as_deref(), Some(""));
        assert_eq!(parse_folder(Some("db/prod/")).as_deref(), Some("db/prod/"));
        for bad in ["db", "../", "db//", "/", "a b/", "db/%2e%2e/"] {
            assert_eq!(parse_folder(Some(bad)), None, "{bad}");
        }
        assert_eq!(folder_of("db/prod/password"), "db/prod/");
        assert_eq!(folder_of("token"), "");
    }

    #[test]
    fn breadcrumbs_link_every_folder_but_the_current_one() {
        let vault = Uuid::nil();
        let html = breadcrumbs(vault, "main", "db/prod/").into_string();
        assert!(html.contains(&format!("href=\"/vaults/{vault}\">main</a>")), "{html}");
        assert!(html.contains(&format!("href=\"/vaults/{vault}?folder=db/\">db</a>")), "{html}");
        assert!(html.contains("<b aria-current=\"page\">prod</b>") && !html.contains("folder=db/prod/"), "{html}");
    }
}
