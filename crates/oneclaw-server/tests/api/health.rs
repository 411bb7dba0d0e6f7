use oneclaw_testkit::spawn_app;
use reqwest::Method;

#[tokio::test]
async fn health_reports_status_and_version() {
    let app = spawn_app().await;
    let response = app.call(Method::GET, "/v1/health", None, None).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body["status"], "healthy");
    assert_eq!(response.body["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn public_keys_are_published_in_both_forms() {
    let app = spawn_app().await;
    let jwks = app.call(Method::GET, "/.well-known/jwks.json", None, None).await;
    assert_eq!(jwks.status, 200);
    let key = &jwks.body["keys"][0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    assert!(key["kid"].as_str().is_some_and(|kid| !kid.is_empty()));
    let raw = app.call(Method::GET, "/v1/auth/jwt-public-key", None, None).await;
    assert_eq!(raw.status, 200);
    assert_eq!(raw.body["alg"], "EdDSA");
    assert_eq!(raw.body["public_key_base64"].as_str().unwrap().len(), 44, "32 bytes in standard base64");
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_problem_details() {
    let app = spawn_app().await;
    let missing = app.call(Method::GET, "/v1/nothing-here", None, None).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["status"], 404);
    assert_eq!(missing.headers["content-type"], "application/problem+json");
    let wrong_method = app.call(Method::PATCH, "/v1/health", None, None).await;
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.body["status"], 405);
}

#[tokio::test]
async fn responses_are_never_cached_nor_sniffed_and_name_their_request() {
    let app = spawn_app().await;
    let refused = app.call(Method::GET, "/v1/vaults", Some("not-a-token"), None).await;
    assert_eq!(refused.status, 401);
    for response in [app.call(Method::GET, "/v1/health", None, None).await, refused] {
        assert_eq!(response.headers["cache-control"], "no-store");
        assert_eq!(response.headers["x-content-type-options"], "nosniff");
        let id = response.headers["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(id.len(), 32, "{id}");
        if response.status == 401 {
            assert_eq!(response.body["request_id"], id.as_str(), "the problem names the same request");
        }
    }
}
