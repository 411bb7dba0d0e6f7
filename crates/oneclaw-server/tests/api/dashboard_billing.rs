//! The dashboard on the org's one quota: every page counts on the same counter as the API, and
//! past the allowance a paid operation (reveal, add, share link, audit log) spends prepaid
//! credits or is refused in words, showing and changing nothing.

use super::dashboard::{Browser, csrf_of};
use oneclaw_core::principal::{RequestMeta, Surface};
use oneclaw_testkit::spawn_app_with;

#[tokio::test]
async fn past_the_allowance_the_dashboard_spends_credits_or_refuses_in_words() {
    let app = spawn_app_with(|config| {
        config.billing = true;
        config.free_tier_requests = 3;
    })
    .await;
    let owner = app.signup("dash-quota@example.com").await;
    let vault = app.create_vault(&owner.token, "v").await; // 1
    app.put_secret(&owner.token, &vault, "db/password", "quota-protected-value").await; // 2
    let me = app.get("/v1/auth/me", &owner.token).await; // 3: the last free request
    let user = oneclaw_core::ids::UserId(me.body["id"].as_str().unwrap().parse().unwrap());
    let org = app.core.deps().store.user(user).await.unwrap().unwrap().org_id;
    let used = || async { app.core.billing().usage(org).await.unwrap().used };
    assert_eq!(used().await, 3);

    let mut browser = Browser::new(&app);
    assert_eq!(browser.sign_in(&owner.email, &owner.password).await.status, 303);
    let vault_path = format!("/vaults/{vault}");
    let page = browser.get(&vault_path).await;
    assert_eq!(page.status, 200, "free pages are still served");
    assert_eq!(used().await, 4, "a dashboard page counts on the org's one counter");
    let csrf = csrf_of(&page.html);

    let refused =
        browser.post(&format!("{vault_path}/reveal"), &[("csrf", &csrf), ("path", "db/password")], true).await;
    assert!(
        refused.html.contains("allowance is used up") && refused.html.contains("role=\"alert\""),
        "{}",
        refused.html
    );
    assert!(!refused.html.contains("quota-protected-value"));
    let added = browser
        .post(
            &format!("{vault_path}/secrets"),
            &[("csrf", &csrf), ("path", "new/one"), ("value", "never-stored")],
            false,
        )
        .await;
    assert!(added.html.contains("allowance is used up"), "the refusal is shown next to the form");
    let link = browser.post(&format!("{vault_path}/share"), &[("csrf", &csrf), ("path", "db/password")], false).await;
    assert!(link.html.contains("allowance is used up") && !link.html.contains("/v1/share/"), "{}", link.html);
    let audit = browser.get("/audit").await;
    assert!(audit.html.contains("allowance is used up") && !audit.html.contains("secret.write"), "{}", audit.html);
    let events = app.audit_events(&owner).await;
    assert!(
        !events.iter().any(|e| e.surface == "dashboard" && (e.action == "secret.read" || e.action == "secret.write")),
        "nothing was read or written"
    );
    assert!(!events.iter().any(|e| e.action == "share.create"));

    app.core.billing().grant_credits(org, 10_000, "test grant", &RequestMeta::internal(Surface::Cli)).await.unwrap();
    let shown = browser.post(&format!("{vault_path}/reveal"), &[("csrf", &csrf), ("path", "db/password")], true).await;
    assert!(shown.html.contains("quota-protected-value"), "{}", shown.html);
    let audit = browser.get("/audit?verify=true").await;
    assert!(audit.html.contains("secret.read") && audit.html.contains("The chain is intact"), "{}", audit.html);
    let balance = app.get("/v1/billing/credits/balance", &owner.token).await;
    assert_eq!(balance.body["balance_usd"], "0.0085", "one read and one audit query, at the API's prices");
    let history = app.get("/v1/billing/history", &owner.token).await;
    let methods: Vec<&str> =
        history.body["events"].as_array().unwrap().iter().filter_map(|e| e["method"].as_str()).collect();
    // Recorded with the page's real HTTP method (no made-up ones): the reveal form and the log.
    let mut methods = methods;
    methods.sort_unstable();
    assert_eq!(methods, vec!["GET", "POST"], "{}", history.text);
}
