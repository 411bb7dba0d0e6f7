//! Billing: one counter per org and month across surfaces, quota headers, tier resource
//! limits, credits before x402, and x402 payments checked offline, spent once, and settled
//! through a facilitator (here `FacilitatorDouble`, a TEST DOUBLE of the facilitator HTTP API:
//! the real one submits to Base mainnet, which cannot run here).

use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use oneclaw_core::billing::Tier;
use oneclaw_core::ids::OrgId;
use oneclaw_core::principal::{RequestMeta, Surface};
use oneclaw_testkit::{TestApp, spawn_app_with};
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};

/// The payee and signed authorization of the reference vector (x402-billing.md §2): 1000
/// atomic units of USDC on Base, valid until 1,900,000,000, nonce 0.
pub(crate) const PAY_TO: &str = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";
pub(crate) const PAYER: &str = "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A";
const SIGNATURE: &str = "0x5f618409fd922c4beb68c648de00901bc1e1c4c6e0b1446312b1e6ac09124de2359eaf9a04047bc3d61e636adaeecd0683ecdac038b7eae600bd9ab85e0166ef1b";

/// TEST DOUBLE of an x402 facilitator (`POST /verify`, `POST /settle`): answers as the real
/// one does, with a switch to refuse or to be down.
pub(crate) struct FacilitatorDouble {
    pub(crate) url: String,
    /// 0 accept, 1 refuse settlement, 2 down (HTTP 503).
    pub(crate) mode: Arc<AtomicU8>,
    pub(crate) settled: Arc<AtomicU32>,
}

