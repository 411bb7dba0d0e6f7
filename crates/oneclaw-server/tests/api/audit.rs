//! Every change and every secret read leaves an audit event, committed with the change, and no
//! audit record ever holds a value, password or token.

use oneclaw_testkit::spawn_app;
use serde_json::json;

#[tokio::test]
async fn actions_leave_events_with_actor_resource_and_origin() {
    let app = spawn_app().await;
    let account = app.signup("audit@example.com").await;
    let vault = app.create_vault(&account.token, "v").await;
    app.put_secret(&account.token, &vault, "db/pw", "v1").await;
    app.get(&format!("/v1/vaults/{vault}/secrets/db/pw"), &account.token).await;
    app.get(&format!("/v1/vaults/{vault}/secrets/db/missing"), &account.token).await;
    app.delete(&format!("/v1/vaults/{vault}/secrets/db/pw"), &account.token).await;
    app.post("/v1/auth/token", None, json!({"email": account.email, "password": "wrong password"})).await;

    let events = app.audit_events(&account).await;
    let actions: Vec<&str> = events.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["auth.signup", "vault.create", "secret.write", "secret.read", "secret.read", "secret.delete", "auth.failure"],
    );
    let read = events.iter().find(|e| e.action == "secret.read" && e.outcome.as_str() == "success").unwrap();
    let me = app.get("/v1/auth/me", &account.token).await;
    assert_eq!(read.actor_type, "user");
    assert_eq!(read.actor_id.unwrap().to_string(), me.body["id"].as_str().unwrap());
    assert_eq!(read.details["vault_id"], vault.as_str());
    assert_eq!(read.details["path"], "db/pw");
    assert_eq!(read.details["version"], 1);
    assert_eq!(read.ip_address.as_deref(), Some("127.0.0.1"));
    assert_eq!(read.surface, "api");
    let denied = events.iter().find(|e| e.action == "secret.read" && e.outcome.as_str() == "denied").unwrap();
    assert!(denied.details["reason"].as_str().unwrap().contains("No secret"));
    let failure = events.iter().find(|e| e.action == "auth.failure").unwrap();
    assert_eq!(failure.outcome.as_str(), "failure");
}

