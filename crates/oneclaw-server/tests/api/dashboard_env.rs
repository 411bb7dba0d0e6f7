//! The vault page's Environment tab (issue 16) as a browser without JavaScript (and with htmx's
//! header where the page uses it): add a variable, no value in the page until revealed (an
//! audited dashboard read), a new value, the environment as `.env` text behind a reveal, and
//! taking a variable out of an environment.

use crate::dashboard::{Browser, csrf_of};
use oneclaw_testkit::spawn_app;
use serde_json::json;

#[tokio::test]
async fn the_environment_tab_adds_reveals_edits_exports_and_deletes_variables() {
    let app = spawn_app().await;
    let owner = app.signup("dash-env@example.com").await;
    let vault = app.create_vault(&owner.token, "web").await;
    let shared = app.post("/v1/org/env-vars", Some(&owner.token), json!({"key": "REGION", "value": "eu-west-1"})).await;
    let linked = format!("/v1/org/env-vars/{}/link", shared.body["id"].as_str().unwrap());
    assert_eq!(app.post(&linked, Some(&owner.token), json!({"vault_id": vault})).await.status, 201);
    let mut browser = Browser::new(&app);
    browser.sign_in(&owner.email, &owner.password).await;
    let tab = format!("/vaults/{vault}/env");

    let secrets_page = browser.get(&format!("/vaults/{vault}")).await;
    assert!(secrets_page.html.contains(&format!("href=\"{tab}\"")), "the vault page links its Environment tab");
    let empty = browser.get(&tab).await;
    assert_eq!(empty.status, 200);
    assert!(empty.html.contains("No variables in this environment yet."), "{}", empty.html);
    for slug in ["production", "preview", "development"] {
        assert!(empty.html.contains(&format!("href=\"{tab}?environment={slug}\"")), "{slug}");
    }
    let csrf = csrf_of(&empty.html);

    let added = browser
        .post(
            &tab,
            &[
                ("csrf", &csrf),
                ("key", "DATABASE_URL"),
                ("value", "postgres://dash-1"),
                ("environment", "production"),
                ("comment", "main"),
            ],
            false,
        )
        .await;
    assert_eq!(
        (added.status, added.location.as_deref()),
        (303, Some(format!("{tab}?environment=production").as_str())),
        "{}",
        added.html
    );
    let bad = browser
        .post(&tab, &[("csrf", &csrf), ("key", "1BAD"), ("value", "x"), ("environment", "production")], false)
        .await;
    assert!(bad.html.contains("role=\"alert\"") && bad.html.contains("[A-Za-z_]"), "the error is shown: {}", bad.html);
    let listed = browser.get(&format!("{tab}?environment=production")).await;
    assert!(
        listed.html.contains("<b>DATABASE_URL</b>") && listed.html.contains("Reveal the value of DATABASE_URL"),
        "{}",
        listed.html
    );
    assert!(!listed.html.contains("postgres://dash-1"), "no value in the page until asked for");
    assert!(
        browser.get(&format!("{tab}?environment=preview")).await.html.contains("No variables in this environment yet.")
    );

    let shown = browser
        .post(
            &format!("{tab}/reveal"),
            &[("csrf", &csrf), ("environment", "production"), ("key", "DATABASE_URL")],
            true,
        )
        .await;
    assert!(shown.html.contains("postgres://dash-1") && shown.html.contains("load delay:30s"), "{}", shown.html);
    let events = app.audit_events(&owner).await;
    assert!(events.iter().any(|e| e.action == "env_var.read" && e.surface == "dashboard"), "the reveal is audited");

    let edited = browser
        .post(
            &format!("{tab}/update"),
            &[("csrf", &csrf), ("environment", "production"), ("key", "DATABASE_URL"), ("value", "postgres://dash-2")],
            false,
        )
        .await;
    assert_eq!(edited.status, 303, "{}", edited.html);
    let read = app.get(&format!("/v1/vaults/{vault}/env-vars/DATABASE_URL"), &owner.token).await;
    assert_eq!((read.body["value"].as_str(), read.body["version"].as_i64()), (Some("postgres://dash-2"), Some(2)));

    let exported =
        browser.post(&format!("{tab}/dotenv"), &[("csrf", &csrf), ("environment", "production")], false).await;
    assert!(
        exported.html.contains("DATABASE_URL=&#39;postgres://dash-2&#39;")
            || exported.html.contains("DATABASE_URL='postgres://dash-2'"),
        "{}",
        exported.html
    );
    assert!(
        exported.html.contains("REGION=") && exported.html.contains("data-copy=\"dotenv-text\""),
        "shared variables included"
    );
    let events = app.audit_events(&owner).await;
    assert!(events.iter().any(|e| e.action == "env_var.resolve" && e.surface == "dashboard"));

    let deleted = browser
        .post(
            &format!("{tab}/delete"),
            &[("csrf", &csrf), ("environment", "production"), ("key", "DATABASE_URL")],
            false,
        )
        .await;
    assert_eq!(
        deleted.location.as_deref(),
        Some(format!("{tab}?environment=production&done=env-var-deleted").as_str())
    );
    assert_eq!(app.get(&format!("/v1/vaults/{vault}/env-vars/DATABASE_URL"), &owner.token).await.status, 404);
}

#[tokio::test]
async fn another_orgs_session_sees_no_environment_tab_of_this_vault() {
    let app = spawn_app().await;
    let owner = app.signup("dash-env-owner@example.com").await;
    let vault = app.create_vault(&owner.token, "private").await;
    app.post(&format!("/v1/vaults/{vault}/env-vars"), Some(&owner.token), json!({"key": "K", "value": "v-private"}))
        .await;
    let mallory = app.signup("dash-env-mallory@example.com").await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&mallory.email, &mallory.password).await;
    let page = browser.get(&format!("/vaults/{vault}/env")).await;
    assert_eq!(page.status, 404, "{}", page.html);
    let csrf = csrf_of(&browser.get("/vaults").await.html);
    let tab = format!("/vaults/{vault}/env");
    let revealed = browser
        .post(&format!("{tab}/reveal"), &[("csrf", &csrf), ("environment", "production"), ("key", "K")], true)
        .await;
    assert!(!revealed.html.contains("v-private"), "{}", revealed.html);
    let exported =
        browser.post(&format!("{tab}/dotenv"), &[("csrf", &csrf), ("environment", "production")], false).await;
    assert!(!exported.html.contains("v-private"), "{}", exported.html);
}