pub(crate) async fn facilitator() -> FacilitatorDouble {
    let mode = Arc::new(AtomicU8::new(0));
    let settled = Arc::new(AtomicU32::new(0));
    let (m1, m2, s) = (mode.clone(), mode.clone(), settled.clone());
    let app = axum::Router::new()
        .route(
            "/verify",
            post(move |axum::Json(body): axum::Json<Value>| {
                let mode = m1.load(Ordering::SeqCst);
                async move {
                    assert_eq!(body["paymentRequirements"]["payTo"], PAY_TO);
                    if mode == 2 {
                        return (axum::http::StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({})));
                    }
                    (axum::http::StatusCode::OK, axum::Json(json!({"isValid": true, "payer": PAYER})))
                }
            }),
        )
        .route(
            "/settle",
            post(move |axum::Json(_): axum::Json<Value>| {
                let mode = m2.load(Ordering::SeqCst);
                let settled = s.clone();
                async move {
                    match mode {
                        0 => {
                            settled.fetch_add(1, Ordering::SeqCst);
                            axum::Json(json!({"success": true, "transaction": "0xfeed", "network": "eip155:8453", "payer": PAYER}))
                        }
                        _ => axum::Json(json!({"success": false, "errorReason": "insufficient_funds", "transaction": "", "network": "eip155:8453"})),
                    }
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    FacilitatorDouble { url, mode, settled }
}

pub(crate) async fn billed_app(free: i64, pay_to: Option<&str>, facilitator_url: &str) -> TestApp {
    let (pay_to, facilitator_url) = (pay_to.map(str::to_owned), facilitator_url.to_owned());
    billed_app_with(free, move |config| {
        config.x402_pay_to = pay_to;
        config.x402_facilitator_url = facilitator_url;
    })
    .await
}

/// A second server on `first`'s database and master key, billing on with `free` requests a month.
pub(crate) async fn second_server_on(first: &TestApp, free: i64) -> TestApp {
    let (url, key) = (first.config.database_url.clone(), first.config.master_key_file.clone());
    billed_app_with(free, move |config| {
        config.database_url = url;
        config.master_key_file = key;
    })
    .await
}

/// A server with billing on and `free` requests a month, set up further by `adjust`.
async fn billed_app_with(free: i64, adjust: impl FnOnce(&mut oneclaw_server::ServerConfig)) -> TestApp {
    spawn_app_with(move |config| {
        config.billing = true;
        config.free_tier_requests = free;
        adjust(config);
    })
    .await
}

async fn org_of(app: &TestApp, token: &str) -> OrgId {
    let me = app.get("/v1/auth/me", token).await;
    let user =
        app.core.deps().store.user(oneclaw_core::ids::UserId(me.body["id"].as_str().unwrap().parse().unwrap())).await;
    user.unwrap().unwrap().org_id
}

fn header<'a>(response: &'a oneclaw_testkit::Response, name: &str) -> Option<&'a str> {
    response.headers.get(name).and_then(|v| v.to_str().ok())
}

/// The payment header for `amount` under the vector's authorization.
fn payment(amount: &str, signature: &str) -> String {
    payment_to(PAY_TO, amount, signature)
}

/// The same, claiming to accept requirements that pay `pay_to`.
fn payment_to(pay_to: &str, amount: &str, signature: &str) -> String {
    let accepted = json!({"scheme": "exact", "network": "eip155:8453", "amount": amount,
        "asset": "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", "payTo": pay_to, "maxTimeoutSeconds": 300,
        "extra": {"name": "USD Coin", "version": "2"}});
    let payload = json!({"x402Version": 2, "accepted": accepted, "payload": {"signature": signature, "authorization": {
        "from": PAYER, "to": PAY_TO, "value": "1000", "validAfter": "0", "validBefore": "1900000000",
        "nonce": "0x0000000000000000000000000000000000000000000000000000000000000000"}}});
    STANDARD.encode(payload.to_string())
}

async fn paid_get(app: &TestApp, path: &str, token: &str, header_name: &str, value: &str) -> oneclaw_testkit::Response {
    let response = app
        .http
        .get(format!("{}{path}", app.base_url))
        .bearer_auth(token)
        .header(header_name, value)
        .send()
        .await
        .unwrap();
    oneclaw_testkit::TestApp::read(response).await
}

#[tokio::test]
async fn every_surface_counts_on_one_counter_with_quota_headers() {
    let app = billed_app(1000, None, "http://127.0.0.1:9").await;
    let owner = app.signup("meter@example.com").await;
    let org = org_of(&app, &owner.token).await;
    let base = app.core.billing().usage(org).await.unwrap().used;
    let listed = app.get("/v1/vaults", &owner.token).await;
    assert_eq!(header(&listed, "x-ratelimit-requests-used"), Some((base + 1).to_string().as_str()));
    assert_eq!(header(&listed, "x-ratelimit-requests-limit"), Some("1000"));
    assert_eq!(header(&listed, "x-ratelimit-requests-percent"), Some("0"));
    assert!(header(&listed, "x-quota-warning").is_none());

    let vault = app.create_vault(&owner.token, "m").await;
    let agent = app.register_agent(&owner.token, "meter-bot", json!({})).await;
    let before = app.core.billing().usage(org).await.unwrap().used;
    // An MCP request (hosted) and an unauthenticated one: only the first counts.
    let mcp = app
        .http
        .post(format!("{}/mcp", app.base_url))
        .bearer_auth(&agent.key)
        .header("X-Vault-ID", &vault)
        .header("Accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        mcp.headers().get("x-ratelimit-requests-used").and_then(|v| v.to_str().ok()),
        Some((before + 1).to_string().as_str())
    );
    assert_eq!(app.call(Method::GET, "/v1/vaults", None, None).await.status, 401);
    assert_eq!(app.core.billing().usage(org).await.unwrap().used, before + 1);
}

#[tokio::test]
async fn two_servers_on_one_database_count_exactly() {
    let first = billed_app(1_000_000, None, "http://127.0.0.1:9").await;
    let second = second_server_on(&first, 1_000_000).await;
    let owner = first.signup("two@example.com").await;
    let org = org_of(&first, &owner.token).await;
    let start = first.core.billing().usage(org).await.unwrap().used;
    let mut tasks = Vec::new();
    for app in [Arc::new(first), Arc::new(second)] {
        for _ in 0..4 {
            let (app, token) = (app.clone(), owner.token.clone());
            tasks.push(tokio::spawn(async move {
                for _ in 0..25 {
                    assert_eq!(app.get("/v1/vaults", &token).await.status, 200);
                }
                app
            }));
        }
    }
    let mut apps = Vec::new();
    for task in tasks {
        apps.push(task.await.unwrap());
    }
    assert_eq!(apps[0].core.billing().usage(org).await.unwrap().used, start + 200, "200 requests, 200 counts");
}

#[tokio::test]
async fn a_tier_limits_resources_with_403_resource_limit_exceeded() {
    let app = billed_app(1000, None, "http://127.0.0.1:9").await;
    let owner = app.signup("limits@example.com").await;
    for i in 0..3 {
        app.create_vault(&owner.token, &format!("v{i}")).await;
    }
    let fourth = app.post("/v1/vaults", Some(&owner.token), json!({"name": "v3"})).await;
    assert_eq!(fourth.status, 403, "{}", fourth.text);
    assert_eq!(fourth.body["type"], "resource_limit_exceeded");
    assert!(fourth.detail().contains("3/3 on the free tier"), "{}", fourth.text);
    assert_eq!(app.get("/v1/vaults", &owner.token).await.body["vaults"].as_array().unwrap().len(), 3);
    let org = org_of(&app, &owner.token).await;
    // What can be done, with the org id the operator's command needs.
    assert!(fourth.detail().contains(&format!("oneclaw org set-tier --org {org} --tier pro")), "{}", fourth.text);
    app.core.billing().set_tier(org, Tier::Pro, &RequestMeta::internal(Surface::Cli)).await.unwrap();
    assert_eq!(app.post("/v1/vaults", Some(&owner.token), json!({"name": "v3"})).await.status, 201);
    let sub = app.get("/v1/billing/subscription", &owner.token).await;
    assert_eq!((sub.body["tier"].as_str(), sub.body["usage"]["vaults"]["used"].as_i64()), (Some("pro"), Some(4)));
}

#[tokio::test]
async fn past_the_allowance_credits_pay_first_then_a_402_asks_for_x402() {
    let fac = facilitator().await;
    let app = billed_app(3, Some(PAY_TO), &fac.url).await;
    let owner = app.signup("over@example.com").await;
    let vault = app.create_vault(&owner.token, "v").await; // 1
    app.put_secret(&owner.token, &vault, "k", "the-value").await; // 2
    let path = format!("/v1/vaults/{vault}/secrets/k");
    assert_eq!(app.get(&path, &owner.token).await.status, 200); // 3: the last free request

    let refused = app.get(&path, &owner.token).await;
    assert_eq!(refused.status, 402, "{}", refused.text);
    assert!(!refused.text.contains("the-value"));
    let required: Value =
        serde_json::from_slice(&STANDARD.decode(header(&refused, "payment-required").unwrap()).unwrap()).unwrap();
    assert_eq!(required["x402Version"], 2);
    let offer = &required["accepts"][0];
    assert_eq!(
        (offer["scheme"].as_str(), offer["network"].as_str(), offer["amount"].as_str()),
        (Some("exact"), Some("eip155:8453"), Some("1000"))
    );
    assert_eq!((offer["payTo"].as_str(), offer["extra"]["name"].as_str()), (Some(PAY_TO), Some("USD Coin")));
    assert_eq!(refused.body["accepts"][0]["maxAmountRequired"], "1000");
    assert_eq!(refused.body["description"], "read_secret");
    assert!(header(&refused, "x-quota-warning").is_some());
    // Free operations are still served past the allowance.
    assert_eq!(app.get("/v1/vaults", &owner.token).await.status, 200);

    let org = org_of(&app, &owner.token).await;
    app.core.billing().grant_credits(org, 10_000, "test grant", &RequestMeta::internal(Surface::Cli)).await.unwrap();
    let paid = app.get(&path, &owner.token).await;
    assert_eq!((paid.status, paid.body["value"].as_str()), (200, Some("the-value")), "{}", paid.text);
    let balance = app.get("/v1/billing/credits/balance", &owner.token).await;
    assert_eq!(balance.body["balance_usd"], "0.009");
    let ledger = app.get("/v1/billing/credits/transactions", &owner.token).await;
    assert_eq!(ledger.body["transactions"][0]["type"], "usage");
    let history = app.get("/v1/billing/payments", &owner.token).await;
    assert_eq!(
        (history.body["events"][0]["paid_with"].as_str(), history.body["events"][0]["price_usd"].as_str()),
        (Some("credits"), Some("0.001"))
    );
    assert!(app.audit_events(&owner).await.iter().any(|e| e.action == "billing.payment"));

    // With x402 chosen as the overage method, credits are left alone.
    let chosen = app
        .call(Method::PATCH, "/v1/billing/overage-method", Some(&owner.token), Some(json!({"method": "x402"})))
        .await;
    assert_eq!(chosen.body["overage_method"], "x402", "{}", chosen.text);
    assert_eq!(app.get(&path, &owner.token).await.status, 402);
    let bad = app
        .call(Method::PATCH, "/v1/billing/overage-method", Some(&owner.token), Some(json!({"method": "gold"})))
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(fac.settled.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_x402_payment_is_verified_spent_once_and_settled() {
    let fac = facilitator().await;
    let app = billed_app(2, Some(PAY_TO), &fac.url).await;
    let owner = app.signup("pay@example.com").await;
    let vault = app.create_vault(&owner.token, "v").await;
    app.put_secret(&owner.token, &vault, "k", "paid-value").await;
    let path = format!("/v1/vaults/{vault}/secrets/k");

    for (name, value, why) in [
        ("payment-signature", payment("1000", &SIGNATURE.replace("5f61", "5f62")), "signature"),
        ("payment-signature", payment("5000", SIGNATURE), "invalid_payment_requirements"),
        ("payment-signature", "not base64 or json".to_owned(), "invalid_payload"),
    ] {
        let refused = paid_get(&app, &path, &owner.token, name, &value).await;
        assert_eq!(refused.status, 402, "{why}: {}", refused.text);
        assert!(refused.body["error"].as_str().unwrap_or_default().contains(why), "{why}: {}", refused.text);
    }
    // The high-s twin of the valid signature.
    let n = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
    let twin = high_s_twin(SIGNATURE, n);
    let refused = paid_get(&app, &path, &owner.token, "payment-signature", &payment("1000", &twin)).await;
    assert!(refused.status == 402 && refused.text.contains("high s"), "{}", refused.text);

    let paid = paid_get(&app, &path, &owner.token, "payment-signature", &payment("1000", SIGNATURE)).await;
    assert_eq!((paid.status, paid.body["value"].as_str()), (200, Some("paid-value")), "{}", paid.text);
    let receipt: Value =
        serde_json::from_slice(&STANDARD.decode(header(&paid, "payment-response").unwrap()).unwrap()).unwrap();
    assert_eq!((receipt["success"].as_bool(), receipt["transaction"].as_str()), (Some(true), Some("0xfeed")));
    assert_eq!(fac.settled.load(Ordering::SeqCst), 1);

    let replay = paid_get(&app, &path, &owner.token, "x-payment", &payment("1000", SIGNATURE)).await;
    assert_eq!(replay.status, 402);
    assert!(replay.text.contains("already used"), "{}", replay.text);
    let payments = app.get("/v1/billing/payments", &owner.token).await;
    assert_eq!(
        (payments.body["events"][0]["paid_with"].as_str(), payments.body["events"][0]["reference"].as_str()),
        (Some("x402"), Some("0xfeed"))
    );
    let history = app.get("/v1/billing/history", &owner.token).await;
    assert_eq!(history.body["events"][0]["id"], payments.body["events"][0]["id"], "{}", history.text);
    assert!(history.body["events"][0].get("reference").is_none(), "1claw's UsageEvent has no reference");
    // Each paid request names its endpoint (vault ids, secret paths): the org's list is for its
    // owners and admins; anyone else sees their own (red-team finding).
    let member = app.invite_and_join(&owner.token, "billing-member@example.com", "member").await;
    for route in ["/v1/billing/history", "/v1/billing/payments"] {
        let seen = app.get(route, &member.token).await;
        assert_eq!((seen.status, &seen.body["events"]), (200, &json!([])), "{route}: {}", seen.text);
    }
    assert_eq!(fac.settled.load(Ordering::SeqCst), 1, "the replay settled nothing");

    // Long after the authorization's validBefore, it is expired.
    app.clock.advance(time::Duration::days(365 * 5));
    let token = app.post("/v1/auth/token", None, json!({"email": owner.email, "password": owner.password})).await;
    let token = token.body["access_token"].as_str().unwrap().to_owned();
    // A new month has a new allowance: use it up with free requests first.
    for _ in 0..2 {
        assert_eq!(app.get("/v1/vaults", &token).await.status, 200);
    }
    let expired = paid_get(&app, &path, &token, "payment-signature", &payment("1000", SIGNATURE)).await;
    assert!(expired.status == 402 && expired.text.contains("expired"), "{}", expired.text);
}

fn high_s_twin(signature: &str, n_hex: &str) -> String {
    let bytes = alloy_hex(signature);
    let n = num(n_hex);
    let s = num(&hex_of(&bytes[32..64]));
    let twin_s = sub(&n, &s);
    let mut twin = bytes.clone();
    twin[32..64].copy_from_slice(&twin_s);
    twin[64] = if bytes[64] == 27 { 28 } else { 27 };
    format!("0x{}", hex_of(&twin))
}

fn alloy_hex(text: &str) -> Vec<u8> {
    let text = text.trim_start_matches("0x");
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn num(hex: &str) -> [u8; 32] {
    let bytes = alloy_hex(hex);
    let mut out = [0u8; 32];
    out[32 - bytes.len()..].copy_from_slice(&bytes);
    out
}

/// a - b for 256-bit big-endian numbers (a >= b).
fn sub(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = if d < 0 {
            d += 256;
            1
        } else {
            0
        };
        out[i] = u8::try_from(d).unwrap();
    }
    out
}

#[tokio::test]
async fn one_payment_sent_twice_at_once_serves_exactly_one_request() {
    let fac = facilitator().await;
    let app = Arc::new(billed_app(2, Some(PAY_TO), &fac.url).await);
    let owner = app.signup("race@example.com").await;
    let vault = app.create_vault(&owner.token, "v").await;
    app.put_secret(&owner.token, &vault, "k", "once").await;
    let path = format!("/v1/vaults/{vault}/secrets/k");
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let (app, path, token) = (app.clone(), path.clone(), owner.token.clone());
        tasks.push(tokio::spawn(async move {
            paid_get(&app, &path, &token, "payment-signature", &payment("1000", SIGNATURE)).await.status
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, vec![200, 402]);
    assert_eq!(fac.settled.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_facilitator_that_is_down_or_refuses_means_402_and_nothing_served() {
    for (mode, why) in [(2u8, "503"), (1u8, "insufficient_funds")] {
        let fac = facilitator().await;
        fac.mode.store(mode, Ordering::SeqCst);
        let app = billed_app(2, Some(PAY_TO), &fac.url).await;
        let owner = app.signup(&format!("fac{mode}@example.com")).await;
        let vault = app.create_vault(&owner.token, "v").await;
        app.put_secret(&owner.token, &vault, "k", "withheld").await;
        let path = format!("/v1/vaults/{vault}/secrets/k");
        let refused = paid_get(&app, &path, &owner.token, "payment-signature", &payment("1000", SIGNATURE)).await;
        assert_eq!(refused.status, 402, "{}", refused.text);
        assert!(!refused.text.contains("withheld"), "nothing served");
        assert!(refused.text.contains(why), "{why}: {}", refused.text);
        assert_eq!(fac.settled.load(Ordering::SeqCst), 0, "nothing charged");
        let history = app.get("/v1/billing/history", &owner.token).await;
        assert_eq!(history.body["events"].as_array().map(Vec::len), Some(0));
    }
}

#[tokio::test]
async fn a_payment_to_someone_else_or_for_less_than_the_price_is_refused() {
    let fac = facilitator().await;
    let other = "0x000000000000000000000000000000000000dEaD";
    let app = billed_app(2, Some(other), &fac.url).await;
    let owner = app.signup("wrong@example.com").await;
    let vault = app.create_vault(&owner.token, "v").await;
    app.put_secret(&owner.token, &vault, "k", "kept").await;
    let path = format!("/v1/vaults/{vault}/secrets/k");
    // The client claims our requirements, but its signed authorization pays someone else.
    let refused = paid_get(&app, &path, &owner.token, "payment-signature", &payment_to(other, "1000", SIGNATURE)).await;
    assert_eq!(refused.status, 402);
    assert!(refused.text.contains("recipient_mismatch"), "{}", refused.text);
    assert!(!refused.text.contains("kept"));
    // A write costs 5000; an authorization of 1000 does not pay for it.
    let write = app
        .http
        .put(format!("{}{path}", app.base_url))
        .bearer_auth(&owner.token)
        .header("payment-signature", payment_to(other, "5000", SIGNATURE))
        .json(&json!({"value": "never-written"}))
        .send()
        .await
        .unwrap();
    let write = oneclaw_testkit::TestApp::read(write).await;
    assert_eq!(write.status, 402);
    assert!(write.text.contains("recipient_mismatch") || write.text.contains("value_mismatch"), "{}", write.text);
    let versions = app.get(&format!("/v1/vaults/{vault}/secret-versions/k"), &owner.token).await;
    assert_eq!(versions.body["versions"].as_array().map(Vec::len), Some(1), "nothing was written");
    assert_eq!(fac.settled.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn env_var_reads_and_resolves_are_metered_like_secret_reads() {
    let fac = facilitator().await;
    let app = billed_app(3, Some(PAY_TO), &fac.url).await;
    let owner = app.signup("env-billing@example.com").await;
    let vault = app.create_vault(&owner.token, "v").await; // 1
    let created = app
        .post(&format!("/v1/vaults/{vault}/env-vars"), Some(&owner.token), json!({"key": "K", "value": "env-value"}))
        .await; // 2
    assert_eq!(created.status, 201, "{}", created.text);
    let resolve = format!("/v1/vaults/{vault}/env-vars/resolve?environment=production");
    assert_eq!(app.get(&resolve, &owner.token).await.status, 200); // 3: the last free request
    for path in [resolve.clone(), format!("/v1/vaults/{vault}/env-vars/K")] {
        let refused = app.get(&path, &owner.token).await;
        assert_eq!(refused.status, 402, "{path}: {}", refused.text);
        assert_eq!(refused.body["description"], "read_secret");
        assert!(!refused.text.contains("env-value"));
    }
    // Names without values stay free.
    assert_eq!(app.get(&format!("/v1/vaults/{vault}/env-vars"), &owner.token).await.status, 200);
    let org = org_of(&app, &owner.token).await;
    app.core.billing().grant_credits(org, 10_000, "test grant", &RequestMeta::internal(Surface::Cli)).await.unwrap();
    let paid = app.get(&resolve, &owner.token).await;
    assert_eq!((paid.status, paid.body["vars"]["K"].as_str()), (200, Some("env-value")), "{}", paid.text);
    let balance = app.get("/v1/billing/credits/balance", &owner.token).await;
    assert_eq!(balance.body["balance_usd"], "0.009", "one resolve is one read's price");
}
