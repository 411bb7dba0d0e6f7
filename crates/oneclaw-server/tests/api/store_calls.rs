//! How many store calls a request makes, counted by the test kit's `CountingStore` (the real
//! store answers; every call is recorded by name).

use oneclaw_testkit::spawn_app_counting_store_calls;
use serde_json::json;

/// The store calls of `Core::sync`.
const BACKGROUND_SYNC: &[&str] = &["live_revocations", "agent_generations", "user_generations"];

/// The fewest calls of `tries` runs of `request`: a periodic task (audit checkpoints) may land
/// inside one run, never inside all of them.
async fn fewest_calls<F, Fut>(
    calls: &oneclaw_testkit::counting_store::StoreCalls,
    tries: usize,
    request: F,
) -> Vec<&'static str>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = u16>,
{
    let mut fewest: Option<Vec<&'static str>> = None;
    for _ in 0..tries {
        calls.take();
        assert_eq!(request().await, 200);
        // Not the request's: the node's sync of revocations (`Core::sync`), which on PostgreSQL
        // runs whenever another test's change notice arrives, and can land inside every try.
        let made: Vec<&'static str> = calls.take().into_iter().filter(|call| !BACKGROUND_SYNC.contains(call)).collect();
        if fewest.as_ref().is_none_or(|f| made.len() < f.len()) {
            fewest = Some(made);
        }
    }
    fewest.unwrap_or_default()
}

#[tokio::test]
async fn a_secret_read_makes_the_store_calls_it_needs_and_no_more() {
    let (app, calls) = spawn_app_counting_store_calls().await;
    let owner = app.signup("calls@example.com").await;
    let vault = app.create_vault(&owner.token, "v").await;
    app.put_secret(&owner.token, &vault, "k", "value").await;
    let agent = app.register_agent(&owner.token, "a", json!({})).await;
    let granted = app
        .post(
            &format!("/v1/vaults/{vault}/policies"),
            Some(&owner.token),
            json!({"secret_path_pattern": "**", "principal_type": "agent", "principal_id": agent.id, "permissions": ["read"]}),
        )
        .await;
    assert_eq!(granted.status, 201, "{}", granted.text);
    let agent_token = app.agent_token(&agent).await;
    let path = format!("/v1/vaults/{vault}/secrets/k");
    for token in [owner.token.as_str(), agent_token.as_str()] {
        let made = fewest_calls(&calls, 3, || async { app.get(&path, token).await.status }).await;
        // Before one store read carried the vault, its policies and the secret: vault_access,
        // secret_for_read, begin (3 calls); before that, vault, policies_for, secret_for_read,
        // begin (4 calls).
        assert_eq!(made, ["vault_access_with_secret", "begin"]);
    }
}

#[tokio::test]
async fn a_flood_of_readiness_probes_runs_one_check_at_a_time() {
    if std::env::var("ONECLAW_TEST_DATABASE_URL").is_ok() {
        return; // The write lock held below is SQLite's.
    }
    use sqlx::Connection;
    let (app, calls) = spawn_app_counting_store_calls().await;
    // A write lock held elsewhere makes each check wait out its time limit: probes overlap.
    let mut other = sqlx::SqliteConnection::connect(&app.config.database_url).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut other).await.unwrap();
    calls.take();
    let probes = (0..10).map(|_| app.call(reqwest::Method::GET, "/v1/health/ready", None, None));
    let answers = futures_util::future::join_all(probes).await;
    assert!(answers.iter().all(|answer| answer.status == 503), "not ready while the lock is held");
    let checks = calls.take().into_iter().filter(|call| *call == "begin").count();
    assert!((1..=2).contains(&checks), "{checks} write-lock checks for 10 probes: the waiting ones share one");
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
}
