//! Event webhooks (issue 18) against a real HTTP receiver on 127.0.0.1: signed deliveries
//! written with their audit records, retried with backoff until accepted, kept while the
//! receiver is down, and private targets refused without the allow setting.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, KeyInit, Mac};
use oneclaw_server::webhooks::WebhookSender;
use oneclaw_testkit::{TestApp, spawn_app, spawn_app_with};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use time::Duration;

/// What the receiver got, and how many of the first requests it answers 500.
#[derive(Default)]
struct Received {
    requests: Vec<(HeaderMap, String)>,
    fail_first: usize,
}

type Receiver = Arc<Mutex<Received>>;

async fn receive(State(state): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    let mut received = state.lock().unwrap();
    received.requests.push((headers, body));
    if received.requests.len() <= received.fail_first { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::OK }
}

/// A receiver on a free loopback port; its URL.
async fn receiver(fail_first: usize) -> (Receiver, String) {
    let state: Receiver = Arc::new(Mutex::new(Received { requests: Vec::new(), fail_first }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook?token=receiver-query-token", listener.local_addr().unwrap());
    let app = Router::new().route("/hook", post(receive)).with_state(Arc::clone(&state));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (state, url)
}

async fn private_app() -> TestApp {
    spawn_app_with(|config| config.webhook_allow_private = true).await
}

async fn register(app: &TestApp, token: &str, url: &str, events: Value) -> (String, String) {
    let made = app.post("/v1/webhooks", Some(token), json!({"url": url, "events": events})).await;
    assert_eq!(made.status, 201, "{}", made.text);
    let secret = made.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    (made.body["id"].as_str().unwrap().to_owned(), secret)
}

async fn log(app: &TestApp, token: &str, webhook: &str) -> Vec<Value> {
    let listed = app.get(&format!("/v1/webhooks/{webhook}/deliveries"), token).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    listed.body["deliveries"].as_array().unwrap().clone()
}

/// The documented check a receiver makes: HMAC-SHA256 over "{t}.{body}", hex, in
/// `X-Oneclaw-Signature: t=…,v1=…`.
fn verifies(secret: &str, headers: &HeaderMap, body: &str) -> bool {
    let header = headers.get("x-oneclaw-signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let Some((t, v1)) = header.split_once(",v1=") else { return false };
    let timestamp = t.trim_start_matches("t=");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    expected == v1
}

#[tokio::test]
async fn an_event_is_signed_retried_with_backoff_and_accepted_once() {
    let app = private_app().await;
    let owner = app.signup("hooks@example.com").await;
    let (received, url) = receiver(3).await;
    let (webhook, secret) = register(&app, &owner.token, &url, json!(["agent.created"])).await;
    let listed = app.get("/v1/webhooks", &owner.token).await;
    assert_eq!(listed.body["webhooks"][0]["url"], url.as_str());
    assert!(!listed.text.contains(&secret), "the secret is shown once");

    let agent = app.register_agent(&owner.token, "announced", json!({})).await;
    let vault = app.create_vault(&owner.token, "not-announced").await;
    assert!(!vault.is_empty());
    let sender = WebhookSender::new(true);
    let mut waits = Vec::new();
    for attempt in 1..=4 {
        assert_eq!(sender.deliver_due(&app.core).await.unwrap(), 1, "attempt {attempt} was due");
        // Nothing else is due until the backoff has passed.
        assert_eq!(sender.deliver_due(&app.core).await.unwrap(), 0);
        let entries = log(&app, &owner.token, &webhook).await;
        assert_eq!(entries.len(), 1, "only the subscribed event: {entries:?}");
        assert_eq!(entries[0]["attempts"], attempt);
        if attempt < 4 {
            assert_eq!(entries[0]["status"], "pending");
            assert_eq!(entries[0]["last_status"], 500);
            assert!(!entries[0]["last_error"].as_str().unwrap().contains("receiver-query-token"));
            let wait = 2_i64.pow(attempt);
            waits.push(wait);
            app.clock.advance(Duration::seconds(wait));
        } else {
            assert_eq!(entries[0]["status"], "delivered", "{entries:?}");
        }
    }
    assert_eq!(waits, [2, 4, 8]);
    let received = received.lock().unwrap();
    assert_eq!(received.requests.len(), 4);
    let (headers, body) = &received.requests[3];
    assert!(verifies(&secret, headers, body), "the signature verifies with the documented scheme");
    assert!(!verifies("whsec_wrong", headers, body));
    let event: Value = serde_json::from_str(body).unwrap();
    assert_eq!(event["type"], "agent.created");
    assert_eq!(event["data"]["resource_id"], agent.id.as_str());
    assert_eq!(headers["x-oneclaw-event"], "agent.created");
    // The same event each time: a receiver can drop repeats by X-Oneclaw-Delivery.
    let ids: std::collections::HashSet<_> =
        received.requests.iter().map(|(h, _)| h["x-oneclaw-delivery"].clone()).collect();
    assert_eq!(ids.len(), 1);
}

#[tokio::test]
async fn a_receiver_that_is_down_leaves_the_delivery_pending_not_lost() {
    let app = private_app().await;
    let owner = app.signup("hooks-down@example.com").await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/gone", closed.local_addr().unwrap());
    drop(closed);
    let (webhook, _) = register(&app, &owner.token, &url, json!(["secret.read", "policy.changed"])).await;
    let vault = app.create_vault(&owner.token, "v").await;
    assert_eq!(app.put_secret(&owner.token, &vault, "k", "value-never-in-a-payload").await.status, 201);
    assert_eq!(app.get(&format!("/v1/vaults/{vault}/secrets/k"), &owner.token).await.status, 200);
    let sender = WebhookSender::new(true);
    for _ in 0..3 {
        sender.deliver_due(&app.core).await.unwrap();
        app.clock.advance(Duration::minutes(2));
    }
    let entries = log(&app, &owner.token, &webhook).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(
        (entries[0]["event_type"].as_str(), entries[0]["status"].as_str()),
        (Some("secret.read"), Some("pending"))
    );
    assert_eq!(entries[0]["attempts"], 3);
    assert!(entries[0]["last_error"].as_str().unwrap().starts_with("not delivered"), "{entries:?}");
    // After a day of failures it is marked failed, and kept in the log.
    app.clock.advance(Duration::hours(25));
    sender.deliver_due(&app.core).await.unwrap();
    let signed = app.post("/v1/auth/token", None, json!({"email": owner.email, "password": owner.password})).await;
    let token = signed.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(log(&app, &token, &webhook).await[0]["status"], "failed");
}

#[tokio::test]
async fn private_targets_bad_events_and_non_admins_are_refused() {
    let app = spawn_app().await;
    let owner = app.signup("hooks-ssrf@example.com").await;
    for url in [
        "https://169.254.169.254/latest/meta-data",
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://10.0.0.5/hook",
        // IPv4 inside IPv6: IPv4-compatible loopback, NAT64 metadata, 6to4 loopback; a zone.
        "https://[::127.0.0.1]/",
        "https://[64:ff9b::a9fe:a9fe]/",
        "https://[2002:7f00:1::]/",
        // IPv4-translated loopback, local-use NAT64, benchmarking, reserved, IETF assignments.
        "https://[::ffff:0:7f00:1]/",
        "https://[64:ff9b:1::a9fe:a9fe]/",
        "https://198.18.0.1/",
        "https://240.0.0.1/",
        "https://192.0.0.8/",
        "https://[fe80::1%25eth0]/",
        "https://localhost/hook",
        "http://example.com/hook",
        "https://user@example.com/hook",
        "ftp://example.com",
    ] {
        let made = app.post("/v1/webhooks", Some(&owner.token), json!({"url": url, "events": ["secret.read"]})).await;
        assert_eq!(made.status, 400, "{url}: {}", made.text);
    }
    let unknown = app
        .post(
            "/v1/webhooks",
            Some(&owner.token),
            json!({"url": "https://hooks.example.com/x", "events": ["secret.written"]}),
        )
        .await;
    assert_eq!(unknown.status, 400);
    assert_eq!(app.get("/v1/webhooks", &owner.token).await.body["webhooks"], json!([]));
    let member = app.invite_and_join(&owner.token, "hooks-member@example.com", "member").await;
    let by_member = app
        .post(
            "/v1/webhooks",
            Some(&member.token),
            json!({"url": "https://hooks.example.com/x", "events": ["secret.read"]}),
        )
        .await;
    assert_eq!(by_member.status, 403);
    let agent = app.register_agent(&owner.token, "a", json!({})).await;
    let agent_token = app.agent_token(&agent).await;
    assert_eq!(app.get("/v1/webhooks", &agent_token).await.status, 403);
    // A public name is accepted; it is checked again after resolution at each delivery.
    let (id, _) = register(&app, &owner.token, "https://hooks.example.com/x", json!(["secret.read"])).await;
    let patched = app
        .call(
            reqwest::Method::PATCH,
            &format!("/v1/webhooks/{id}"),
            Some(&owner.token),
            Some(json!({"is_active": false})),
        )
        .await;
    assert_eq!(patched.body["is_active"], false, "{}", patched.text);
    assert_eq!(app.delete(&format!("/v1/webhooks/{id}"), &owner.token).await.status, 204);
    assert_eq!(app.get(&format!("/v1/webhooks/{id}"), &owner.token).await.status, 404);
}

#[tokio::test]
async fn a_name_that_resolves_to_loopback_is_refused_at_delivery() {
    let app = spawn_app().await;
    let owner = app.signup("hooks-rebind@example.com").await;
    // The machine's own name passes registration (it is a name, not an address) and resolves,
    // when the delivery is sent, to a loopback or private address, as host names do.
    let output = std::process::Command::new("hostname").output().unwrap();
    let name = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    let resolved: Vec<_> =
        tokio::net::lookup_host((name.as_str(), 443)).await.expect("the host name resolves").collect();
    assert!(
        resolved.iter().all(|addr| !oneclaw_core::services::is_public(addr.ip())),
        "this test needs {name} to resolve to a private or loopback address: {resolved:?}"
    );
    let (webhook, _) = register(&app, &owner.token, &format!("https://{name}/hook"), json!(["agent.created"])).await;
    app.register_agent(&owner.token, "a", json!({})).await;
    WebhookSender::new(false).deliver_due(&app.core).await.unwrap();
    let entries = log(&app, &owner.token, &webhook).await;
    assert_eq!(entries[0]["status"], "pending");
    assert!(entries[0]["last_error"].as_str().unwrap().starts_with("refused:"), "{entries:?}");
}