#[tokio::test]
async fn no_audit_record_holds_a_value_password_or_token() {
    let app = spawn_app().await;
    let account = app.signup("scan@example.com").await;
    let vault = app.create_vault(&account.token, "v").await;
    let value = "s3cr3t-VALUE-7f1e2d";
    app.put(
        &format!("/v1/vaults/{vault}/secrets/scan/me"),
        &account.token,
        json!({"value": value, "metadata": {"note": "m"}}),
    )
    .await;
    app.get(&format!("/v1/vaults/{vault}/secrets/scan/me"), &account.token).await;
    app.post(&format!("/v1/vaults/{vault}/secret-rotate/scan/me"), Some(&account.token), json!({})).await;
    let rotated = app.get(&format!("/v1/vaults/{vault}/secrets/scan/me"), &account.token).await.body["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = app.post("/v1/auth/api-keys", Some(&account.token), json!({"name": "k"})).await.body["api_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let exchanged = app.post("/v1/auth/api-key-token", None, json!({"api_key": key})).await.body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let login = app.post("/v1/auth/token", None, json!({"email": account.email, "password": account.password})).await;
    let refresh = login.body["refresh_token"].as_str().unwrap().to_owned();
    app.post("/v1/auth/refresh", None, json!({"refresh_token": refresh})).await;
    app.post(
        "/v1/auth/change-password",
        Some(&exchanged),
        json!({"current_password": account.password, "new_password": "NEWPASS-9c8b7a"}),
    )
    .await;

    let events = app.audit_events(&app.signup("observer@example.com").await).await;
    assert_eq!(events.len(), 1, "another org's log holds only its own signup");
    let org_token =
        app.post("/v1/auth/token", None, json!({"email": account.email, "password": "NEWPASS-9c8b7a"})).await;
    let owner = oneclaw_testkit::Account {
        token: org_token.body["access_token"].as_str().unwrap().to_owned(),
        ..account.clone()
    };
    let events = app.audit_events(&owner).await;
    assert!(events.len() >= 10, "{}", events.len());
    let needles = [
        value,
        rotated.as_str(),
        key.as_str(),
        exchanged.as_str(),
        refresh.as_str(),
        account.password.as_str(),
        "NEWPASS-9c8b7a",
        account.token.as_str(),
    ];
    for event in &events {
        let row = format!("{event:?}");
        for needle in needles {
            assert!(!row.contains(needle), "audit event {} holds a secret: {row}", event.action);
        }
    }
}

#[tokio::test]
async fn access_model_actions_are_recorded_too() {
    let app = spawn_app().await;
    let alice = app.signup("audit-access@example.com").await;
    let vault = app.create_vault(&alice.token, "v").await;
    let secret = app.put_secret(&alice.token, &vault, "k", "v").await.body["id"].as_str().unwrap().to_owned();
    let agent = app.register_agent(&alice.token, "a", json!({})).await;
    app.grant(&alice.token, &vault, ("agent", &agent.id), "**", &["read"], json!({})).await;
    let token = app.agent_token(&agent).await;
    app.get(&format!("/v1/vaults/{vault}/secrets/k"), &token).await;
    let expires = (app.clock.now_utc() + time::Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let share = app
        .post(
            &format!("/v1/secrets/{secret}/share"),
            Some(&alice.token),
            json!({"recipient_type": "anyone_with_link", "expires_at": expires}),
        )
        .await;
    let link = share.body["share_url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    app.call(reqwest::Method::GET, &format!("/v1/share/{link}"), None, None).await;
    app.post("/v1/org/invites", Some(&alice.token), json!({"email": "new@example.com"})).await;
    app.call(reqwest::Method::POST, &format!("/v1/agents/{}/rotate-key", agent.id), Some(&alice.token), None).await;

    let events = app.audit_events(&alice).await;
    let actions: Vec<&str> = events.iter().rev().map(|e| e.action.as_str()).collect();
    for expected in [
        "agent.register",
        "policy.create",
        "auth.agent_token",
        "secret.read",
        "share.create",
        "share.access",
        "member.invite",
        "agent.rotate_key",
    ] {
        assert!(actions.contains(&expected), "{expected} missing from {actions:?}");
    }
    let agent_read = events.iter().find(|e| e.action == "secret.read" && e.actor_type == "agent").unwrap();
    assert_eq!(agent_read.actor_id.unwrap().to_string(), agent.id);
    let anonymous_access = events.iter().find(|e| e.action == "share.access").unwrap();
    assert_eq!(anonymous_access.actor_type, "anonymous");
}

/// Probing for vault ids leaves a trace: reading or writing in a vault that does not exist, or
/// that belongs to another org, is a refusal recorded in the caller's org (404, the same answer
/// for both), and the other org's log is untouched.
#[tokio::test]
async fn a_vault_outside_the_callers_org_is_a_refusal_on_the_callers_record() {
    let app = spawn_app().await;
    let prober = app.signup("prober@example.com").await;
    let owner = app.signup("owner@example.com").await;
    let theirs = app.create_vault(&owner.token, "theirs").await;
    app.put_secret(&owner.token, &theirs, "db/pw", "v1").await;
    let owner_events_before = app.audit_events(&owner).await.len();
    let nowhere = uuid::Uuid::now_v7().to_string();

    for vault in [&theirs, &nowhere] {
        let read = app.get(&format!("/v1/vaults/{vault}/secrets/db/pw"), &prober.token).await;
        assert_eq!(read.status, 404, "{}", read.text);
        let write = app.put(&format!("/v1/vaults/{vault}/secrets/db/pw"), &prober.token, json!({"value": "x"})).await;
        assert_eq!(write.status, 404, "{}", write.text);
    }

    let refused: Vec<(String, String)> = app
        .audit_events(&prober)
        .await
        .iter()
        .rev()
        .filter(|e| e.outcome.as_str() == "denied")
        .map(|e| (e.action.clone(), e.details["vault_id"].as_str().unwrap_or_default().to_owned()))
        .collect();
    let expected: Vec<(String, String)> = [&theirs, &nowhere]
        .into_iter()
        .flat_map(|vault| [("secret.read".to_owned(), vault.clone()), ("secret.write".to_owned(), vault.clone())])
        .collect();
    assert_eq!(refused, expected);
    assert_eq!(app.audit_events(&owner).await.len(), owner_events_before, "nothing lands in the other org's log");
}
