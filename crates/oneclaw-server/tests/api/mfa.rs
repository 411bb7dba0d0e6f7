//! TOTP second factor through the API: enrolment confirmed by a code, sign-in answering a
//! challenge, each code and each challenge good once, recovery codes, turning it off.

use oneclaw_testkit::{TestApp, spawn_app};
use serde_json::{Value, json};

fn code_at(app: &TestApp, secret: &str) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret).unwrap();
    let totp = totp_rs::Builder::new().with_secret(secret).with_account_name("t").build().unwrap();
    let now = u64::try_from(app.clock.now_utc().unix_timestamp()).unwrap();
    totp.generate(now).to_string()
}

async fn login(app: &TestApp, email: &str, password: &str) -> Value {
    app.post("/v1/auth/token", None, json!({"email": email, "password": password})).await.body
}

#[tokio::test]
async fn totp_guards_sign_in_and_every_code_works_once() {
    let app = spawn_app().await;
    let owner = app.signup("mfa@example.com").await;
    assert_eq!(app.get("/v1/auth/mfa/status", &owner.token).await.body["enabled"], false);

    let setup = app.post("/v1/auth/mfa/setup", Some(&owner.token), json!({})).await;
    let secret = setup.body["secret"].as_str().unwrap().to_owned();
    assert!(setup.body["otpauth_uri"].as_str().unwrap().starts_with("otpauth://totp/oneclaw"), "{}", setup.text);
    let wrong = app.post("/v1/auth/mfa/verify-setup", Some(&owner.token), json!({"code": "000000"})).await;
    assert_eq!(wrong.status, 400);
    let confirmed =
        app.post("/v1/auth/mfa/verify-setup", Some(&owner.token), json!({"code": code_at(&app, &secret)})).await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    let recovery: Vec<String> =
        confirmed.body["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    assert_eq!(recovery.len(), 10);
    assert_eq!(app.get("/v1/auth/me", &owner.token).await.status, 401, "turning TOTP on ends older tokens");

    // Sign-in now answers a challenge, not tokens.
    let challenge = login(&app, &owner.email, &owner.password).await;
    assert_eq!(challenge["mfa_required"], true);
    assert!(challenge.get("access_token").is_none());
    let token = challenge["mfa_token"].as_str().unwrap().to_owned();
    // The code that confirmed enrolment is spent: the same time step is refused, and the
    // wrong try spends the challenge too.
    let reused =
        app.post("/v1/auth/mfa/verify", None, json!({"mfa_token": token, "code": code_at(&app, &secret)})).await;
    assert_eq!(reused.status, 401, "{}", reused.text);
    app.clock.advance(time::Duration::seconds(30));
    let spent =
        app.post("/v1/auth/mfa/verify", None, json!({"mfa_token": token, "code": code_at(&app, &secret)})).await;
    assert_eq!(spent.status, 401, "a challenge is good for one try");

    let token = login(&app, &owner.email, &owner.password).await["mfa_token"].as_str().unwrap().to_owned();
    let signed =
        app.post("/v1/auth/mfa/verify", None, json!({"mfa_token": token, "code": code_at(&app, &secret)})).await;
    assert_eq!(signed.status, 200, "{}", signed.text);
    let access = signed.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/v1/auth/mfa/status", &access).await.body["enabled"], true);

    // A recovery code works once.
    for expected in [200, 401] {
        let token = login(&app, &owner.email, &owner.password).await["mfa_token"].as_str().unwrap().to_owned();
        let by_recovery = app.post("/v1/auth/mfa/verify", None, json!({"mfa_token": token, "code": recovery[0]})).await;
        assert_eq!(by_recovery.status, expected, "{}", by_recovery.text);
    }

    // Off, with a code (the password alone is not enough).
    let no_code = app
        .call(reqwest::Method::DELETE, "/v1/auth/mfa", Some(&access), Some(json!({"password": owner.password})))
        .await;
    assert_eq!(no_code.status, 400);
    app.clock.advance(time::Duration::seconds(30));
    let off = app
        .call(reqwest::Method::DELETE, "/v1/auth/mfa", Some(&access), Some(json!({"code": code_at(&app, &secret)})))
        .await;
    assert_eq!(off.status, 204, "{}", off.text);
    let fresh = login(&app, &owner.email, &owner.password).await["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/v1/auth/me", &access).await.status, 401, "turning TOTP off ends older tokens");
    let events = app.audit_events(&oneclaw_testkit::Account { token: fresh, ..owner.clone() }).await;
    assert!(
        events.iter().any(|e| e.action == "auth.mfa_enable") && events.iter().any(|e| e.action == "auth.mfa_disable")
    );
}
