//! Item 2: a scoped `1ck_` key was not scoped. Its token could mint an unscoped key, delete
//! vaults, rotate agent keys, write policies and manage the team, IP rules and TOTP.

use oneclaw_testkit::spawn_app;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn a_scoped_key_token_does_secret_operations_within_its_scopes_and_nothing_else() {
    let app = spawn_app().await;
    let owner = app.signup("scoped@example.com").await;
    let vault = app.create_vault(&owner.token, "ci").await;
    app.put_secret(&owner.token, &vault, "ci/token", "in-scope").await;
    app.put_secret(&owner.token, &vault, "prod/db", "out-of-scope").await;
    let agent = app.register_agent(&owner.token, "bot", json!({})).await;
    let key = app.post("/v1/auth/api-keys", Some(&owner.token), json!({"name": "ci", "scopes": ["ci/**"]})).await;
    assert_eq!(key.status, 201, "{}", key.text);
    let exchanged = app.post("/v1/auth/api-key-token", None, json!({"api_key": key.body["api_key"]})).await;
    let scoped = exchanged.body["access_token"].as_str().unwrap().to_owned();

    // Within its scopes it works.
    let read = app.get(&format!("/v1/vaults/{vault}/secrets/ci/token"), &scoped).await;
    assert_eq!((read.status, read.body["value"].as_str()), (200, Some("in-scope")));
    assert_eq!(app.put_secret(&scoped, &vault, "ci/new", "x").await.status, 201);
    assert_eq!(app.get(&format!("/v1/vaults/{vault}/secrets/prod/db"), &scoped).await.status, 403);
    assert_eq!(app.get("/v1/vaults", &scoped).await.status, 200, "it may list the vaults it works in");

    // Everything the red team did with it is refused, and changes nothing.
    let user_id = app.user_id(&owner.token).await;
    let attempts: Vec<(Method, String, Option<serde_json::Value>)> = vec![
        (Method::POST, "/v1/auth/api-keys".into(), Some(json!({"name": "escalate"}))),
        (Method::DELETE, format!("/v1/vaults/{vault}"), None),
        (Method::POST, format!("/v1/agents/{}/rotate-key", agent.id), None),
        (
            Method::POST,
            format!("/v1/vaults/{vault}/policies"),
            Some(
                json!({"principal_type": "agent", "principal_id": agent.id, "secret_path_pattern": "**", "permissions": ["read"]}),
            ),
        ),
        (Method::POST, "/v1/org/invite".into(), Some(json!({"email": "friend@example.com"}))),
        (Method::PATCH, format!("/v1/org/members/{user_id}"), Some(json!({"role": "member"}))),
        (Method::POST, "/v1/security/ip-rules".into(), Some(json!({"rule_type": "allow", "cidr": "10.0.0.0/8"}))),
        (Method::POST, "/v1/auth/mfa/setup".into(), Some(json!({}))),
        (
            Method::POST,
            "/v1/auth/change-password".into(),
            Some(json!({"current_password": "x", "new_password": "yyyyyyyy"})),
        ),
        (Method::GET, "/v1/audit/events".into(), None),
        (Method::GET, "/v1/agents".into(), None),
    ];
    for (method, path, body) in attempts {
        let answer = app.call(method.clone(), &path, Some(&scoped), body).await;
        assert_eq!(answer.status, 403, "{method} {path} with a scoped token: {}", answer.text);
    }
    let keys = app.get("/v1/auth/api-keys", &owner.token).await;
    assert_eq!(keys.body["keys"].as_array().map(Vec::len), Some(1), "no key was minted: {}", keys.text);
    assert_eq!(app.get(&format!("/v1/vaults/{vault}"), &owner.token).await.status, 200, "the vault is still there");
    assert_eq!(app.get(&format!("/v1/vaults/{vault}/policies"), &owner.token).await.body["policies"], json!([]));
}
