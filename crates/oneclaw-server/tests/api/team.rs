use oneclaw_server::config::Signup;
use oneclaw_testkit::{spawn_app, spawn_app_with};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn an_invited_email_joins_the_org_with_its_role() {
    let app = spawn_app().await;
    let owner = app.signup("owner-team@example.com").await;
    let invited = app
        .post("/v1/org/invites", Some(&owner.token), json!({"email": "Admin-Team@example.com", "role": "admin"}))
        .await;
    assert_eq!(invited.status, 201, "{}", invited.text);
    assert_eq!(invited.body["email"], "admin-team@example.com");
    assert_eq!(invited.body["role"], "admin");
    let admin = app.signup_invited("admin-team@example.com", invited.body["invite_token"].as_str().unwrap()).await;
    let members = app.get("/v1/org/members", &owner.token).await;
    let roles: Vec<(String, String)> = members.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["email"].as_str().unwrap().to_owned(), m["role"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        roles,
        [
            ("owner-team@example.com".to_owned(), "owner".to_owned()),
            ("admin-team@example.com".to_owned(), "admin".to_owned())
        ]
    );
    assert_eq!(app.get("/v1/org/members", &admin.token).await.body["members"].as_array().unwrap().len(), 2);
    assert_eq!(app.get("/v1/auth/me", &admin.token).await.body["role"], "admin");
    let outsider = app.signup("elsewhere@example.com").await;
    assert_eq!(
        app.post("/v1/org/invites", Some(&owner.token), json!({"email": "elsewhere@example.com"})).await.status,
        201,
        "whether an address has an account elsewhere is not told"
    );
    assert_eq!(
        app.post("/v1/org/invites", Some(&owner.token), json!({"email": "admin-team@example.com"})).await.status,
        409
    );
    assert_eq!(
        app.post("/v1/org/invites", Some(&owner.token), json!({"email": "x@example.com", "role": "king"})).await.status,
        400
    );
    assert_eq!(
        app.post("/v1/org/invites", Some(&outsider.token), json!({"email": "x@example.com"})).await.status,
        201,
        "anyone administers their own org"
    );
}

