use oneclaw_testkit::spawn_app;
use serde_json::json;

#[tokio::test]
async fn a_key_is_shown_once_listed_masked_and_exchanged_for_a_token() {
    let app = spawn_app().await;
    let account = app.signup("keys@example.com").await;
    let created =
        app.post("/v1/auth/api-keys", Some(&account.token), json!({"name": "ci", "scopes": ["vaults:read"]})).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let key = created.body["api_key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("1ck_") && key.len() == 47, "{key}");
    assert_eq!(created.body["key"]["name"], "ci");
    assert_eq!(created.body["key"]["key_prefix"], key[..12]);
    assert_eq!(created.body["key"]["scopes"], json!(["vaults:read"]));
    assert_eq!(created.body["key"]["is_active"], true);

    let listed = app.get("/v1/auth/api-keys", &account.token).await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["keys"].as_array().unwrap().len(), 1);
    assert!(!listed.text.contains(&key), "the full key must never be listed");

    let exchanged = app.post("/v1/auth/api-key-token", None, json!({"api_key": key})).await;
    assert_eq!(exchanged.status, 200, "{}", exchanged.text);
    assert!(exchanged.body.get("refresh_token").is_none());
    let token = exchanged.body["access_token"].as_str().unwrap();
    // A scoped key's token does secret operations only (issue 12): listing vaults yes, the
    // profile no.
    assert_eq!(app.get("/v1/vaults", token).await.status, 200);
    assert_eq!(app.get("/v1/auth/me", token).await.status, 403);
    let listed = app.get("/v1/auth/api-keys", &account.token).await;
    assert!(listed.body["keys"][0]["last_used_at"].is_string(), "{}", listed.text);
}

#[tokio::test]
async fn revoked_expired_and_forged_keys_are_refused() {
    let app = spawn_app().await;
    let account = app.signup("revoke@example.com").await;
    let created = app.post("/v1/auth/api-keys", Some(&account.token), json!({"name": "temp"})).await;
    let key = created.body["api_key"].as_str().unwrap().to_owned();
    let id = created.body["key"]["id"].as_str().unwrap().to_owned();

    let mut forged = key.clone();
    forged.pop();
    forged.push(if key.ends_with('A') { 'B' } else { 'A' });
    let bad = app.post("/v1/auth/api-key-token", None, json!({"api_key": forged})).await;
    assert_eq!(bad.status, 401);
    assert_eq!(app.post("/v1/auth/api-key-token", None, json!({"api_key": "nonsense"})).await.status, 401);

    let revoked = app.delete(&format!("/v1/auth/api-keys/{id}"), &account.token).await;
    assert_eq!(revoked.status, 204);
    assert_eq!(app.post("/v1/auth/api-key-token", None, json!({"api_key": key})).await.status, 401);
    assert_eq!(app.delete(&format!("/v1/auth/api-keys/{id}"), &account.token).await.status, 404);
    let listed = app.get("/v1/auth/api-keys", &account.token).await;
    assert_eq!(listed.body["keys"][0]["is_active"], false);

    let expires = (app.clock.now_utc() + time::Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let short =
        app.post("/v1/auth/api-keys", Some(&account.token), json!({"name": "short", "expires_at": expires})).await;
    assert_eq!(short.status, 201, "{}", short.text);
    let short_key = short.body["api_key"].as_str().unwrap();
    assert_eq!(app.post("/v1/auth/api-key-token", None, json!({"api_key": short_key})).await.status, 200);
    app.clock.advance(time::Duration::hours(2));
    assert_eq!(app.post("/v1/auth/api-key-token", None, json!({"api_key": short_key})).await.status, 401);
}

#[tokio::test]
async fn keys_belong_to_their_user() {
    let app = spawn_app().await;
    let alice = app.signup("alice-keys@example.com").await;
    let bob = app.signup("bob-keys@example.com").await;
    let created = app.post("/v1/auth/api-keys", Some(&alice.token), json!({"name": "mine"})).await;
    let id = created.body["key"]["id"].as_str().unwrap();
    assert_eq!(app.delete(&format!("/v1/auth/api-keys/{id}"), &bob.token).await.status, 404);
    assert_eq!(app.get("/v1/auth/api-keys", &bob.token).await.body["keys"], json!([]));
    assert_eq!(app.post("/v1/auth/api-keys", Some(&alice.token), json!({"name": ""})).await.status, 400);
    assert_eq!(app.post("/v1/auth/api-keys", Some(&alice.token), json!({})).await.status, 400);
    let past = app
        .post("/v1/auth/api-keys", Some(&alice.token), json!({"name": "x", "expires_at": "2001-01-01T00:00:00Z"}))
        .await;
    assert_eq!(past.status, 400);
}
