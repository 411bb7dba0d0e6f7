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
    assert_eq!(balance.body["balance_micros"], 10_000, "nothing was served, nothing is charged: {}", balance.text);
    let served = app.get(&format!("/v1/vaults/{vault}/secrets/private/key"), &owner.token).await;
    assert_eq!(served.status, 200);
    let balance = app.get("/v1/billing/credits/balance", &owner.token).await;
    assert_eq!(balance.body["balance_micros"], 9_000, "a served read costs its price");
}

/// The month's requests so far, as the quota header of one more (counted) request says.
async fn used(app: &oneclaw_testkit::TestApp, token: &str) -> i64 {
    let usage = app.get("/v1/vaults", token).await;
    usage.headers["x-ratelimit-requests-used"].to_str().unwrap().parse().unwrap()
}
