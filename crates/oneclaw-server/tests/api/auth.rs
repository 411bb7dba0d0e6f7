use oneclaw_server::config::Signup;
use oneclaw_testkit::{spawn_app, spawn_app_with};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn signup_creates_an_owner_and_logs_them_in() {
    let app = spawn_app().await;
    let response = app
        .post(
            "/v1/auth/signup",
            None,
            json!({"email": "Ada@Example.com", "password": "correct horse", "display_name": "Ada"}),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["email"], "ada@example.com");
    assert_eq!(response.body["token_type"], "Bearer");
    let token = response.body["access_token"].as_str().unwrap();
    assert_eq!(token.split('.').count(), 3);
    let me = app.get("/v1/auth/me", token).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["email"], "ada@example.com");
    assert_eq!(me.body["display_name"], "Ada");
    assert_eq!(me.body["role"], "owner");
    assert_eq!(me.body["auth_method"], "password");
    assert_eq!(me.body["totp_enabled"], false);
}

#[tokio::test]
async fn signup_refuses_duplicates_and_bad_input() {
    let app = spawn_app().await;
    app.signup("dup@example.com").await;
    let again =
        app.post("/v1/auth/signup", None, json!({"email": "DUP@example.com", "password": "another password"})).await;
    assert_eq!(again.status, 409);
    for (body, field) in [
        (json!({"email": "not-an-email", "password": "long enough"}), "email"),
        (json!({"email": "a@b.c", "password": "short"}), "password"),
        (json!({"email": "a@b.c", "password": "long enough", "display_name": ""}), "display_name"),
    ] {
        let response = app.post("/v1/auth/signup", None, body).await;
        assert_eq!(response.status, 400, "{}", response.text);
        assert!(response.body["fields"][field].is_string(), "{}", response.text);
    }
    let missing = app.post("/v1/auth/signup", None, json!({"email": "a@b.c"})).await;
    assert_eq!(missing.status, 400);
    assert!(missing.detail().contains("password"), "{}", missing.text);
}

#[tokio::test]
async fn closed_signup_is_refused() {
    let app = spawn_app_with(|config| config.signup = Signup::Closed).await;
    app.signup("first@example.com").await;
    let response = app.post("/v1/auth/signup", None, json!({"email": "a@b.c", "password": "long enough"})).await;
    assert_eq!(response.status, 403);
    assert!(response.detail().contains("closed"));
}

#[tokio::test]
async fn login_answers_wrong_password_and_unknown_user_alike() {
    let app = spawn_app().await;
    let account = app.signup("login@example.com").await;
    let ok =
        app.post("/v1/auth/token", None, json!({"email": "LOGIN@example.com", "password": account.password})).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.body["token_type"], "Bearer");
    assert_eq!(ok.body["expires_in"], 900);
    assert!(ok.body["refresh_token"].as_str().unwrap().starts_with("ocr_"));

    let wrong =
        app.post("/v1/auth/token", None, json!({"email": "login@example.com", "password": "wrong password"})).await;
    let unknown =
        app.post("/v1/auth/token", None, json!({"email": "nobody@example.com", "password": "wrong password"})).await;
    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.status, 401);
    // Indistinguishable but for the id each request is given.
    let without_id = |body: &serde_json::Value| {
        let mut body = body.clone();
        body.as_object_mut().unwrap().remove("request_id");
        body
    };
    assert_eq!(without_id(&wrong.body), without_id(&unknown.body), "the two failures must be indistinguishable");
    let malformed = app.post("/v1/auth/token", None, json!({"email": 5, "password": "x"})).await;
    assert_eq!(malformed.status, 400);
}

