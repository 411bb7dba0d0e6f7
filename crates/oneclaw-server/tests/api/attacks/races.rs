//! Item 8: read-modify-write races. Parallel wrong passphrases each counted once, a stale
//! share write could undo a revocation, a stale agent write could undo a key rotation.

use super::{in_minutes, secret_id};
use oneclaw_core::ids::{AgentId, OrgId, UserId};
use oneclaw_testkit::spawn_app;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn parallel_wrong_passphrases_each_count_and_lock_the_share() {
    let app = spawn_app().await;
    let owner = app.signup("race-pass@example.com").await;
    let vault = app.create_vault(&owner.token, "v").await;
    let secret = secret_id(&app, &owner.token, &vault, "k", "guarded").await;
    let created = app
        .post(
            &format!("/v1/secrets/{secret}/share"),
            Some(&owner.token),
            json!({"recipient_type": "anyone_with_link", "expires_at": in_minutes(&app, 60), "passphrase": "right one"}),
        )
        .await;
    let url = created.body["share_url"].as_str().unwrap();
    let path = format!("/v1/share/{}", url.rsplit('/').next().unwrap());
    let mut guesses = tokio::task::JoinSet::new();
    for n in 0..8 {
        let (http, url) = (app.http.clone(), format!("{}{path}", app.base_url));
        guesses.spawn(async move {
            let answer = http.get(url).json(&json!({"passphrase": format!("wrong {n}")})).send().await.unwrap();
            answer.status().as_u16()
        });
    }
    let statuses: Vec<u16> = guesses.join_all().await;
    assert!(statuses.iter().all(|s| *s == 403 || *s == 429), "{statuses:?}");
    let right = app.call(Method::GET, &path, None, Some(json!({"passphrase": "right one"}))).await;
    assert_eq!(right.status, 429, "five of the eight parallel guesses locked it: {}", right.text);
}

#[tokio::test]
async fn a_response_after_a_revocation_does_not_undo_it() {
    let app = spawn_app().await;
    let owner = app.signup("race-revoke@example.com").await;
    let member = app.invite_and_join(&owner.token, "race-recipient@example.com", "member").await;
    let member_id = app.user_id(&member.token).await;
    let vault = app.create_vault(&owner.token, "v").await;
    let secret = secret_id(&app, &owner.token, &vault, "k", "v").await;
    let created = app
        .post(
            &format!("/v1/secrets/{secret}/share"),
            Some(&owner.token),
            json!({"recipient_type": "user", "recipient_id": member_id, "expires_at": in_minutes(&app, 60)}),
        )
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let (revoke_path, accept_path) = (format!("/v1/share/{id}"), format!("/v1/shares/{id}/accept"));
    let (revoked, accepted) =
        tokio::join!(app.delete(&revoke_path, &owner.token), app.post(&accept_path, Some(&member.token), json!({})));
    assert_eq!(revoked.status, 204);
    assert!(accepted.status == 204 || accepted.status == 404, "{}", accepted.text);
    assert_eq!(app.get(&format!("/v1/share/{id}"), &member.token).await.status, 404, "the revocation holds");
    assert_eq!(app.post(&format!("/v1/shares/{id}/accept"), Some(&member.token), json!({})).await.status, 404);
}

#[tokio::test]
async fn a_stale_agent_write_cannot_undo_a_key_rotation() {
    let app = spawn_app().await;
    let owner = app.signup("race-agent@example.com").await;
    let agent = app.register_agent(&owner.token, "bot", json!({})).await;
    let owner_id = UserId(app.user_id(&owner.token).await.parse().unwrap());
    let org: OrgId = app.core.deps().store.user(owner_id).await.unwrap().unwrap().org_id;
    let id = AgentId(agent.id.parse().unwrap());
    let store = app.core.deps().store.clone();
    let stale = store.agent(org, id).await.unwrap().unwrap();
    assert_eq!(
        app.post(&format!("/v1/agents/{}/rotate-key", agent.id), Some(&owner.token), json!({})).await.status,
        200
    );

    // A writer that read the agent before the rotation writes its copy back.
    let mut write_back = stale.clone();
    write_back.name = "renamed".to_owned();
    write_back.revision += 1;
    let mut tx = store.begin().await.unwrap();
    assert!(!tx.update_agent(&write_back).await.unwrap(), "the stale write is refused");
    drop(tx);
    let exchange = app.post("/v1/auth/agent-token", None, json!({"api_key": agent.key, "agent_id": agent.id})).await;
    assert_eq!(exchange.status, 401, "the old key stays rotated out");
}
