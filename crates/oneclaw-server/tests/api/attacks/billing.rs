//! Item 11: credits were charged before authorization and for failed requests, so any agent
//! of the org could drain them (or use up the month's allowance) with requests that are
//! refused or find nothing.

use oneclaw_core::ids::UserId;
use oneclaw_core::principal::{RequestMeta, Surface};
use oneclaw_testkit::spawn_app_with;
use serde_json::json;

#[tokio::test]
async fn refused_and_missing_reads_past_the_allowance_cost_nothing() {
    let app = spawn_app_with(|config| {
        config.billing = true;
        config.free_tier_requests = 6;
    })
    .await;
    let owner = app.signup("drain@example.com").await;
    let vault = app.create_vault(&owner.token, "v").await;
    app.put_secret(&owner.token, &vault, "private/key", "not-for-the-agent").await;
    let agent = app.register_agent(&owner.token, "drainer", json!({})).await;
    let agent_token = app.agent_token(&agent).await;
    let owner_id = UserId(app.user_id(&owner.token).await.parse().unwrap());
    let org = app.core.deps().store.user(owner_id).await.unwrap().unwrap().org_id;
    app.core.billing().grant_credits(org, 10_000, "test grant", &RequestMeta::internal(Surface::Cli)).await.unwrap();

    // The agent hammers a path it may not read, and paths that do not exist: refusals use
    // neither the allowance nor the credits.
    let before = used(&app, &owner.token).await;
    for n in 0..5 {
        let denied = app.get(&format!("/v1/vaults/{vault}/secrets/private/key"), &agent_token).await;
        assert_eq!(denied.status, 403, "{}", denied.text);
        let missing = app.get(&format!("/v1/vaults/{vault}/secrets/nothing/{n}"), &owner.token).await;
        assert_eq!(missing.status, 404, "{}", missing.text);
    }
    let after = used(&app, &owner.token).await;
    assert_eq!(after, before + 1, "ten refusals counted nothing (only the second look did)");

    // Past the allowance: refusals cost no credits; a served read costs its price.
    while used(&app, &owner.token).await <= 6 {}
    for _ in 0..3 {
        let denied = app.get(&format!("/v1/vaults/{vault}/secrets/private/key"), &agent_token).await;
        assert_eq!(denied.status, 403, "{}", denied.text);
    }
    let balance = app.get("/v1/billing/credits/balance", &owner.token).await;
    assert_eq!(balance.body["balance_usd"], "0.01", "nothing was served, nothing is charged: {}", balance.text);
    let served = app.get(&format!("/v1/vaults/{vault}/secrets/private/key"), &owner.token).await;
    assert_eq!(served.status, 200);
    let balance = app.get("/v1/billing/credits/balance", &owner.token).await;
    assert_eq!(balance.body["balance_usd"], "0.009", "a served read costs its price");
}

/// The month's requests so far, as the quota header of one more (counted) request says.
async fn used(app: &oneclaw_testkit::TestApp, token: &str) -> i64 {
    let usage = app.get("/v1/vaults", token).await;
    usage.headers["x-ratelimit-requests-used"].to_str().unwrap().parse().unwrap()
}

/// Item 11, second half: a paid write whose payment could not be settled used to stay written
/// (only the answer was withheld), so a payer with an empty wallet could write for free. Now
/// the write settles inside its own transaction and is rolled back when settlement fails.
#[tokio::test]
async fn a_paid_write_whose_payment_cannot_settle_is_not_kept() {
    use crate::billing::{PAY_TO, PAYER, billed_app, facilitator};
    use std::sync::atomic::Ordering;
    let fac = facilitator().await;
    let app = billed_app(3, Some(PAY_TO), &fac.url).await;
    let owner = app.signup("unsettled@example.com").await;
    let vault = app.create_vault(&owner.token, "v").await;
    // The allowance (3) is gone after sign-up's vault, one write and one read.
    app.put_secret(&owner.token, &vault, "k", "paid-for").await;
    let path = format!("/v1/vaults/{vault}/secrets/k");
    assert_eq!(app.get(&path, &owner.token).await.status, 200);

    let write = |value: &'static str, nonce: u8| {
        let (app, path, token) = (&app, path.clone(), owner.token.clone());
        async move {
            let response = app
                .http
                .put(format!("{}{path}", app.base_url))
                .bearer_auth(token)
                .header("payment-signature", signed_payment(5000, nonce))
                .json(&json!({"value": value}))
                .send()
                .await
                .unwrap();
            oneclaw_testkit::TestApp::read(response).await
        }
    };
    // The wallet is empty: the facilitator checks the authorization but refuses to settle it.
    fac.mode.store(1, Ordering::SeqCst);
    let refused = write("written-for-free", 1).await;
    assert_eq!(refused.status, 402, "{}", refused.text);
    assert!(refused.text.contains("insufficient_funds"), "{}", refused.text);
    assert!(refused.headers.get("payment-required").is_some(), "the answer is the x402 challenge");
    let versions = app.get(&format!("/v1/vaults/{vault}/secret-versions/k"), &owner.token).await;
    assert_eq!(versions.body["versions"].as_array().map(Vec::len), Some(1), "the unpaid write was rolled back");
    let history = app.get("/v1/billing/history", &owner.token).await;
    assert_eq!(history.body["events"].as_array().map(Vec::len), Some(0), "nothing recorded as paid");
    let owner_id = UserId(app.user_id(&owner.token).await.parse().unwrap());
    let org = app.core.deps().store.user(owner_id).await.unwrap().unwrap().org_id;
    let writes =
        oneclaw_core::ports::AuditQuery { limit: 100, action: Some("secret.write".into()), ..Default::default() };
    let recorded = app.core.deps().store.audit_events(org, &writes).await.unwrap().len();
    assert_eq!(recorded, 1, "no audit record of a write that was not kept");

    // With funds, the same write is settled, kept and receipted.
    fac.mode.store(0, Ordering::SeqCst);
    let paid = write("paid-write", 2).await;
    assert_eq!(paid.status, 201, "{}", paid.text);
    assert!(paid.headers.get("payment-response").is_some());
    assert_eq!(fac.settled.load(Ordering::SeqCst), 1);
    let versions = app.get(&format!("/v1/vaults/{vault}/secret-versions/k"), &owner.token).await;
    assert_eq!(versions.body["versions"].as_array().map(Vec::len), Some(2));
    let _ = PAYER;
}

