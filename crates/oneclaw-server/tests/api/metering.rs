//! Metering with leased places (issue 15): a metered read is counted in the commit of its own
//! audit record (one durable commit, not two), the allowance stays exact across servers that
//! hand places out from their leases, and places a server did not use go back at shutdown.

use crate::billing::{billed_app, second_server_on};
use oneclaw_core::billing::month_of;
use oneclaw_core::clock::Clock;
use oneclaw_core::ids::{OrgId, UserId};
use oneclaw_testkit::TestApp;
use std::sync::Arc;

async fn org_of(app: &TestApp, token: &str) -> OrgId {
    let user = UserId(app.user_id(token).await.parse().unwrap());
    app.core.deps().store.user(user).await.unwrap().unwrap().org_id
}

/// Signs up an owner whose org has $1 of credits (so paid reads are served), with a vault
/// holding the secret `k`: the owner, the org and the vault's id.
async fn paying_owner(app: &TestApp, email: &str) -> (oneclaw_testkit::Account, OrgId, String) {
    let owner = app.signup(email).await;
    let org = org_of(app, &owner.token).await;
    let meta = oneclaw_core::principal::RequestMeta::internal(oneclaw_core::principal::Surface::Cli);
    app.core.billing().grant_credits(org, 1_000_000, "test grant", &meta).await.unwrap();
    let vault = app.create_vault(&owner.token, "v").await;
    app.put_secret(&owner.token, &vault, "k", "v").await;
    (owner, org, vault)
}

