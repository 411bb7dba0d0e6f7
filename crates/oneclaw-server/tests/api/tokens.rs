//! Token checks: missing, malformed, expired, forged, `alg: none`.

use oneclaw_testkit::spawn_app;
use reqwest::Method;
use serde_json::json;

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn requests_without_a_valid_bearer_are_refused() {
    let app = spawn_app().await;
    let none = app.call(Method::GET, "/v1/vaults", None, None).await;
    assert_eq!(none.status, 401);
    assert_eq!(none.headers["www-authenticate"], "Bearer");
    for token in ["garbage", "a.b.c", "", "1ck_notatoken"] {
        let response = app.get("/v1/vaults", token).await;
        assert_eq!(response.status, 401, "token {token:?}: {}", response.text);
    }
    let basic = app.http.get(format!("{}/v1/vaults", app.base_url)).basic_auth("u", Some("p")).send().await.unwrap();
    assert_eq!(basic.status().as_u16(), 401);
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let app = spawn_app().await;
    let account = app.signup("expiry@example.com").await;
    assert_eq!(app.get("/v1/vaults", &account.token).await.status, 200);
    app.clock.advance(time::Duration::seconds(901));
    let response = app.get("/v1/vaults", &account.token).await;
    assert_eq!(response.status, 401);
    assert!(response.detail().contains("expired"), "{}", response.text);
}

#[tokio::test]
async fn tokens_from_another_server_or_with_alg_none_are_refused() {
    let app = spawn_app().await;
    let other = spawn_app().await;
    let account = other.signup("forged@example.com").await;
    assert_eq!(app.get("/v1/vaults", &account.token).await.status, 401, "signed by another key");

    let mine = app.signup("mine@example.com").await;
    let payload = mine.token.split('.').nth(1).unwrap();
    let alg_none = format!("{}.{payload}.", b64(br#"{"alg":"none","typ":"JWT"}"#));
    assert_eq!(app.get("/v1/vaults", &alg_none).await.status, 401);

    // A valid signature over a tampered payload.
    let parts: Vec<&str> = mine.token.split('.').collect();
    let mut claims: serde_json::Value = {
        use base64::Engine;
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap()
    };
    claims["exp"] = json!(claims["exp"].as_i64().unwrap() + 100_000);
    let tampered = format!("{}.{}.{}", parts[0], b64(claims.to_string().as_bytes()), parts[2]);
    assert_eq!(app.get("/v1/vaults", &tampered).await.status, 401);
}
