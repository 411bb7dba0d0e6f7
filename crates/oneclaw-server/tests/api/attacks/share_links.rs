//! Item 1: an identifier was a credential. A link share opened by its id, and any agent could
//! read that id from the org's audit log.

use super::{in_minutes, secret_id};
use oneclaw_testkit::spawn_app;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn an_agent_with_no_policy_cannot_read_a_secret_through_a_link_found_in_the_audit_log() {
    let app = spawn_app().await;
    let owner = app.signup("links-owner@example.com").await;
    let vault = app.create_vault(&owner.token, "prod").await;
    let secret = secret_id(&app, &owner.token, &vault, "db/password", "s3cr3t-value").await;
    let created = app
        .post(
            &format!("/v1/secrets/{secret}/share"),
            Some(&owner.token),
            json!({"recipient_type": "anyone_with_link", "expires_at": in_minutes(&app, 60)}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let share_id = created.body["id"].as_str().unwrap().to_owned();
    let share_url = created.body["share_url"].as_str().unwrap().to_owned();

    let agent = app.register_agent(&owner.token, "snoop", json!({})).await;
    let agent_token = app.agent_token(&agent).await;
    let denied = app.get(&format!("/v1/vaults/{vault}/secrets/db/password"), &agent_token).await;
    assert_eq!(denied.status, 403, "the agent has no policy");

    // The attack: find the share in the audit log, open it by its id.
    let events = app.get("/v1/audit/events?action=share.create", &agent_token).await;
    assert_eq!(events.status, 200, "{}", events.text);
    assert!(
        !events.text.contains(&share_id),
        "an agent must not see another principal's share events: {}",
        events.text
    );
    let by_id = app.call(Method::GET, &format!("/v1/share/{share_id}"), None, None).await;
    assert_eq!(by_id.status, 404, "the id alone opens nothing: {}", by_id.text);
    assert!(!by_id.text.contains("s3cr3t-value"));

    // The link handed to the creator still works, once per its limits.
    let path = share_url.split_once("/v1/share/").map(|(_, rest)| format!("/v1/share/{rest}")).unwrap();
    assert_ne!(path, format!("/v1/share/{share_id}"), "the link carries its own token, not the id");
    let opened = app.call(Method::GET, &path, None, None).await;
    assert_eq!((opened.status, opened.body["value"].as_str()), (200, Some("s3cr3t-value")), "{}", opened.text);

    // The token is nowhere in the audit log.
    let token = path.trim_start_matches("/v1/share/");
    let all = app.audit_events(&owner).await;
    assert!(all.iter().all(|event| !event.details.to_string().contains(token)));
    assert!(all.iter().all(|event| event.resource_id.as_deref() != Some(token)));
}

#[tokio::test]
async fn owners_and_admins_see_the_whole_log_members_only_their_own() {
    let app = spawn_app().await;
    let owner = app.signup("log-owner@example.com").await;
    let member = app.invite_and_join(&owner.token, "log-member@example.com", "member").await;
    let vault = app.create_vault(&owner.token, "v").await;
    app.put_secret(&owner.token, &vault, "k", "v").await;
    let member_vault = app.create_vault(&member.token, "mine").await;
    let member_id = app.user_id(&member.token).await;
    let owner_id = app.user_id(&owner.token).await;

    let seen_by_owner = app.get("/v1/audit/events?limit=1000", &owner.token).await;
    assert!(seen_by_owner.text.contains(&member_vault) && seen_by_owner.text.contains("secret.write"));
    let seen_by_member = app.get("/v1/audit/events?limit=1000", &member.token).await;
    assert_eq!(seen_by_member.status, 200);
    let events = seen_by_member.body["events"].as_array().unwrap();
    assert!(!events.is_empty());
    for event in events {
        let actor = event["actor_id"].as_str().unwrap_or_default();
        let resource = event["resource_id"].as_str().unwrap_or_default();
        assert!(actor == member_id || resource == member_id, "member saw {event}");
    }
    assert!(events.iter().all(|e| e["actor_id"] != owner_id.as_str()), "none of the owner's own actions");
    let verify = app.get("/v1/audit/verify", &member.token).await;
    assert_eq!(verify.status, 403, "only owners and admins verify the whole chain");
}

#[tokio::test]
async fn share_ids_reveal_no_time_and_a_deleted_path_does_not_revive_its_shares() {
    let app = spawn_app().await;
    let owner = app.signup("revive@example.com").await;
    let vault = app.create_vault(&owner.token, "v").await;
    let agent = app.register_agent(&owner.token, "friend", json!({})).await;
    let secret = secret_id(&app, &owner.token, &vault, "api/key", "old-value").await;
    let created = app
        .post(
            &format!("/v1/secrets/{secret}/share"),
            Some(&owner.token),
            json!({"recipient_type": "agent", "recipient_id": agent.id, "expires_at": in_minutes(&app, 60)}),
        )
        .await;
    let share = created.body["id"].as_str().unwrap().to_owned();
    let id: uuid::Uuid = share.parse().unwrap();
    assert_eq!(id.get_version_num(), 4, "share ids are random, not time-ordered");
    let agent_token = app.agent_token(&agent).await;
    assert_eq!(app.get(&format!("/v1/share/{share}"), &agent_token).await.status, 200);

    assert_eq!(app.delete(&format!("/v1/vaults/{vault}/secrets/api/key"), &owner.token).await.status, 204);
    app.put_secret(&owner.token, &vault, "api/key", "new-unshared-value").await;
    let after = app.get(&format!("/v1/share/{share}"), &agent_token).await;
    assert_eq!(after.status, 404, "the share died with the deleted secret: {}", after.text);
    assert!(!after.text.contains("new-unshared-value"));
}