fn used_header(response: &oneclaw_testkit::Response) -> i64 {
    response.headers["x-ratelimit-requests-used"].to_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_metered_read_is_counted_in_the_commit_of_its_audit_record() {
    let calls = oneclaw_testkit::counting_store::StoreCalls::default();
    let recorder = calls.clone();
    let app = oneclaw_testkit::spawn_app_with_parts(
        |config| {
            config.billing = true;
            config.free_tier_requests = 1_000_000;
        },
        |keys| keys,
        move |store| oneclaw_testkit::counting_store::CountingStore::wrap(store, recorder),
    )
    .await;
    let owner = app.signup("one-commit@example.com").await;
    let vault = app.create_vault(&owner.token, "v").await;
    app.put_secret(&owner.token, &vault, "db/password", "s3cret").await;
    let org = org_of(&app, &owner.token).await;
    let counter = || app.core.deps().counter.stats().unwrap().items;
    let journal = || app.core.deps().journal.stats().unwrap().items;
    let (counted_before, recorded_before) = (counter(), journal());
    let used_before = app.core.billing().usage(org).await.unwrap().used;

    calls.take();
    for n in 1..=5 {
        let read = app.get(&format!("/v1/vaults/{vault}/secrets/db/password"), &owner.token).await;
        assert_eq!(read.status, 200, "{}", read.text);
        assert_eq!(used_header(&read), used_before + n, "each read has the next place");
    }
    let transactions = calls.take().into_iter().filter(|call| *call == "begin").count();
    // Five: each read's record with its count; counting apart would make ten. (One more may
    // be a background task's, a checkpoint's, landing in the window.)
    assert!((5..=6).contains(&transactions), "{transactions} write transactions for five metered reads");
    assert_eq!(app.core.billing().usage(org).await.unwrap().used, used_before + 5, "five reads, five counts");
    assert_eq!(counter(), counted_before, "no read was counted by the meter's own commit");
    assert!(journal() >= recorded_before + 5, "the reads' records carried their counts");

    // A refused read is neither counted nor keeps its place: the next read has it.
    let missing = app.get(&format!("/v1/vaults/{vault}/secrets/not/there"), &owner.token).await;
    assert_eq!(missing.status, 404);
    let read = app.get(&format!("/v1/vaults/{vault}/secrets/db/password"), &owner.token).await;
    assert_eq!(used_header(&read), used_before + 6);
    assert_eq!(app.core.billing().usage(org).await.unwrap().used, used_before + 6);

    // The usage a request reports includes that request, which is counted once answered.
    let usage = app.get("/v1/billing/usage", &owner.token).await;
    assert_eq!(usage.body["current_month"]["total_requests"], used_before + 7, "{}", usage.text);
    assert_eq!(app.core.billing().usage(org).await.unwrap().used, used_before + 7);
}

#[tokio::test]
async fn the_allowance_is_exact_across_two_servers_that_lease_places() {
    const FREE: i64 = 600;
    let first = billed_app(FREE, None, "http://127.0.0.1:9").await;
    let second = second_server_on(&first, FREE).await;
    let owner = first.signup("two-leases@example.com").await;
    let vault = first.create_vault(&owner.token, "v").await;
    first.put_secret(&owner.token, &vault, "k", "v").await;
    let org = org_of(&first, &owner.token).await;
    let used_before = first.core.billing().usage(org).await.unwrap().used;

    // Reads (paid operations) from both servers at once, four clients each, every client until
    // it is refused with 402: there are no credits and no x402. A server refuses a read only
    // once its own leases hold no free place, so when all clients stop, no free place is left
    // unused in either server's hands.
    let path = format!("/v1/vaults/{vault}/secrets/k");
    let mut tasks = Vec::new();
    for app in [Arc::new(first), Arc::new(second)] {
        for _ in 0..4 {
            let (app, token, path) = (app.clone(), owner.token.clone(), path.clone());
            tasks.push(tokio::spawn(async move {
                let (mut served, mut unavailable) = (0, 0);
                for _ in 0..FREE {
                    match app.get(&path, &token).await.status {
                        200 => served += 1,
                        402 => break,
                        503 => unavailable += 1,
                        other => panic!("unexpected status {other}"),
                    }
                }
                (app, served, unavailable)
            }));
        }
    }
    let (mut apps, mut served, mut unavailable) = (Vec::new(), 0, 0);
    for task in tasks {
        let (app, n, failed) = task.await.unwrap();
        apps.push(app);
        served += n;
        unavailable += failed;
    }
    let free_left = FREE - used_before;
    assert!(served <= free_left, "never a free read too many: {served} served, {free_left} free places left");
    // A read that failed on the way (two servers' writers on one SQLite file can wait too long
    // for each other) may have lost its place, never more than its own.
    assert!(served + unavailable >= free_left, "{served} served and {unavailable} failed, {free_left} free places");
    assert_eq!(apps[0].core.billing().usage(org).await.unwrap().used, used_before + served, "served reads counted");
}

#[tokio::test]
async fn places_a_server_did_not_hand_out_go_back_to_the_month() {
    let app = billed_app(1_000_000, None, "http://127.0.0.1:9").await;
    let owner = app.signup("give-back@example.com").await;
    let org = org_of(&app, &owner.token).await;
    let billing = app.core.billing();
    let month = month_of(app.clock.now());
    let counted = billing.usage(org).await.unwrap().used;

    // Two requests served, the second from a lease of many places; a third not served.
    let first = billing.reserve(org).await.unwrap();
    billing.count_served(&first).await.unwrap();
    let second = billing.reserve(org).await.unwrap();
    billing.count_served(&second).await.unwrap();
    let third = billing.reserve(org).await.unwrap();
    billing.give_back(&third);
    assert_eq!(third.usage.used, second.usage.used + 1);

    billing.give_back_leases().await.unwrap();
    // The next place any server leases is the one after the two served.
    let mut tx = app.core.deps().store.begin().await.unwrap();
    let one = oneclaw_core::ports::LeaseRule { allowance: None, most: 1, share_of_free_left: 64 };
    assert_eq!(tx.lease_requests(org, &month, one).await.unwrap().places, counted + 3..=counted + 3);
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn the_usage_summary_counts_every_paid_request_of_the_month() {
    // Found by the billing red-team: the summary added up only the newest 200 paid requests.
    let app = billed_app(1, None, "http://127.0.0.1:9").await;
    let (owner, org, vault) = paying_owner(&app, "paid-totals@example.com").await;
    let (paid_before, cost_before) = app.core.billing().paid_this_month(org).await.unwrap();

    for _ in 0..230 {
        let read = app.get(&format!("/v1/vaults/{vault}/secrets/k"), &owner.token).await;
        assert_eq!(read.status, 200, "{}", read.text);
    }
    let usage = app.get("/v1/billing/usage", &owner.token).await;
    assert_eq!(usage.body["current_month"]["paid_requests"], paid_before + 230, "{}", usage.text);
    let cost = (cost_before + 230 * 1_000) as f64 / 1_000_000.0;
    assert_eq!(usage.body["current_month"]["total_cost_usd"], format!("{cost}"), "{}", usage.text);
}

#[tokio::test]
async fn past_the_allowance_the_quota_header_shows_the_requests_not_a_servers_place() {
    // Found by the billing red-team: past the allowance each server leases 256 places at a
    // time, so a second server's first place ran far ahead of the requests ("357%" of 100).
    let first = billed_app(5, None, "http://127.0.0.1:9").await;
    let second = second_server_on(&first, 5).await;
    let (owner, org, vault) = paying_owner(&first, "header@example.com").await;
    let path = format!("/v1/vaults/{vault}/secrets/k");
    for _ in 0..20 {
        assert_eq!(first.get(&path, &owner.token).await.status, 200);
    }
    let served = second.core.billing().usage(org).await.unwrap().used;
    let read = second.get(&path, &owner.token).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(used_header(&read), served + 1, "the requests so far and this one");
    assert_eq!(read.headers["x-ratelimit-requests-limit"], "5");
}

#[tokio::test]
async fn a_paid_read_and_its_payment_are_recorded_in_one_commit() {
    // Found by the billing red-team: a paid read's payment committed first and its record
    // after, so a read cut off between them was paid for with no `secret.read` in the log.
    let app = billed_app(1, None, "http://127.0.0.1:9").await;
    let (owner, org, vault) = paying_owner(&app, "paid-record@example.com").await;
    let path = format!("/v1/vaults/{vault}/secrets/k");
    let app = Arc::new(app);
    let mut readers = Vec::new();
    for _ in 0..4 {
        let (app, token, path) = (app.clone(), owner.token.clone(), path.clone());
        readers.push(tokio::spawn(async move {
            for _ in 0..10 {
                assert_eq!(app.get(&path, &token).await.status, 200);
            }
        }));
    }
    for reader in readers {
        reader.await.unwrap();
    }
    // Each read's payment is chained right after its record, in the same commit, whatever the
    // other readers did at the same time.
    let chain = app.core.deps().store.audit_chain(org, 0, 10_000).await.unwrap();
    let payments: Vec<usize> = (0..chain.len())
        .filter(|&i| chain[i].action == "billing.payment" && chain[i].details["operation"] == "read_secret")
        .collect();
    assert_eq!(payments.len(), 40, "forty paid reads");
    for i in payments {
        assert_eq!(chain[i - 1].action, "secret.read", "the event before payment {i} is its read");
    }
}
