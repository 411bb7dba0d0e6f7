//! Item 9: TOTP could be re-enrolled with an access token alone while it was on, and turning
//! it off had no attempt limit and audited no failures.

use oneclaw_testkit::{TestApp, spawn_app};
use reqwest::Method;
use serde_json::json;

fn code_at(app: &TestApp, secret: &str) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret).unwrap();
    let totp = totp_rs::Builder::new().with_secret(secret).with_account_name("t").build().unwrap();
    totp.generate(u64::try_from(app.clock.now_utc().unix_timestamp()).unwrap()).to_string()
}

#[tokio::test]
async fn re_enrolment_needs_a_current_code_and_wrong_codes_are_audited_and_limited() {
    let app = spawn_app().await;
    let owner = app.signup("mfa-attack@example.com").await;
    let setup = app.post("/v1/auth/mfa/setup", Some(&owner.token), json!({})).await;
    let secret = setup.body["secret"].as_str().unwrap().to_owned();
    let on = app.post("/v1/auth/mfa/verify-setup", Some(&owner.token), json!({"code": code_at(&app, &secret)})).await;
    assert_eq!(on.status, 200, "{}", on.text);
    assert_eq!(app.get("/v1/auth/me", &owner.token).await.status, 401, "tokens from before TOTP end");

    // A thief steals an access token of a session signed in with TOTP, and tries to move the
    // factor to their own phone with it alone.
    app.clock.advance(time::Duration::seconds(30));
    let challenge = app.post("/v1/auth/token", None, json!({"email": owner.email, "password": owner.password})).await;
    let signed = app
        .post(
            "/v1/auth/mfa/verify",
            None,
            json!({"mfa_token": challenge.body["mfa_token"], "code": code_at(&app, &secret)}),
        )
        .await;
    assert_eq!(signed.status, 200, "{}", signed.text);
    let owner =
        oneclaw_testkit::Account { token: signed.body["access_token"].as_str().unwrap().to_owned(), ..owner.clone() };
    let stolen = app.post("/v1/auth/mfa/setup", Some(&owner.token), json!({})).await;
    assert_eq!(stolen.status, 400, "{}", stolen.text);
    assert!(stolen.body.get("secret").is_none());
    let guessed = app.post("/v1/auth/mfa/setup", Some(&owner.token), json!({"code": "123456"})).await;
    assert_eq!(guessed.status, 400);
    // With a current code (of a time step not yet used) re-enrolment works.
    app.clock.advance(time::Duration::seconds(30));
    let replaced = app.post("/v1/auth/mfa/setup", Some(&owner.token), json!({"code": code_at(&app, &secret)})).await;
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    assert!(replaced.body["secret"].is_string());

    // Guessing a code to turn TOTP off is audited and stops at the account limit.
    let mut statuses = Vec::new();
    for n in 0..12 {
        let answer = app
            .call(Method::DELETE, "/v1/auth/mfa", Some(&owner.token), Some(json!({"code": format!("{n:06}")})))
            .await;
        statuses.push(answer.status);
    }
    assert!(statuses.contains(&400) && statuses.last() == Some(&429), "{statuses:?}");
    let failures = app
        .audit_events(&owner)
        .await
        .into_iter()
        .filter(|e| e.action == "auth.failure" && e.details["method"] == "totp")
        .count();
    assert!(failures >= 9, "each wrong code is audited: {failures}");
    assert_eq!(app.get("/v1/auth/mfa/status", &owner.token).await.body["enabled"], true, "still on");
}
