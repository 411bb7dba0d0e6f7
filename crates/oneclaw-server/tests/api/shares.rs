use oneclaw_testkit::spawn_app;
use reqwest::Method;
use serde_json::json;

fn in_minutes(app: &oneclaw_testkit::TestApp, minutes: i64) -> String {
    (app.clock.now_utc() + time::Duration::minutes(minutes))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

async fn secret_id(app: &oneclaw_testkit::TestApp, token: &str, vault: &str, path: &str, value: &str) -> String {
    let stored = app.put_secret(token, vault, path, value).await;
    assert_eq!(stored.status, 201);
    stored.body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_link_share_opens_for_anyone_within_its_limits() {
    let app = spawn_app().await;
    let alice = app.signup("share-link@example.com").await;
    let vault = app.create_vault(&alice.token, "v").await;
    let secret = secret_id(&app, &alice.token, &vault, "db/pw", "first").await;
    let created = app
        .post(
            &format!("/v1/secrets/{secret}/share"),
            Some(&alice.token),
            json!({"recipient_type": "anyone_with_link", "expires_at": in_minutes(&app, 60), "max_access_count": 2}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let share_url = created.body["share_url"].as_str().unwrap();
    let link = share_url.rsplit('/').next().unwrap();
    assert!(link.starts_with("ocs_"), "the link carries its own token: {share_url}");
    let id = link.to_owned();
    assert_eq!(created.body["max_access_count"], 2);

    app.put_secret(&alice.token, &vault, "db/pw", "second").await;
    let opened = app.call(Method::GET, &format!("/v1/share/{id}"), None, None).await;
    assert_eq!(opened.status, 200, "{}", opened.text);
    assert_eq!(opened.body["value"], "second", "a share shows the latest version");
    assert_eq!(opened.body["path"], "db/pw");
    assert_eq!(opened.body["access_count"], 1);
    assert_eq!(app.call(Method::GET, &format!("/v1/share/{id}"), None, None).await.status, 200);
    assert_eq!(app.call(Method::GET, &format!("/v1/share/{id}"), None, None).await.status, 410, "used up");

    let timed = app
        .post(
            &format!("/v1/secrets/{secret}/share"),
            Some(&alice.token),
            json!({"recipient_type": "anyone_with_link", "expires_at": in_minutes(&app, 5)}),
        )
        .await;
    let timed = timed.body["share_url"].as_str().unwrap().rsplit('/').next().unwrap();
    app.clock.advance(time::Duration::minutes(6));
    assert_eq!(app.call(Method::GET, &format!("/v1/share/{timed}"), None, None).await.status, 410, "expired");
    assert_eq!(app.call(Method::GET, &format!("/v1/share/{}", uuid::Uuid::new_v4()), None, None).await.status, 404);
}

#[tokio::test]
async fn passphrases_are_checked_and_wrong_ones_lock_the_share() {
    let app = spawn_app().await;
    let alice = app.signup("share-pass@example.com").await;
    let vault = app.create_vault(&alice.token, "v").await;
    let secret = secret_id(&app, &alice.token, &vault, "k", "guarded").await;
    let created = app
        .post(&format!("/v1/secrets/{secret}/share"), Some(&alice.token), json!({"recipient_type": "anyone_with_link", "expires_at": in_minutes(&app, 60), "passphrase": "open sesame"}))
        .await;
    let link = created.body["share_url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let url = format!("/v1/share/{link}");
    let hidden = app
        .post(&format!("/v1/secrets/{secret}/share"), Some(&alice.token), json!({"recipient_type": "anyone_with_link", "expires_at": in_minutes(&app, 60), "ip_allowlist": ["10.0.0.0/8"]}))
        .await;
    let hidden = hidden.body["share_url"].as_str().unwrap().rsplit('/').next().unwrap();
    assert_eq!(
        app.call(Method::GET, &format!("/v1/share/{hidden}"), None, None).await.status,
        403,
        "outside the share's IP allowlist"
    );
    assert_eq!(app.call(Method::GET, &url, None, None).await.status, 403, "the passphrase is required");
    let body_ok = app.call(Method::GET, &url, None, Some(json!({"passphrase": "open sesame"}))).await;
    assert_eq!((body_ok.status, body_ok.body["value"].as_str()), (200, Some("guarded")));
    let header_ok = app
        .http
        .get(format!("{}{url}", app.base_url))
        .header("x-share-passphrase", "open sesame")
        .send()
        .await
        .unwrap();
    assert_eq!(header_ok.status().as_u16(), 200);
    for _ in 0..5 {
        assert_eq!(app.call(Method::GET, &url, None, Some(json!({"passphrase": "guess"}))).await.status, 403);
    }
    let locked = app.call(Method::GET, &url, None, Some(json!({"passphrase": "open sesame"}))).await;
    assert_eq!(locked.status, 429, "{}", locked.text);
    assert!(locked.headers.contains_key("retry-after"));
    app.clock.advance(time::Duration::minutes(16));
    assert_eq!(app.call(Method::GET, &url, None, Some(json!({"passphrase": "open sesame"}))).await.status, 200);
}

#[tokio::test]
async fn user_agent_email_and_creator_shares_reach_only_their_recipient() {
    let app = spawn_app().await;
    let alice = app.signup("share-owner@example.com").await;
    let bob = app.signup("share-bob@example.com").await;
    let bob_id = app.user_id(&bob.token).await;
    let carol = app.signup("share-carol@example.com").await;
    let vault = app.create_vault(&alice.token, "v").await;
    let secret = secret_id(&app, &alice.token, &vault, "k", "for-bob").await;
    let share = |body: serde_json::Value| {
        let (app, token, secret) = (&app, alice.token.clone(), secret.clone());
        async move { app.post(&format!("/v1/secrets/{secret}/share"), Some(&token), body).await }
    };

    let to_bob =
        share(json!({"recipient_type": "user", "recipient_id": bob_id, "expires_at": in_minutes(&app, 60)})).await;
    assert_eq!(to_bob.status, 201, "{}", to_bob.text);
    let to_bob = to_bob.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.call(Method::GET, &format!("/v1/share/{to_bob}"), None, None).await.status,
        404,
        "needs Bob's token"
    );
    assert_eq!(app.get(&format!("/v1/share/{to_bob}"), &carol.token).await.status, 404);
    assert_eq!(app.get(&format!("/v1/share/{to_bob}"), &bob.token).await.body["value"], "for-bob");
    let inbound = app.get("/v1/shares/inbound", &bob.token).await;
    assert_eq!(inbound.body["shares"][0]["id"], to_bob.as_str());
    assert_eq!(inbound.body["shares"][0]["secret_path"], "k");
    assert_eq!(inbound.body["shares"][0]["is_accepted"], false);
    assert_eq!(
        app.call(Method::POST, &format!("/v1/shares/{to_bob}/accept"), Some(&bob.token), None).await.status,
        204
    );
    assert_eq!(app.get("/v1/shares/inbound", &bob.token).await.body["shares"][0]["is_accepted"], true);
    let outbound = app.get("/v1/shares/outbound", &alice.token).await;
    assert_eq!(outbound.body["shares"].as_array().unwrap().len(), 1);
    assert_eq!(outbound.body["shares"][0]["access_count"], 1);

    let to_email = share(
        json!({"recipient_type": "external_email", "email": "Later@Example.com", "expires_at": in_minutes(&app, 60)}),
    )
    .await;
    assert_eq!(to_email.status, 201);
    let to_email = to_email.body["id"].as_str().unwrap().to_owned();
    // Only a verified email counts (issue 12): an identity provider vouched for this one.
    let meta = oneclaw_core::principal::RequestMeta::internal(oneclaw_core::principal::Surface::Api);
    let later = match app.core.auth().sign_in_federated(&meta, "later@example.com", "google").await.unwrap() {
        oneclaw_core::services::LoginOutcome::Signed(token) => token.access_token.expose().to_owned(),
        other => panic!("{other:?}"),
    };
    let later = oneclaw_testkit::Account { email: "later@example.com".into(), password: String::new(), token: later };
    assert_eq!(
        app.get(&format!("/v1/share/{to_email}"), &later.token).await.body["value"],
        "for-bob",
        "claimed by the verified address"
    );
    assert_eq!(
        app.call(Method::POST, &format!("/v1/shares/{to_email}/decline"), Some(&later.token), None).await.status,
        204
    );
    assert_eq!(app.get(&format!("/v1/share/{to_email}"), &later.token).await.status, 404, "declined");

    assert_eq!(app.delete(&format!("/v1/share/{to_bob}"), &bob.token).await.status, 404, "only the creator revokes");
    assert_eq!(app.delete(&format!("/v1/share/{to_bob}"), &alice.token).await.status, 204);
    assert_eq!(app.get(&format!("/v1/share/{to_bob}"), &bob.token).await.status, 404, "revoked");

    // An agent shares back to the human who registered it.
    let agent = app.register_agent(&alice.token, "a", json!({})).await;
    let agent_token = app.agent_token(&agent).await;
    let agent_vault = app.create_vault(&agent_token, "agent-vault").await;
    let agent_secret = secret_id(&app, &agent_token, &agent_vault, "made", "by-agent").await;
    let back = app
        .post(
            &format!("/v1/secrets/{agent_secret}/share"),
            Some(&agent_token),
            json!({"recipient_type": "creator", "expires_at": in_minutes(&app, 60)}),
        )
        .await;
    assert_eq!(back.status, 201, "{}", back.text);
    let back = back.body["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/v1/share/{back}"), &alice.token).await.body["value"], "by-agent");
    assert_eq!(app.get(&format!("/v1/share/{back}"), &bob.token).await.status, 404);
    let email_by_agent = app
        .post(
            &format!("/v1/secrets/{agent_secret}/share"),
            Some(&agent_token),
            json!({"recipient_type": "external_email", "email": "x@example.com", "expires_at": in_minutes(&app, 60)}),
        )
        .await;
    assert_eq!(email_by_agent.status, 403, "agents may not share with emails");
    let creator_by_human = share(json!({"recipient_type": "creator", "expires_at": in_minutes(&app, 60)})).await;
    assert_eq!(creator_by_human.status, 403, "only agents share with their creator");
}

#[tokio::test]
async fn an_org_may_create_ten_shares_a_minute() {
    let app = spawn_app().await;
    let alice = app.signup("share-rate@example.com").await;
    let vault = app.create_vault(&alice.token, "v").await;
    let secret = secret_id(&app, &alice.token, &vault, "k", "v").await;
    let link = json!({"recipient_type": "anyone_with_link", "expires_at": in_minutes(&app, 60)});
    for _ in 0..10 {
        assert_eq!(
            app.post(&format!("/v1/secrets/{secret}/share"), Some(&alice.token), link.clone()).await.status,
            201
        );
    }
    let limited = app.post(&format!("/v1/secrets/{secret}/share"), Some(&alice.token), link.clone()).await;
    assert_eq!(limited.status, 429, "{}", limited.text);
    assert!(limited.headers.contains_key("retry-after"));
    assert_eq!(app.get("/v1/shares/outbound", &alice.token).await.body["shares"].as_array().unwrap().len(), 10);
    app.clock.advance(time::Duration::seconds(61));
    let link = json!({"recipient_type": "anyone_with_link", "expires_at": in_minutes(&app, 60)});
    assert_eq!(app.post(&format!("/v1/secrets/{secret}/share"), Some(&alice.token), link).await.status, 201);
}

#[tokio::test]
async fn sharing_needs_read_access_and_valid_input() {
    let app = spawn_app().await;
    let alice = app.signup("share-rules@example.com").await;
    let vault = app.create_vault(&alice.token, "v").await;
    let secret = secret_id(&app, &alice.token, &vault, "k", "v").await;
    let agent = app.register_agent(&alice.token, "no-access", json!({})).await;
    let agent_token = app.agent_token(&agent).await;
    let eve = app.signup("share-eve@example.com").await;
    let link = json!({"recipient_type": "anyone_with_link", "expires_at": in_minutes(&app, 60)});
    assert_eq!(app.post(&format!("/v1/secrets/{secret}/share"), Some(&agent_token), link.clone()).await.status, 403);
    assert_eq!(app.post(&format!("/v1/secrets/{secret}/share"), Some(&eve.token), link.clone()).await.status, 404);
    for bad in [
        json!({"recipient_type": "anyone_with_link"}),
        json!({"recipient_type": "anyone_with_link", "expires_at": "2001-01-01T00:00:00Z"}),
        json!({"recipient_type": "carrier_pigeon", "expires_at": in_minutes(&app, 60)}),
        json!({"recipient_type": "user", "expires_at": in_minutes(&app, 60)}),
        json!({"recipient_type": "anyone_with_link", "expires_at": in_minutes(&app, 60), "max_access_count": 0}),
        json!({"recipient_type": "anyone_with_link", "expires_at": in_minutes(&app, 60), "permissions": ["write"]}),
        json!({"recipient_type": "anyone_with_link", "expires_at": in_minutes(&app, 60), "ip_allowlist": ["nope"]}),
        json!({"recipient_type": "anyone_with_link", "expires_at": in_minutes(&app, 60), "passphrase": "abc"}),
    ] {
        let response = app.post(&format!("/v1/secrets/{secret}/share"), Some(&alice.token), bad.clone()).await;
        assert_eq!(response.status, 400, "{bad}: {}", response.text);
    }
    assert_eq!(app.get("/v1/shares/outbound", &alice.token).await.body["shares"], json!([]), "nothing was stored");
}