#[tokio::test]
async fn refresh_works_with_a_refresh_token_once_and_with_a_bearer() {
    let app = spawn_app().await;
    let account = app.signup("refresh@example.com").await;
    let login = app.post("/v1/auth/token", None, json!({"email": account.email, "password": account.password})).await;
    let refresh = login.body["refresh_token"].as_str().unwrap().to_owned();

    let renewed = app.post("/v1/auth/refresh", None, json!({"refresh_token": refresh})).await;
    assert_eq!(renewed.status, 200, "{}", renewed.text);
    let next_refresh = renewed.body["refresh_token"].as_str().unwrap();
    assert_ne!(next_refresh, refresh);
    assert_eq!(app.get("/v1/auth/me", renewed.body["access_token"].as_str().unwrap()).await.status, 200);
    let replay = app.post("/v1/auth/refresh", None, json!({"refresh_token": refresh})).await;
    assert_eq!(replay.status, 401, "a used refresh token must not work twice");

    // The Python SDK sends no body at all, only the bearer.
    let bearer_only = app.call(Method::POST, "/v1/auth/refresh", Some(&account.token), None).await;
    assert_eq!(bearer_only.status, 200, "{}", bearer_only.text);
    assert_eq!(app.get("/v1/auth/me", bearer_only.body["access_token"].as_str().unwrap()).await.status, 200);
    let empty_json = app.call_bytes(Method::POST, "/v1/auth/refresh", Some(&account.token), Vec::new()).await;
    assert_eq!(empty_json.status, 200, "{}", empty_json.text);

    let nothing = app.call(Method::POST, "/v1/auth/refresh", None, None).await;
    assert_eq!(nothing.status, 401);
    let forged = app.post("/v1/auth/refresh", None, json!({"refresh_token": "ocr_forged"})).await;
    assert_eq!(forged.status, 401);
}

#[tokio::test]
async fn sign_out_revokes_the_token_and_its_session() {
    let app = spawn_app().await;
    let account = app.signup("signout@example.com").await;
    let login = app.post("/v1/auth/token", None, json!({"email": account.email, "password": account.password})).await;
    let token = login.body["access_token"].as_str().unwrap();
    let refresh = login.body["refresh_token"].as_str().unwrap();
    let out = app.delete("/v1/auth/token", token).await;
    assert_eq!(out.status, 204);
    assert!(out.text.is_empty());
    assert_eq!(app.get("/v1/auth/me", token).await.status, 401);
    assert_eq!(app.post("/v1/auth/refresh", None, json!({"refresh_token": refresh})).await.status, 401);
    // Other sessions are untouched.
    assert_eq!(app.get("/v1/auth/me", &account.token).await.status, 200);
}

#[tokio::test]
async fn profile_updates_are_validated_and_kept() {
    let app = spawn_app().await;
    let account = app.signup("profile@example.com").await;
    let updated = app
        .call(
            Method::PATCH,
            "/v1/auth/me",
            Some(&account.token),
            Some(json!({"display_name": "Grace", "marketing_emails": true})),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(updated.body["display_name"], "Grace");
    let me = app.get("/v1/auth/me", &account.token).await;
    assert_eq!(me.body["display_name"], "Grace");
    assert_eq!(me.body["marketing_emails"], true);
    let bad = app.call(Method::PATCH, "/v1/auth/me", Some(&account.token), Some(json!({"display_name": "  "}))).await;
    assert_eq!(bad.status, 400);
    assert_eq!(app.get("/v1/auth/me", &account.token).await.body["display_name"], "Grace");
}

#[tokio::test]
async fn changing_the_password_ends_every_session() {
    let app = spawn_app().await;
    let account = app.signup("pw@example.com").await;
    let other = app.post("/v1/auth/token", None, json!({"email": account.email, "password": account.password})).await;
    let other_token = other.body["access_token"].as_str().unwrap();

    let wrong = app
        .post(
            "/v1/auth/change-password",
            Some(&account.token),
            json!({"current_password": "nope nope", "new_password": "brand new pw"}),
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert_eq!(app.get("/v1/auth/me", &account.token).await.status, 200, "a refused change must change nothing");

    let short = app
        .post(
            "/v1/auth/change-password",
            Some(&account.token),
            json!({"current_password": account.password, "new_password": "short"}),
        )
        .await;
    assert_eq!(short.status, 400);

    let changed = app
        .post(
            "/v1/auth/change-password",
            Some(&account.token),
            json!({"current_password": account.password, "new_password": "brand new pw"}),
        )
        .await;
    assert_eq!(changed.status, 204, "{}", changed.text);
    assert!(changed.text.is_empty());
    assert_eq!(app.get("/v1/auth/me", &account.token).await.status, 401);
    assert_eq!(app.get("/v1/auth/me", other_token).await.status, 401);
    let old = app.post("/v1/auth/token", None, json!({"email": account.email, "password": account.password})).await;
    assert_eq!(old.status, 401);
    let new = app.post("/v1/auth/token", None, json!({"email": account.email, "password": "brand new pw"})).await;
    assert_eq!(new.status, 200);
}