#[tokio::test]
async fn closed_signup_admits_the_first_account_and_invited_emails_only() {
    let app = spawn_app_with(|config| config.signup = Signup::Closed).await;
    let owner = app.signup("closed-owner@example.com").await;
    let walk_in =
        app.post("/v1/auth/signup", None, json!({"email": "walk-in@example.com", "password": "long enough"})).await;
    assert_eq!(walk_in.status, 403);
    assert!(walk_in.detail().contains("invitation"));
    let invite_token = app.invite(&owner.token, "invitee@example.com", "member").await;
    let invitee = app.signup_invited("invitee@example.com", &invite_token).await;
    assert_eq!(app.get("/v1/auth/me", &invitee.token).await.body["role"], "member");
    assert_eq!(app.get("/v1/org/members", &owner.token).await.body["members"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn roles_follow_the_rules_and_the_last_owner_stays() {
    let app = spawn_app().await;
    let owner = app.signup("rules-owner@example.com").await;
    let owner_id = app.user_id(&owner.token).await;
    let admin = app.invite_and_join(&owner.token, "rules-admin@example.com", "admin").await;
    let member = app.invite_and_join(&owner.token, "rules-member@example.com", "member").await;
    let member_id = app.user_id(&member.token).await;

    let patch = |token: &str, user: &str, role: &str| {
        let (token, user, role) = (token.to_owned(), user.to_owned(), role.to_owned());
        let app = &app;
        async move {
            app.call(Method::PATCH, &format!("/v1/org/members/{user}"), Some(&token), Some(json!({"role": role}))).await
        }
    };
    assert_eq!(patch(&member.token, &member_id, "admin").await.status, 403, "members manage nothing");
    assert_eq!(patch(&admin.token, &member_id, "owner").await.status, 403, "admins cannot make owners");
    assert_eq!(patch(&admin.token, &owner_id, "member").await.status, 403, "admins cannot demote owners");
    assert_eq!(patch(&owner.token, &owner_id, "admin").await.status, 409, "the last owner stays");
    assert_eq!(app.delete(&format!("/v1/org/members/{owner_id}"), &owner.token).await.status, 409);
    let promoted = patch(&admin.token, &member_id, "admin").await;
    assert_eq!((promoted.status, promoted.body["role"].as_str()), (200, Some("admin")));
    assert_eq!(patch(&owner.token, &member_id, "owner").await.status, 200);
    assert_eq!(
        patch(&owner.token, &owner_id, "member").await.status,
        200,
        "with a second owner the first may step down"
    );
    assert_eq!(patch(&owner.token, &uuid::Uuid::new_v4().to_string(), "member").await.status, 403, "a member now");
    assert_eq!(patch(&member.token, &uuid::Uuid::new_v4().to_string(), "member").await.status, 404);
}

#[tokio::test]
async fn a_removed_member_loses_every_way_in() {
    let app = spawn_app().await;
    let owner = app.signup("remove-owner@example.com").await;
    let member = app.invite_and_join(&owner.token, "removed@example.com", "member").await;
    let member_id = app.user_id(&member.token).await;
    let key = app.post("/v1/auth/api-keys", Some(&member.token), json!({"name": "k"})).await.body["api_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let key_token = app.post("/v1/auth/api-key-token", None, json!({"api_key": key})).await.body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    assert_eq!(app.delete(&format!("/v1/org/members/{member_id}"), &member.token).await.status, 403);
    assert_eq!(app.delete(&format!("/v1/org/members/{member_id}"), &owner.token).await.status, 204);
    assert_eq!(app.get("/v1/auth/me", &member.token).await.status, 401);
    assert_eq!(app.get("/v1/auth/me", &key_token).await.status, 401);
    assert_eq!(app.post("/v1/auth/api-key-token", None, json!({"api_key": key})).await.status, 401);
    assert_eq!(
        app.post("/v1/auth/token", None, json!({"email": member.email, "password": member.password})).await.status,
        401
    );
    assert_eq!(app.get("/v1/org/members", &owner.token).await.body["members"].as_array().unwrap().len(), 1);

    // An invitation alone re-admits nobody; its token, presented at sign-up, brings the same
    // account back (with the password chosen then).
    let invite_token = app.invite(&owner.token, &member.email, "member").await;
    assert_eq!(
        app.post("/v1/auth/token", None, json!({"email": member.email, "password": member.password})).await.status,
        401
    );
    let back = app.signup_invited(&member.email, &invite_token).await;
    assert_eq!(app.user_id(&back.token).await, member_id, "the same account");
    assert_eq!(
        app.post("/v1/auth/token", None, json!({"email": member.email, "password": back.password})).await.status,
        200
    );
}

#[tokio::test]
async fn ip_rules_apply_to_every_request_and_cannot_lock_out_their_author() {
    let app = spawn_app().await;
    let owner = app.signup("ip-owner@example.com").await;
    let member = app.invite_and_join(&owner.token, "ip-member@example.com", "member").await;
    let agent = app.register_agent(&owner.token, "a", json!({})).await;
    let agent_token = app.agent_token(&agent).await;

    let lockout = app
        .post("/v1/security/ip-rules", Some(&owner.token), json!({"rule_type": "allow", "cidr": "10.0.0.0/8"}))
        .await;
    assert_eq!(lockout.status, 400, "{}", lockout.text);
    assert!(lockout.detail().contains("lock you out"));
    assert_eq!(
        app.post("/v1/security/ip-rules", Some(&member.token), json!({"rule_type": "deny", "cidr": "10.0.0.0/8"}))
            .await
            .status,
        403
    );
    assert_eq!(
        app.post("/v1/security/ip-rules", Some(&owner.token), json!({"rule_type": "deny", "cidr": "bogus"}))
            .await
            .status,
        400
    );

    let rule = app
        .post(
            "/v1/security/ip-rules",
            Some(&owner.token),
            json!({"rule_type": "deny", "cidr": "127.0.0.0/8", "label": "no local agents", "applies_to": "agents"}),
        )
        .await;
    assert_eq!(rule.status, 201, "{}", rule.text);
    assert_eq!(rule.body["cidr"], "127.0.0.0/8");
    assert_eq!(app.get("/v1/agents/me", &agent_token).await.status, 403, "the rule applies at once");
    let events = app.audit_events(&owner).await;
    let refused = events.iter().find(|e| e.action == "ip_rule.deny").expect("the refusal is audited");
    assert_eq!(refused.actor_id.unwrap().to_string(), agent.id);
    assert_eq!(refused.outcome.as_str(), "denied");
    assert_eq!(app.post("/v1/auth/agent-token", None, json!({"api_key": agent.key})).await.status, 403);
    assert_eq!(app.get("/v1/auth/me", &member.token).await.status, 200, "the rule is for agents only");
    let rules = app.get("/v1/security/ip-rules", &owner.token).await;
    assert_eq!(rules.body["rules"].as_array().unwrap().len(), 1);
    let id = rule.body["id"].as_str().unwrap();
    assert_eq!(app.delete(&format!("/v1/security/ip-rules/{id}"), &owner.token).await.status, 204);
    assert_eq!(app.get("/v1/agents/me", &agent_token).await.status, 200);
    assert_eq!(app.delete(&format!("/v1/security/ip-rules/{id}"), &owner.token).await.status, 404);
}

#[tokio::test]
async fn claws_invite_route_without_mail_makes_nothing_and_points_to_ours() {
    let app = spawn_app().await;
    let owner = app.signup("owner-claw-invite@example.com").await;
    let invited = app.post("/v1/org/invite", Some(&owner.token), json!({"email": "Claw@example.com"})).await;
    assert_eq!(invited.status, 400, "an invitation nobody could receive is not made: {}", invited.text);
    assert!(invited.detail().contains("POST /v1/org/invites"), "says where the link is: {}", invited.text);
    let listed = app.get("/v1/org/invites", &owner.token).await;
    assert_eq!(listed.body["invites"], json!([]), "nothing was made: {}", listed.text);
}
