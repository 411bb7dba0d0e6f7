//! Issue 12's attacks, each performed exactly as the red team did, one file per class. Each
//! test fails on the code before the fix (see the CHANGELOG) and passes after it, on SQLite
//! and PostgreSQL. docs/THREAT_MODEL.md names them.

mod billing;
mod email_trust;
mod enumeration;
mod floods;
mod invites;
mod mfa;
mod proxies;
mod races;
mod removal;
mod revocation;
mod scopes;
mod share_links;
mod small;

use oneclaw_testkit::TestApp;

/// An RFC 3339 time `minutes` from the test clock's now.
pub fn in_minutes(app: &TestApp, minutes: i64) -> String {
    (app.clock.now_utc() + time::Duration::minutes(minutes))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// Stores a secret and returns its id.
pub async fn secret_id(app: &TestApp, token: &str, vault: &str, path: &str, value: &str) -> String {
    let stored = app.put_secret(token, vault, path, value).await;
    assert_eq!(stored.status, 201, "{}", stored.text);
    stored.body["id"].as_str().unwrap().to_owned()
}
