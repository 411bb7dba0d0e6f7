//! Item 3: invites could be hijacked. The newest open invite for an email won at sign-up, with
//! no token, so any self-signed-up owner could pull `newhire@victim` into their own org.

use oneclaw_testkit::spawn_app;
use serde_json::json;

#[tokio::test]
async fn an_attackers_invite_does_not_capture_a_new_hire_who_signs_up_on_their_own() {
    let app = spawn_app().await;
    let victim_owner = app.signup("boss@victim.example").await;
    let attacker = app.signup("mallory@attacker.example").await;
    // The real org invites the new hire; the attacker invites the same address afterwards.
    let real = app.invite(&victim_owner.token, "newhire@victim.example", "member").await;
    let hostile = app.post("/v1/org/invites", Some(&attacker.token), json!({"email": "newhire@victim.example"})).await;
    assert_eq!(hostile.status, 201, "inviting says nothing about other orgs: {}", hostile.text);

    // Signing up without a token joins no one's org: email matching admits nobody.
    let alone = app.signup("newhire@victim.example").await;
    let me = app.get("/v1/auth/me", &alone.token).await;
    assert_eq!(me.body["role"], "owner", "an org of their own: {}", me.text);
    let attackers_members = app.get("/v1/org/members", &attacker.token).await;
    assert!(!attackers_members.text.contains("newhire@victim.example"), "{}", attackers_members.text);

    // The real invitation works only with its token, only for its own address, only for a new
    // account; the attacker's token (for the same address) is useless to the attacker too.
    let taken = app
        .post(
            "/v1/auth/signup",
            None,
            json!({"email": "newhire@victim.example", "password": "long enough pw", "invite_token": real}),
        )
        .await;
    assert_eq!(taken.status, 409, "the address already has an account: {}", taken.text);
    let elsewhere = app
        .post(
            "/v1/auth/signup",
            None,
            json!({"email": "other@attacker.example", "password": "long enough pw", "invite_token": real}),
        )
        .await;
    assert_eq!(elsewhere.status, 400, "a leaked link is no use to another address: {}", elsewhere.text);
    let fresh = app.invite(&victim_owner.token, "second-hire@victim.example", "member").await;
    let other = app.signup_invited("second-hire@victim.example", &fresh).await;
    let members = app.get("/v1/org/members", &victim_owner.token).await;
    assert!(members.text.contains("second-hire@victim.example"), "{}", members.text);
    assert_eq!(app.get("/v1/auth/me", &other.token).await.body["role"], "member");
}

#[tokio::test]
async fn invitation_tokens_are_single_use_expire_and_can_be_revoked() {
    let app = spawn_app().await;
    let owner = app.signup("inv-owner@example.com").await;
    let token = app.invite(&owner.token, "a@example.com", "admin").await;
    assert!(token.starts_with("oci_") && token.len() > 40);
    let signup = |email: &'static str, token: String| {
        let app = &app;
        async move {
            app.post(
                "/v1/auth/signup",
                None,
                json!({"email": email, "password": "long enough pw", "invite_token": token}),
            )
            .await
        }
    };
    // Two sign-ups race with one token: one joins.
    let (first, second) = tokio::join!(signup("a@example.com", token.clone()), signup("a@example.com", token.clone()));
    let statuses = [first.status, second.status];
    assert!(statuses.contains(&200) && statuses.iter().filter(|s| **s == 200).count() == 1, "{statuses:?}");
    assert_eq!(signup("a@example.com", token).await.status, 400, "used once");

    let listed = app.get("/v1/org/invites", &owner.token).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.body["invites"][0]["status"], "accepted");
    assert!(!listed.text.contains("oci_"), "tokens are never listed");

    let revoked = app.invite(&owner.token, "d@example.com", "member").await;
    let id = app.get("/v1/org/invites", &owner.token).await.body["invites"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(app.delete(&format!("/v1/org/invites/{id}"), &owner.token).await.status, 204);
    assert_eq!(app.delete(&format!("/v1/org/invites/{id}"), &owner.token).await.status, 404);
    assert_eq!(signup("d@example.com", revoked).await.status, 400, "revoked");

    let late = app.invite(&owner.token, "e@example.com", "member").await;
    app.clock.advance(time::Duration::days(8));
    let expired = signup("e@example.com", late).await;
    assert_eq!(expired.status, 400, "expired after 7 days: {}", expired.text);
    assert_eq!(signup("f@example.com", "oci_forged".to_owned()).await.status, 400);

    let stranger = app.signup("stranger@example.com").await;
    assert_eq!(app.get("/v1/org/invites", &stranger.token).await.body["invites"], json!([]), "org-scoped");
    assert_eq!(app.delete(&format!("/v1/org/invites/{id}"), &stranger.token).await.status, 404);
}

#[tokio::test]
async fn invitations_cannot_mail_bomb_an_address() {
    let app = spawn_app().await;
    let owner = app.signup("bomber@example.com").await;
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses
            .push(app.post("/v1/org/invites", Some(&owner.token), json!({"email": "bombed@example.com"})).await.status);
    }
    assert!(statuses[..10].iter().all(|s| *s == 201) && statuses[10..].iter().all(|s| *s == 429), "{statuses:?}");
    assert_eq!(app.get("/v1/org/invites", &owner.token).await.body["invites"].as_array().map(Vec::len), Some(10));
}
