//! Every answer names its request (`X-Request-Id`), and every error is ProblemDetails whose
//! `type` is a stable code (1claw's where 1claw has one), never `about:blank`, carrying the
//! same request id.

use oneclaw_testkit::spawn_app;
use oneclaw_types::problem::ErrorCode;
use serde_json::json;

fn request_id(response: &oneclaw_testkit::Response) -> String {
    let id = response.headers.get("x-request-id").and_then(|v| v.to_str().ok()).expect("an X-Request-Id header");
    assert_eq!(id.len(), 32, "{id}");
    id.to_owned()
}

#[tokio::test]
async fn errors_carry_a_stable_code_and_the_request_id() {
    let app = spawn_app().await;
    let owner = app.signup("codes@example.com").await;
    let vault = app.create_vault(&owner.token, "v").await;
    let agent = app.register_agent(&owner.token, "a", json!({})).await;
    let agent_token = app.agent_token(&agent).await;

    let invalid = app.post("/v1/vaults", Some(&owner.token), json!({"name": ""})).await;
    let unauthenticated = app.get("/v1/vaults", "not-a-token").await;
    let forbidden = app.get(&format!("/v1/vaults/{vault}/secrets/x"), &agent_token).await;
    let missing = app.get(&format!("/v1/vaults/{vault}/secrets/nothing-here"), &owner.token).await;
    let no_route = app.get("/v1/no-such-thing", &owner.token).await;
    let cases = [
        (&invalid, ErrorCode::Validation),
        (&unauthenticated, ErrorCode::Unauthenticated),
        (&forbidden, ErrorCode::Forbidden),
        (&missing, ErrorCode::NotFound),
        (&no_route, ErrorCode::NotFound),
    ];
    let mut seen = std::collections::HashSet::new();
    for (response, code) in cases {
        assert_eq!(response.status, code.status(), "{}", response.text);
        assert_eq!(response.body["type"], code.as_str(), "{}", response.text);
        assert_eq!(response.body["title"], code.title());
        let id = request_id(response);
        assert_eq!(response.body["request_id"], id.as_str(), "the body names the same request");
        assert!(seen.insert(id), "each request has its own id");
    }
    // Successful answers are named too (so a report of a wrong answer finds its log lines).
    let fine = app.get("/v1/vaults", &owner.token).await;
    assert_eq!(fine.status, 200);
    assert!(seen.insert(request_id(&fine)));
}

/// One door (issue 14): the identity layer verifies a request's token once, and the metering
/// layer, the extractors and the handlers read what it found.
#[tokio::test]
async fn a_token_is_verified_exactly_once_per_request() {
    let app = oneclaw_testkit::spawn_app_with(|config| config.billing = true).await;
    let owner = app.signup("once@example.com").await;
    let vault = app.create_vault(&owner.token, "v").await;
    app.put_secret(&owner.token, &vault, "k", "value").await;
    let agent = app.register_agent(&owner.token, "a", json!({})).await;
    let agent_token = app.agent_token(&agent).await;
    let requests: Vec<(&str, String, &str)> = vec![
        ("GET", format!("/v1/vaults/{vault}/secrets/k"), owner.token.as_str()),
        ("GET", "/v1/vaults".to_owned(), owner.token.as_str()),
        ("GET", "/v1/auth/me".to_owned(), owner.token.as_str()),
        ("GET", format!("/v1/vaults/{vault}/secrets/k"), agent_token.as_str()),
        ("POST", "/v1/auth/refresh".to_owned(), owner.token.as_str()),
    ];
    for (method, path, token) in requests {
        let before = app.core.token_verifications();
        let response = match method {
            "GET" => app.get(&path, token).await,
            _ => app.post(&path, Some(token), json!({})).await,
        };
        assert!(response.status < 500, "{path}: {}", response.text);
        assert_eq!(app.core.token_verifications() - before, 1, "{method} {path}: {}", response.status);
    }
    // A public route with no token verifies nothing.
    let before = app.core.token_verifications();
    assert_eq!(app.get("/v1/health", "").await.status, 200);
    assert_eq!(app.core.token_verifications(), before);
}

/// The identity layer takes each surface's own credential only: the dashboard's cookie opens no
/// API route (a cookie rides along on cross-site requests), and a bearer opens no dashboard page.
#[tokio::test]
async fn the_dashboard_cookie_opens_no_api_route_and_a_bearer_no_page() {
    let app = spawn_app().await;
    let owner = app.signup("surfaces@example.com").await;
    let cookie = format!("oc_access={}", owner.token);
    let api = app.http.get(format!("{}/v1/vaults", app.base_url)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(api.status(), 401);
    let page = app.http.get(format!("{}/vaults", app.base_url)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(page.status(), 200, "the same token works as the dashboard's cookie");
    let no_redirect = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let bearer = no_redirect.get(format!("{}/vaults", app.base_url)).bearer_auth(&owner.token).send().await.unwrap();
    assert_eq!(bearer.status(), 303, "a bearer is sent to sign in");
}
