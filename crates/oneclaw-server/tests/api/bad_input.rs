//! Bad input of every kind gets a 4xx with a clear detail and changes nothing.

use oneclaw_testkit::{Account, TestApp, spawn_app, spawn_app_with};
use reqwest::Method;
use serde_json::json;

/// The state a bad request must not touch: the secret's versions and value, and the audit count.
async fn snapshot(app: &TestApp, account: &Account, vault: &str) -> (usize, String, usize) {
    let versions = app.get(&format!("/v1/vaults/{vault}/secret-versions/app/key"), &account.token).await;
    let store = &app.core.deps().store;
    let events = {
        let me = app.get("/v1/auth/me", &account.token).await;
        let user = store
            .user(oneclaw_core::ids::UserId(me.body["id"].as_str().unwrap().parse().unwrap()))
            .await
            .unwrap()
            .unwrap();
        let query = oneclaw_core::ports::AuditQuery {
            limit: 10_000,
            action: Some("secret.write".into()),
            ..Default::default()
        };
        store.audit_events(user.org_id, &query).await.unwrap().len()
    };
    let count = versions.body["versions"].as_array().map_or(0, Vec::len);
    let value = app.get(&format!("/v1/vaults/{vault}/secret-version/app/key/1"), &account.token).await.body["value"]
        .to_string();
    (count, value, events)
}

