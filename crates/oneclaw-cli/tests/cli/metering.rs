//! Two real `oneclaw serve` processes on one PostgreSQL count one org's requests exactly; a
//! stopped server gives back the request places it leased and did not use.
//! The two-process test runs when `ONECLAW_TEST_DATABASE_URL` is set (CI's PostgreSQL step) and
//! says so otherwise; the stop test runs on SQLite.

use super::{Server, call, http_client, oneclaw, signed_up_with_a_vault};
use serde_json::json;
use sqlx::Connection;

/// Starts `serve` on the shared database and waits until it is healthy; its log goes next to `data`.
pub(super) async fn serve(url: &str, data: &std::path::Path, master_key: &str) -> Server {
    let command = || {
        let mut command = oneclaw();
        command
            .args(["serve", "--database-url", url, "--data-dir"])
            .arg(data)
            .env("ONECLAW_MASTER_KEY", master_key)
            .env("ONECLAW_BILLING", "on")
            .env("ONECLAW_FREE_TIER_REQUESTS", "1000000");
        command
    };
    Server::start(command, &data.with_extension("log")).await
}

#[tokio::test]
async fn two_server_processes_on_one_postgresql_count_exactly() {
    let Some((url, schema)) = fresh_schema("meter").await else {
        eprintln!("skipped: needs ONECLAW_TEST_DATABASE_URL (CI runs it on PostgreSQL)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let key = "ab".repeat(32);
    let first = serve(&url, &dir.path().join("a"), &key).await;
    let second = serve(&url, &dir.path().join("b"), &key).await;

    let (status, signup) = call(
        reqwest::Method::POST,
        format!("{}/v1/auth/signup", first.base),
        None,
        Some(json!({"email": "meter@example.com", "password": "two processes one counter"})),
    )
    .await;
    assert_eq!(status, 200);
    let token = signup["access_token"].as_str().unwrap().to_owned();
    let mut tasks = Vec::new();
    for base in [first.base.clone(), second.base.clone()] {
        for _ in 0..4 {
            let (base, token) = (base.clone(), token.clone());
            tasks.push(tokio::spawn(async move {
                for _ in 0..50 {
                    let (status, _) = call(reqwest::Method::GET, format!("{base}/v1/vaults"), Some(&token), None).await;
                    assert_eq!(status, 200);
                }
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    let (_, usage) = call(reqwest::Method::GET, format!("{}/v1/billing/usage", second.base), Some(&token), None).await;
    // 400 list requests, then this usage request itself.
    assert_eq!(usage["current_month"]["total_requests"], 401, "{usage}");
    drop((first, second));
    schema.drop().await;
}

/// A schema of its own on the test PostgreSQL, and the URL that puts servers in it; `None`
/// without `ONECLAW_TEST_DATABASE_URL`.
pub(super) async fn fresh_schema(purpose: &str) -> Option<(String, Schema)> {
    let base_url = std::env::var("ONECLAW_TEST_DATABASE_URL").ok()?;
    let name = format!("oneclaw_{purpose}_{}", uuid_simple());
    let mut conn = sqlx::PgConnection::connect(&base_url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}"))).execute(&mut conn).await.unwrap();
    let separator = if base_url.contains('?') { '&' } else { '?' };
    Some((format!("{base_url}{separator}options[search_path]={name}"), Schema { conn, name }))
}

/// A test's schema; `drop` removes it with everything in it.
pub(super) struct Schema {
    conn: sqlx::PgConnection,
    name: String,
}

impl Schema {
    pub(super) async fn drop(mut self) {
        let sql = format!("DROP SCHEMA {} CASCADE", self.name);
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut self.conn).await.unwrap();
    }
}

fn uuid_simple() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{nanos:x}{}", std::process::id())
}

/// The place in the month that one more request of `token`'s org is given.
async fn next_place(base: &str, token: &str) -> i64 {
    let response = http_client().get(format!("{base}/v1/vaults")).bearer_auth(token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.headers()["x-ratelimit-requests-used"].to_str().unwrap().parse().unwrap()
}

/// Runs `serve` with billing on (the free tier's 1,000 requests) on `data`.
async fn billed_server(data: &std::path::Path) -> Server {
    let log = data.with_extension("log");
    let data = data.to_owned();
    Server::start(
        move || {
            let mut command = oneclaw();
            command.args(["serve", "--billing", "on", "--data-dir"]).arg(&data);
            command
        },
        &log,
    )
    .await
}

#[tokio::test]
async fn a_stopped_server_gives_back_the_places_it_leased_and_a_killed_one_loses_few() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = billed_server(&data).await;
    let (token, _) = signed_up_with_a_vault(&server.base, "places@example.com", "leased places password").await;
    let mut place = 0;
    for _ in 0..3 {
        place = next_place(&server.base, &token).await;
    }

    // SIGTERM: the rest of the lease goes back, so the next server continues right after.
    // (Waited for in full: `stop` would kill a shutdown slower than 5 s.)
    let status = std::process::Command::new("kill").arg("-TERM").arg(server.child.id().to_string()).status();
    assert!(status.unwrap().success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while server.child.try_wait().unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline, "the server did not stop within a minute");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut server = billed_server(&data).await;
    let after_restart = next_place(&server.base, &token).await;
    assert_eq!(after_restart, place + 1, "a clean stop loses no free request");

    // SIGKILL: the lease is lost, but it was at most 1/64 of the free places left.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let server = billed_server(&data).await;
    let after_kill = next_place(&server.base, &token).await;
    let most_lost = (1_000 - (after_restart - 1)) / 64;
    assert!(
        after_kill > after_restart && after_kill <= after_restart + 1 + most_lost,
        "a kill costs at most the lease: {after_restart} then {after_kill}"
    );
}
