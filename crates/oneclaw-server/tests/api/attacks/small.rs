//! Item 13: the smaller holes.

use oneclaw_testkit::spawn_app;
use serde_json::json;

#[tokio::test]
async fn a_nul_byte_in_an_email_or_a_description_is_a_400_that_changes_nothing() {
    let app = spawn_app().await;
    let signup =
        app.post("/v1/auth/signup", None, json!({"email": "nul\u{0}@example.com", "password": "long enough"})).await;
    assert_eq!(signup.status, 400, "{}", signup.text);
    let owner = app.signup("nul-owner@example.com").await;
    let vault = app.post("/v1/vaults", Some(&owner.token), json!({"name": "v", "description": "a\u{0}b"})).await;
    assert_eq!(vault.status, 400, "{}", vault.text);
    let agent = app.post("/v1/agents", Some(&owner.token), json!({"name": "bot", "description": "a\u{0}b"})).await;
    assert_eq!(agent.status, 400, "{}", agent.text);
    let invite = app.post("/v1/org/invites", Some(&owner.token), json!({"email": "x\u{0}@example.com"})).await;
    assert_eq!(invite.status, 400, "{}", invite.text);
    assert_eq!(app.get("/v1/vaults", &owner.token).await.body["vaults"], json!([]));
    assert_eq!(app.get("/v1/agents", &owner.token).await.body["agents"], json!([]));
    // Found by the red team after the first fix: the same byte in other fields.
    let key = app.post("/v1/auth/api-keys", Some(&owner.token), json!({"name": "k\u{0}"})).await;
    assert_eq!(key.status, 400, "{}", key.text);
    let rule = app
        .post(
            "/v1/security/ip-rules",
            Some(&owner.token),
            json!({"rule_type": "deny", "cidr": "192.0.2.0/24", "label": "l\u{0}"}),
        )
        .await;
    assert_eq!(rule.status, 400, "{}", rule.text);
    let vault = app.create_vault(&owner.token, "v").await;
    for metadata in [json!({"k\u{0}": 1}), json!({"k": "v\u{0}"}), json!({"k": ["\u{0}"]})] {
        let put = app
            .put(&format!("/v1/vaults/{vault}/secrets/p"), &owner.token, json!({"value": "x", "metadata": metadata}))
            .await;
        assert_eq!(put.status, 400, "{}", put.text);
    }
    assert_eq!(app.get("/v1/audit/events?action=a%00b", &owner.token).await.status, 400);
    assert_eq!(app.get("/v1/auth/api-keys", &owner.token).await.body["keys"], json!([]));
    assert_eq!(app.get(&format!("/v1/vaults/{vault}/secrets"), &owner.token).await.body["secrets"], json!([]));
}

#[tokio::test]
async fn a_deny_only_policy_does_not_reveal_the_vault() {
    let app = spawn_app().await;
    let owner = app.signup("deny-only@example.com").await;
    let vault = app.create_vault(&owner.token, "hidden").await;
    let agent = app.register_agent(&owner.token, "bot", json!({})).await;
    let denied =
        app.grant(&owner.token, &vault, ("agent", &agent.id), "**", &["read"], json!({"effect": "deny"})).await;
    assert_eq!(denied.status, 201, "{}", denied.text);
    let token = app.agent_token(&agent).await;
    let listed = app.get("/v1/vaults", &token).await;
    assert!(!listed.text.contains(&vault), "{}", listed.text);
    assert_eq!(app.get(&format!("/v1/vaults/{vault}"), &token).await.status, 404);
}

#[tokio::test]
async fn another_site_cannot_sign_a_visitor_in_or_up_login_csrf() {
    let app = spawn_app().await;
    let attacker = app.signup("login-csrf@example.com").await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for (path, origin, fetch_site) in [
        ("/signin", Some("https://evil.example"), None),
        ("/signin", None, Some("cross-site")),
        ("/signup", Some("https://evil.example"), None),
    ] {
        let mut request = client
            .post(format!("{}{path}", app.base_url))
            .form(&[("email", attacker.email.as_str()), ("password", attacker.password.as_str())]);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        if let Some(site) = fetch_site {
            request = request.header("sec-fetch-site", site);
        }
        let answer = request.send().await.unwrap();
        assert!(answer.headers().get_all("set-cookie").iter().next().is_none(), "{path}: a session was set");
        assert_eq!(answer.status().as_u16(), 200, "{path}: the form again, with the reason");
    }
    let same_site = client
        .post(format!("{}/signin", app.base_url))
        .header("origin", app.base_url.clone())
        .header("sec-fetch-site", "same-origin")
        .form(&[("email", attacker.email.as_str()), ("password", attacker.password.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(same_site.status().as_u16(), 303, "the server's own form still signs in");
}
