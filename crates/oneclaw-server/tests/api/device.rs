//! The device flow of `oneclaw login` (issue 17): a code for one account, approved only by that
//! account's human, good for one session, for ten minutes.

use oneclaw_testkit::spawn_app;
use serde_json::{Value, json};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Polls 1claw's route (its schema: no refresh token).
async fn poll(app: &oneclaw_testkit::TestApp, device_code: &str) -> Value {
    poll_at(app, "/v1/auth/device/token", device_code).await
}

/// Polls our route, which `oneclaw login` uses: the session comes with its refresh token.
async fn poll_for_session(app: &oneclaw_testkit::TestApp, device_code: &str) -> Value {
    poll_at(app, "/v1/auth/device/session", device_code).await
}

async fn poll_at(app: &oneclaw_testkit::TestApp, route: &str, device_code: &str) -> Value {
    let answer = app.post(route, None, json!({"device_code": device_code, "grant_type": GRANT})).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body
}

#[tokio::test]
async fn a_code_is_approved_by_its_account_once_and_gives_one_session() {
    let app = spawn_app().await;
    let ada = app.signup("device-ada@example.com").await;
    let eve = app.signup("device-eve@example.com").await;
    let started = app
        .post("/v1/auth/device/code", None, json!({"client_id": "oneclaw-cli", "email": "Device-Ada@example.com"}))
        .await;
    assert_eq!(started.status, 200, "{}", started.text);
    let device_code = started.body["device_code"].as_str().unwrap().to_owned();
    let user_code = started.body["user_code"].as_str().unwrap().to_owned();
    assert!(started.body["verification_uri"].as_str().unwrap().ends_with("/device"));
    assert!(
        started.body.get("verification_uri_complete").is_none(),
        "1claw's DeviceCodeResponse has no verification_uri_complete: {}",
        started.text
    );
    assert_eq!((started.body["expires_in"].as_i64(), started.body["interval"].as_i64()), (Some(600), Some(5)));

    assert_eq!(poll(&app, &device_code).await["error"], "authorization_pending");
    assert_eq!(poll(&app, &device_code).await["error"], "slow_down", "polled faster than the interval");
    let status = app.get(&format!("/v1/auth/device/code/{}", user_code.to_lowercase()), &ada.token).await;
    assert_eq!(
        (status.body["status"].as_str(), status.body["client_id"].as_str()),
        (Some("pending"), Some("oneclaw-cli"))
    );

    // Another account, an agent, and a wrong code approve nothing.
    let by_eve = app.post("/v1/auth/device/approve", Some(&eve.token), json!({"user_code": user_code})).await;
    assert_eq!(by_eve.status, 404, "{}", by_eve.text);
    let agent = app.register_agent(&ada.token, "a", json!({})).await;
    let agent_token = app.agent_token(&agent).await;
    let by_agent = app.post("/v1/auth/device/approve", Some(&agent_token), json!({"user_code": user_code})).await;
    assert_eq!(by_agent.status, 403);
    assert_eq!(
        app.post("/v1/auth/device/approve", Some(&ada.token), json!({"user_code": "BCDF-GHJK"})).await.status,
        404
    );
    assert_eq!(app.post("/v1/auth/device/approve", None, json!({"user_code": user_code})).await.status, 401);

    // A token exchanged for an API key may not approve: the session would outlive the key.
    let key = app.post("/v1/auth/api-keys", Some(&ada.token), json!({"name": "ci"})).await;
    let exchanged = app.post("/v1/auth/api-key-token", None, json!({"api_key": key.body["api_key"]})).await;
    let key_token = exchanged.body["access_token"].as_str().unwrap().to_owned();
    let by_key = app.post("/v1/auth/device/approve", Some(&key_token), json!({"user_code": user_code})).await;
    assert_eq!(by_key.status, 403, "{}", by_key.text);
    let approved = app.post("/v1/auth/device/approve", Some(&ada.token), json!({"user_code": user_code})).await;
    assert_eq!((approved.status, approved.body["status"].as_str()), (200, Some("approved")), "{}", approved.text);
    assert_eq!(app.post("/v1/auth/device/deny", Some(&ada.token), json!({"user_code": user_code})).await.status, 404);
    app.clock.advance(time::Duration::seconds(6));
    let session = poll_for_session(&app, &device_code).await;
    assert!(session.get("error").is_none(), "{session}");
    assert_eq!(session["email"], "device-ada@example.com");
    let access = session["access_token"].as_str().unwrap();
    assert_eq!(app.get("/v1/auth/me", access).await.body["email"], "device-ada@example.com");
    let refreshed = app.post("/v1/auth/refresh", None, json!({"refresh_token": session["refresh_token"]})).await;
    assert_eq!(refreshed.status, 200, "the session renews: {}", refreshed.text);
    app.clock.advance(time::Duration::seconds(6));
    assert_eq!(poll(&app, &device_code).await["error"], "expired_token", "one session per code");

    let events = app.audit_events(&ada).await;
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"auth.device_approve") && actions.contains(&"auth.device_login"), "{actions:?}");
    let text = serde_json::to_string(&events.iter().map(|e| &e.details).collect::<Vec<_>>()).unwrap();
    assert!(!text.contains(&device_code), "the device code is never recorded");
}

