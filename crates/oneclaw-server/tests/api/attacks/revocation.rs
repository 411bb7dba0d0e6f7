//! Items 4 and 12: revocation did not revoke. A revoked API key's token (and a changed
//! password) still renewed forever by bearer refresh; a re-admitted member was locked out again.

use oneclaw_testkit::spawn_app;
use serde_json::json;

async fn key_token(app: &oneclaw_testkit::TestApp, token: &str) -> (String, String) {
    let key = app.post("/v1/auth/api-keys", Some(token), json!({"name": "laptop"})).await;
    assert_eq!(key.status, 201, "{}", key.text);
    let exchanged = app.post("/v1/auth/api-key-token", None, json!({"api_key": key.body["api_key"]})).await;
    (key.body["key"]["id"].as_str().unwrap().to_owned(), exchanged.body["access_token"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_revoked_api_keys_token_stops_at_once_and_renews_nothing() {
    let app = spawn_app().await;
    let owner = app.signup("revoke-key@example.com").await;
    let (key_id, token) = key_token(&app, &owner.token).await;
    let renewed = app.post("/v1/auth/refresh", Some(&token), json!({})).await;
    assert_eq!(renewed.status, 200, "{}", renewed.text);
    let renewed = renewed.body["access_token"].as_str().unwrap().to_owned();

    assert_eq!(app.delete(&format!("/v1/auth/api-keys/{key_id}"), &owner.token).await.status, 204);
    for stale in [&token, &renewed] {
        assert_eq!(app.get("/v1/auth/me", stale).await.status, 401);
        assert_eq!(app.post("/v1/auth/refresh", Some(stale), json!({})).await.status, 401);
    }
    app.core.sync().await.unwrap();
    assert_eq!(app.get("/v1/auth/me", &token).await.status, 401, "still revoked after a sync");
}

#[tokio::test]
async fn a_password_change_ends_every_token_of_the_user_including_api_key_exchanges() {
    let app = spawn_app().await;
    let owner = app.signup("pw-change@example.com").await;
    let (_, key_token) = key_token(&app, &owner.token).await;
    let changed = app
        .post(
            "/v1/auth/change-password",
            Some(&owner.token),
            json!({"current_password": owner.password, "new_password": "a brand new password"}),
        )
        .await;
    assert_eq!(changed.status, 204, "{}", changed.text);
    for stale in [&owner.token, &key_token] {
        assert_eq!(app.get("/v1/auth/me", stale).await.status, 401);
        assert_eq!(app.post("/v1/auth/refresh", Some(stale), json!({})).await.status, 401);
    }
    app.core.sync().await.unwrap();
    assert_eq!(app.get("/v1/auth/me", &key_token).await.status, 401, "on every node: the generation is stored");
}

#[tokio::test]
async fn an_expired_bearer_does_not_stand_in_the_way_of_a_valid_refresh_token() {
    let app = spawn_app().await;
    let owner = app.signup("expired-bearer@example.com").await;
    let login = app.post("/v1/auth/token", None, json!({"email": owner.email, "password": owner.password})).await;
    let refresh = login.body["refresh_token"].as_str().unwrap().to_owned();
    let access = login.body["access_token"].as_str().unwrap().to_owned();
    app.clock.advance(time::Duration::hours(1));
    let renewed = app.post("/v1/auth/refresh", Some(&access), json!({"refresh_token": refresh})).await;
    assert_eq!(renewed.status, 200, "{}", renewed.text);
}

#[tokio::test]
async fn a_readmitted_member_stays_admitted_and_their_old_tokens_stay_dead() {
    let app = spawn_app().await;
    let owner = app.signup("readmit-owner@example.com").await;
    let member = app.invite_and_join(&owner.token, "readmit@example.com", "member").await;
    let member_id = app.user_id(&member.token).await;
    let old_key = app.post("/v1/auth/api-keys", Some(&member.token), json!({"name": "copied"})).await.body["api_key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.delete(&format!("/v1/org/members/{member_id}"), &owner.token).await.status, 204);
    assert_eq!(app.get("/v1/auth/me", &member.token).await.status, 401);

    let token = app.invite(&owner.token, "readmit@example.com", "member").await;
    let back = app.signup_invited("readmit@example.com", &token).await;
    assert_eq!(app.get("/v1/auth/me", &back.token).await.status, 200);
    app.core.sync().await.unwrap();
    assert_eq!(app.get("/v1/auth/me", &back.token).await.status, 200, "the sync does not lock them out again");
    assert_eq!(app.get("/v1/auth/me", &member.token).await.status, 401, "tokens from before removal stay dead");
    let revived = app.post("/v1/auth/api-key-token", None, json!({"api_key": old_key})).await;
    assert_eq!(revived.status, 401, "and so do keys made before it (red team): {}", revived.text);
    let login = app.post("/v1/auth/token", None, json!({"email": back.email, "password": back.password})).await;
    assert_eq!(login.status, 200, "{}", login.text);
}
