//! Item 6: a removed member kept access through the agents they registered and the shares
//! they made; admins could not revoke shares others made.

use super::{in_minutes, secret_id};
use oneclaw_testkit::spawn_app;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn removing_a_member_disables_their_agents_and_revokes_their_shares() {
    let app = spawn_app().await;
    let owner = app.signup("removal-owner@example.com").await;
    let member = app.invite_and_join(&owner.token, "leaver@example.com", "member").await;
    let vault = app.create_vault(&member.token, "theirs").await;
    let secret = secret_id(&app, &member.token, &vault, "k", "member-secret").await;
    let agent = app.register_agent(&member.token, "their-bot", json!({})).await;
    let agent_token = app.agent_token(&agent).await;
    let link = app
        .post(
            &format!("/v1/secrets/{secret}/share"),
            Some(&member.token),
            json!({"recipient_type": "anyone_with_link", "expires_at": in_minutes(&app, 60)}),
        )
        .await;
    let url = link.body["share_url"].as_str().unwrap();
    let path = format!("/v1/share/{}", url.rsplit('/').next().unwrap());
    assert_eq!(app.call(Method::GET, &path, None, None).await.status, 200);
    // Found by the red team: a link the member's agent made, to a vault the agent made.
    let agent_vault = app.create_vault(&agent_token, "bots").await;
    let agent_secret = secret_id(&app, &agent_token, &agent_vault, "k", "agent-made").await;
    let agent_link = app
        .post(
            &format!("/v1/secrets/{agent_secret}/share"),
            Some(&agent_token),
            json!({"recipient_type": "anyone_with_link", "expires_at": in_minutes(&app, 60)}),
        )
        .await;
    let agent_path =
        format!("/v1/share/{}", agent_link.body["share_url"].as_str().unwrap().rsplit('/').next().unwrap());
    assert_eq!(app.call(Method::GET, &agent_path, None, None).await.status, 200);

    let member_id = app.user_id(&member.token).await;
    assert_eq!(app.delete(&format!("/v1/org/members/{member_id}"), &owner.token).await.status, 204);

    let exchange = app.post("/v1/auth/agent-token", None, json!({"api_key": agent.key, "agent_id": agent.id})).await;
    assert_eq!(exchange.status, 401, "the agent's key no longer works: {}", exchange.text);
    assert_eq!(app.get("/v1/agents/me", &agent_token).await.status, 401, "nor its live token");
    assert_eq!(app.call(Method::GET, &path, None, None).await.status, 404, "the link share is revoked");
    assert_eq!(app.call(Method::GET, &agent_path, None, None).await.status, 404, "and so is their agent's");
    app.core.sync().await.unwrap();
    assert_eq!(app.get("/v1/agents/me", &agent_token).await.status, 401);
}

#[tokio::test]
async fn an_admin_may_revoke_a_share_someone_else_made_but_a_member_may_not() {
    let app = spawn_app().await;
    let owner = app.signup("share-admin@example.com").await;
    let member = app.invite_and_join(&owner.token, "share-member@example.com", "member").await;
    let other = app.invite_and_join(&owner.token, "share-other@example.com", "member").await;
    let vault = app.create_vault(&member.token, "v").await;
    let secret = secret_id(&app, &member.token, &vault, "k", "v").await;
    let created = app
        .post(
            &format!("/v1/secrets/{secret}/share"),
            Some(&member.token),
            json!({"recipient_type": "anyone_with_link", "expires_at": in_minutes(&app, 60)}),
        )
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(app.delete(&format!("/v1/share/{id}"), &other.token).await.status, 404, "another member may not");
    assert_eq!(app.delete(&format!("/v1/share/{id}"), &owner.token).await.status, 204, "an owner may");
    let outsider = app.signup("share-outsider@example.com").await;
    assert_eq!(app.delete(&format!("/v1/share/{id}"), &outsider.token).await.status, 404);
}