#[tokio::test]
async fn malformed_bodies_are_400_and_change_nothing() {
    let app = spawn_app().await;
    let account = app.signup("bad@example.com").await;
    let vault = app.create_vault(&account.token, "v").await;
    app.put_secret(&account.token, &vault, "app/key", "original").await;
    let before = snapshot(&app, &account, &vault).await;
    let url = format!("/v1/vaults/{vault}/secrets/app/key");
    for (body, expect) in [
        (b"{not json".to_vec(), "not valid JSON"),
        (b"[1,2]".to_vec(), "invalid"),
        (br#"{"value": 42}"#.to_vec(), "'value'"),
        (br#"{"value": "x", "metadata": "nope"}"#.to_vec(), "metadata"),
        (br#"{"value": "x", "metadata": [1]}"#.to_vec(), "metadata"),
        (br#"{"value": "x", "max_access_count": 0}"#.to_vec(), "max_access_count"),
        (br#"{"value": "x", "max_access_count": "many"}"#.to_vec(), "max_access_count"),
        (br#"{"value": "x", "expires_at": "2001-01-01T00:00:00Z"}"#.to_vec(), "expires_at"),
        (br#"{"value": "x", "expires_at": "tomorrow"}"#.to_vec(), "expires_at"),
        (br#"{"value": "x", "type": ""}"#.to_vec(), "type"),
        (br#"{"type": "generic"}"#.to_vec(), "value"),
        (b"".to_vec(), "required"),
        (br#"{"value": "x"} trailing"#.to_vec(), "trailing"),
    ] {
        let response = app.call_bytes(Method::PUT, &url, Some(&account.token), body.clone()).await;
        let shown = String::from_utf8_lossy(&body);
        assert_eq!(response.status, 400, "{shown}: {}", response.text);
        assert!(
            response.detail().contains(expect),
            "{shown}: detail {:?} should mention {expect:?}",
            response.detail()
        );
        assert_eq!(response.body["title"], "Bad Request");
    }
    let sneaky = app
        .call_bytes(Method::PUT, &url, Some(&account.token), br#"{"value": ["hunter2-in-an-array"]}"#.to_vec())
        .await;
    assert_eq!(sneaky.status, 400);
    assert!(!sneaky.text.contains("hunter2"), "errors never echo values: {}", sneaky.text);
    assert_eq!(snapshot(&app, &account, &vault).await, before);
}

#[tokio::test]
async fn unknown_fields_are_ignored() {
    let app = spawn_app().await;
    let account = app.signup("extra@example.com").await;
    let vault =
        app.post("/v1/vaults", Some(&account.token), json!({"name": "v", "mpc_custody": null, "whatever": 1})).await;
    assert_eq!(vault.status, 201);
    let id = vault.body["id"].as_str().unwrap();
    let put = app
        .put(&format!("/v1/vaults/{id}/secrets/k"), &account.token, json!({"value": "v", "client_hint": true}))
        .await;
    assert_eq!(put.status, 201);
}

#[tokio::test]
async fn oversized_bodies_are_413_and_oversized_values_400() {
    let app = spawn_app_with(|config| config.max_body_bytes = 64 * 1024).await;
    let account = app.signup("big@example.com").await;
    let vault = app.create_vault(&account.token, "v").await;
    app.put_secret(&account.token, &vault, "app/key", "original").await;
    let before = snapshot(&app, &account, &vault).await;
    let huge = json!({"value": "x".repeat(100 * 1024)});
    let response = app.put(&format!("/v1/vaults/{vault}/secrets/app/key"), &account.token, huge).await;
    assert_eq!(response.status, 413, "{}", response.text);
    assert_eq!(response.body["status"], 413);
    assert_eq!(snapshot(&app, &account, &vault).await, before);

    let app = spawn_app().await;
    let account = app.signup("big2@example.com").await;
    let vault = app.create_vault(&account.token, "v").await;
    let too_big = json!({"value": "x".repeat(256 * 1024 + 1)});
    let response = app.put(&format!("/v1/vaults/{vault}/secrets/k"), &account.token, too_big).await;
    assert_eq!(response.status, 400);
    assert!(response.detail().contains("value"), "{}", response.text);
}

#[tokio::test]
async fn traversal_and_malformed_paths_are_400() {
    let app = spawn_app().await;
    let account = app.signup("paths-bad@example.com").await;
    let vault = app.create_vault(&account.token, "v").await;
    app.put_secret(&account.token, &vault, "app/key", "original").await;
    let before = snapshot(&app, &account, &vault).await;
    for path in [
        "app/../app/key",
        "..",
        "app/./key",
        "app//key",
        "%2E%2E/app/key",
        "app%2F%2Fkey",
        "app/key%2F",
        "app%2F..%2Fkey",
        "app/k%20ey",
        "app/k%00ey",
        "app/%C3%28",
    ] {
        for method in ["GET", "PUT", "DELETE"] {
            let body = (method == "PUT").then_some(r#"{"value": "overwritten"}"#);
            let response =
                app.raw(method, &format!("/v1/vaults/{vault}/secrets/{path}"), Some(&account.token), body).await;
            assert_eq!(response.status, 400, "{method} {path}: {}", response.text);
            assert!(response.detail().contains("path"), "{method} {path}: {}", response.text);
        }
    }
    let version =
        app.raw("GET", &format!("/v1/vaults/{vault}/secret-version/app/key/zero"), Some(&account.token), None).await;
    assert_eq!(version.status, 400);
    let version =
        app.raw("GET", &format!("/v1/vaults/{vault}/secret-version/app/key/0"), Some(&account.token), None).await;
    assert_eq!(version.status, 400);
    assert_eq!(snapshot(&app, &account, &vault).await, before);
}

#[tokio::test]
async fn bad_tokens_change_nothing() {
    let app = spawn_app().await;
    let account = app.signup("tok-bad@example.com").await;
    let vault = app.create_vault(&account.token, "v").await;
    app.put_secret(&account.token, &vault, "app/key", "original").await;
    let before = snapshot(&app, &account, &vault).await;
    for token in [None, Some("forged.token.here"), Some("")] {
        let response = app
            .call(
                Method::PUT,
                &format!("/v1/vaults/{vault}/secrets/app/key"),
                token,
                Some(json!({"value": "overwritten"})),
            )
            .await;
        assert_eq!(response.status, 401, "{token:?}");
        let response = app.call(Method::DELETE, &format!("/v1/vaults/{vault}"), token, None).await;
        assert_eq!(response.status, 401);
    }
    assert_eq!(snapshot(&app, &account, &vault).await, before);
}
