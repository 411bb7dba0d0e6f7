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
