//! Items 4 and 12: revocation did not revoke. A revoked API key's token (and a changed
//! password) still renewed forever by bearer refresh; a re-admitted member was locked out again.

use oneclaw_testkit::{TestApp, spawn_app};
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

/// An MCP `initialize` to hosted `/mcp` with `key` (and `agent_id` as `X-Agent-ID`): its status.
async fn mcp_ping(app: &TestApp, key: &str, vault: &str, agent_id: Option<&str>) -> u16 {
    let mut request = app
        .http
        .post(format!("{}/mcp", app.base_url))
        .bearer_auth(key)
        .header("X-Vault-ID", vault)
        .header("Accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "attack", "version": "1"}
        }}));
    if let Some(id) = agent_id {
        request = request.header("X-Agent-ID", id);
    }
    request.send().await.unwrap().status().as_u16()
}

async fn set_active(app: &TestApp, owner_token: &str, agent_id: &str, active: bool) {
    let path = format!("/v1/agents/{agent_id}");
    let changed = app.call(reqwest::Method::PATCH, &path, Some(owner_token), Some(json!({"is_active": active}))).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
}

/// Hosted `/mcp` with an agent key (issue 15's red-team of the one outer layer): a token the
/// server cached for the key before the agent was disabled and enabled again was refused
/// until it ran out (up to an hour); now the key is exchanged anew. And an `X-Agent-ID` that
/// is not the key's agent was let through once a token for the key was cached.
#[tokio::test]
async fn an_agent_key_on_hosted_mcp_works_again_after_re_enabling_and_never_takes_another_agents_id() {
    let app = spawn_app().await;
    let owner = app.signup("mcp-key@example.com").await;
    let vault = app.create_vault(&owner.token, "mcp-key").await;
    let agent = app.register_agent(&owner.token, "mcp-key-bot", json!({})).await;
    let other = app.register_agent(&owner.token, "other-bot", json!({})).await;

    assert_eq!(mcp_ping(&app, &agent.key, &vault, None).await, 200, "the key's token is exchanged and cached");
    // Disabled and enabled again with nothing between: the cached token is refused (revoked),
    // and the key, still good, is exchanged anew.
    set_active(&app, &owner.token, &agent.id, false).await;
    set_active(&app, &owner.token, &agent.id, true).await;
    assert_eq!(mcp_ping(&app, &agent.key, &vault, None).await, 200, "the cached token's refusal is not the answer");
    set_active(&app, &owner.token, &agent.id, false).await;
    assert_eq!(mcp_ping(&app, &agent.key, &vault, None).await, 401, "a disabled agent's key is refused at once");
    set_active(&app, &owner.token, &agent.id, true).await;
    assert_eq!(mcp_ping(&app, &agent.key, &vault, None).await, 200, "re-enabled, the still-valid key works at once");

    assert_eq!(mcp_ping(&app, &agent.key, &vault, Some(&agent.id)).await, 200);
    let mismatched = mcp_ping(&app, &agent.key, &vault, Some(&other.id)).await;
    assert_eq!(mismatched, 401, "another agent's id, with a token cached for the key");
    assert_eq!(mcp_ping(&app, &agent.key, &vault, None).await, 200);
}