/// An x402 payment header paying `value` (USDC micro-units) to PAY_TO, signed with the
/// reference vector's key (0x11…11, shared/reference/x402-billing.md §2) and the given nonce.
fn signed_payment(value: u64, nonce: u8) -> String {
    use alloy_primitives::{Address, B256, U256};
    use base64::Engine;
    use oneclaw_x402::eip712::{TransferWithAuthorization, digest, domain};
    let usdc: Address = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913".parse().unwrap();
    let from: Address = crate::billing::PAYER.parse().unwrap();
    let to: Address = crate::billing::PAY_TO.parse().unwrap();
    let mut nonce_bytes = [0u8; 32];
    nonce_bytes[31] = nonce;
    let message = TransferWithAuthorization {
        from,
        to,
        value: U256::from(value),
        validAfter: U256::ZERO,
        validBefore: U256::from(1_900_000_000u64),
        nonce: B256::from(nonce_bytes),
    };
    let hash = digest(&message, &domain("USD Coin", "2", 8453, usdc));
    let key = k256::ecdsa::SigningKey::from_slice(&[0x11; 32]).unwrap();
    let (signature, recovery) = key.sign_prehash_recoverable(hash.as_slice()).unwrap();
    let mut bytes = signature.to_bytes().to_vec();
    bytes.push(27 + recovery.to_byte());
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let nonce_hex: String = nonce_bytes.iter().map(|b| format!("{b:02x}")).collect();
    let accepted = json!({"scheme": "exact", "network": "eip155:8453", "amount": value.to_string(),
        "asset": usdc.to_checksum(None), "payTo": crate::billing::PAY_TO, "maxTimeoutSeconds": 300,
        "extra": {"name": "USD Coin", "version": "2"}});
    let payload = json!({"x402Version": 2, "accepted": accepted, "payload": {"signature": format!("0x{hex}"),
        "authorization": {"from": crate::billing::PAYER, "to": crate::billing::PAY_TO, "value": value.to_string(),
        "validAfter": "0", "validBefore": "1900000000", "nonce": format!("0x{nonce_hex}")}}});
    base64::engine::general_purpose::STANDARD.encode(payload.to_string())
}

/// Red team on the fix above: the paid write held its write transaction while the facilitator
/// settled, so one slow (or refusing) facilitator call stalled every other org's writes and
/// sign-ins. Now the payment is taken before the transaction: while a settlement hangs, another
/// org writes.
#[tokio::test]
async fn a_settlement_that_hangs_holds_no_lock_on_anyone_elses_writes() {
    use axum::routing::post;
    use std::sync::Arc;
    use tokio::sync::Notify;
    let (arrived, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let (a, r) = (arrived.clone(), release.clone());
    let double = axum::Router::new()
        .route("/verify", post(|| async { axum::Json(json!({"isValid": true, "payer": crate::billing::PAYER})) }))
        .route(
            "/settle",
            post(move || {
                let (a, r) = (a.clone(), r.clone());
                async move {
                    // TEST DOUBLE: a facilitator that holds the settlement until released.
                    a.notify_one();
                    r.notified().await;
                    axum::Json(json!({"success": true, "transaction": "0xslow", "network": "eip155:8453"}))
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, double).await });
    let app = Arc::new(crate::billing::billed_app(3, Some(crate::billing::PAY_TO), &url).await);
    let payer = app.signup("slow-payer@example.com").await;
    let vault = app.create_vault(&payer.token, "v").await;
    app.put_secret(&payer.token, &vault, "k", "first").await;
    app.get(&format!("/v1/vaults/{vault}/secrets/k"), &payer.token).await;
    let other = app.signup("bystander@example.com").await;
    let other_vault = app.create_vault(&other.token, "mine").await;

    let paid = {
        let (app, token, path) = (app.clone(), payer.token.clone(), format!("/v1/vaults/{vault}/secrets/k"));
        tokio::spawn(async move {
            let response = app
                .http
                .put(format!("{}{path}", app.base_url))
                .bearer_auth(token)
                .header("payment-signature", signed_payment(5000, 7))
                .json(&json!({"value": "paid-slowly"}))
                .send()
                .await
                .unwrap();
            oneclaw_testkit::TestApp::read(response).await
        })
    };
    arrived.notified().await;
    // The settlement is hanging now. Another org's write and a sign-in go through.
    let write = app.put(&format!("/v1/vaults/{other_vault}/secrets/x"), &other.token, json!({"value": "v"})).await;
    assert_eq!(write.status, 201, "{}", write.text);
    let signin = app.post("/v1/auth/token", None, json!({"email": other.email, "password": other.password})).await;
    assert_eq!(signin.status, 200, "{}", signin.text);
    assert!(!paid.is_finished(), "the paid write is still waiting on its settlement");
    release.notify_one();
    let paid = paid.await.unwrap();
    assert_eq!(paid.status, 201, "{}", paid.text);
}
