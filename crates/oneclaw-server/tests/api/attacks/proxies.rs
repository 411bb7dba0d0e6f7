//! Item 10: IP rules and allowlists used the TCP peer, and `X-Forwarded-*` was believed from
//! anyone. Now only `ONECLAW_TRUSTED_PROXIES` may speak for the client.

use oneclaw_testkit::{TestApp, spawn_app, spawn_app_with};
use reqwest::Method;
use serde_json::json;

async fn allowlisted_agent(app: &TestApp) -> (String, String) {
    let owner = app.signup("proxy-owner@example.com").await;
    let vault = app.create_vault(&owner.token, "v").await;
    app.put_secret(&owner.token, &vault, "office/key", "office-only").await;
    let agent = app.register_agent(&owner.token, "office-bot", json!({})).await;
    let granted = app
        .grant(
            &owner.token,
            &vault,
            ("agent", &agent.id),
            "office/**",
            &["read"],
            json!({"conditions": {"ip_allowlist": ["10.0.0.0/8"]}}),
        )
        .await;
    assert_eq!(granted.status, 201, "{}", granted.text);
    (vault, app.agent_token(&agent).await)
}

async fn read_as(app: &TestApp, vault: &str, token: &str, forwarded_for: Option<&str>) -> u16 {
    let mut request = app
        .http
        .request(Method::GET, format!("{}/v1/vaults/{vault}/secrets/office/key", app.base_url))
        .bearer_auth(token);
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn a_forged_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = spawn_app().await;
    let (vault, token) = allowlisted_agent(&app).await;
    assert_eq!(read_as(&app, &vault, &token, None).await, 403);
    assert_eq!(read_as(&app, &vault, &token, Some("10.1.2.3")).await, 403, "anyone can write that header");
}

#[tokio::test]
async fn a_trusted_proxy_speaks_for_the_client_rightmost_untrusted_first() {
    let app = spawn_app_with(|config| config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    let (vault, token) = allowlisted_agent(&app).await;
    assert_eq!(read_as(&app, &vault, &token, Some("10.1.2.3")).await, 200, "behind the proxy: the real client");
    assert_eq!(read_as(&app, &vault, &token, Some("10.1.2.3, 192.0.2.50")).await, 403, "a forged left entry loses");
    assert_eq!(read_as(&app, &vault, &token, None).await, 403, "the proxy's own address is not in the allowlist");
}