#[tokio::test]
async fn denied_expired_unknown_and_malformed_codes_give_no_session() {
    let app = spawn_app().await;
    let ada = app.signup("device-deny@example.com").await;
    let start =
        || app.post("/v1/auth/device/code", None, json!({"client_id": "cli", "email": "device-deny@example.com"}));
    let denied = start().await;
    let code = denied.body["user_code"].as_str().unwrap();
    assert_eq!(app.post("/v1/auth/device/deny", Some(&ada.token), json!({"user_code": code})).await.status, 200);
    assert_eq!(poll(&app, denied.body["device_code"].as_str().unwrap()).await["error"], "access_denied");

    let late = start().await;
    app.clock.advance(time::Duration::seconds(601));
    let code = late.body["user_code"].as_str().unwrap();
    assert_eq!(app.post("/v1/auth/device/approve", Some(&ada.token), json!({"user_code": code})).await.status, 404);
    assert_eq!(poll(&app, late.body["device_code"].as_str().unwrap()).await["error"], "expired_token");
    assert_eq!(poll(&app, "ocd_not-a-real-code").await["error"], "expired_token");
    assert_eq!(poll(&app, "anything").await["error"], "expired_token");

    for body in [
        json!({"client_id": "", "email": "a@example.com"}),
        json!({"client_id": "x", "email": "not-an-email"}),
        json!({"client_id": "x".repeat(101), "email": "a@example.com"}),
        json!({"client_id": "\u{202e}ilc-walceno", "email": "a@example.com"}),
        json!({"client_id": "one\u{200b}claw", "email": "a@example.com"}),
        json!({"email": "a@example.com"}),
    ] {
        assert_eq!(app.post("/v1/auth/device/code", None, body.clone()).await.status, 400, "{body}");
    }
    let wrong_grant =
        app.post("/v1/auth/device/token", None, json!({"device_code": "ocd_x", "grant_type": "password"})).await;
    assert_eq!(wrong_grant.status, 400);
    assert_eq!(app.get("/v1/auth/device/code/NOPE", &ada.token).await.status, 404);
    // Guessing user codes spends the address's credential checks like any other guess.
    let mut statuses = Vec::new();
    for _ in 0..40 {
        statuses.push(app.get("/v1/auth/device/code/BCDF-GHJK", &ada.token).await.status);
    }
    assert!(statuses.contains(&429), "status lookups are rate limited: {statuses:?}");
}

#[tokio::test]
async fn the_device_page_approves_a_waiting_login_for_the_signed_in_account() {
    use crate::dashboard::{Browser, csrf_of};
    let app = spawn_app().await;
    let ada = app.signup("device-page@example.com").await;
    let started = app.post("/v1/auth/device/code", None, json!({"client_id": "oneclaw-cli", "email": ada.email})).await;
    let user_code = started.body["user_code"].as_str().unwrap().to_owned();
    let mut browser = Browser::new(&app);
    assert_eq!(browser.get("/device").await.status, 303, "signed-in people only");
    browser.sign_in(&ada.email, &ada.password).await;
    let typed = browser.get("/device").await;
    assert!(typed.html.contains("name=\"code\""), "{}", typed.html);
    let page = browser.get(&format!("/device?code={}", user_code.to_lowercase().replace('-', ""))).await;
    assert!(
        page.html.contains("oneclaw-cli") && page.html.contains(&user_code) && page.html.contains(">Approve<"),
        "{}",
        page.html
    );
    let csrf = csrf_of(&page.html);
    let forged = browser.post("/device/approve", &[("csrf", "forged"), ("code", &user_code)], false).await;
    assert_eq!(forged.status, 403);
    let approved = browser.post("/device/approve", &[("csrf", &csrf), ("code", &user_code)], false).await;
    assert!(approved.html.contains("Approved: the command line is signed in"), "{}", approved.html);
    app.clock.advance(time::Duration::seconds(6));
    let session = poll(&app, started.body["device_code"].as_str().unwrap()).await;
    assert!(session["access_token"].is_string(), "{session}");
    assert!(session.get("refresh_token").is_none(), "1claw's DeviceTokenResponse has none: {session}");
    let again = browser.post("/device/deny", &[("csrf", &csrf), ("code", &user_code)], false).await;
    assert!(again.html.contains("No login is waiting for that code"), "{}", again.html);
}
