//! Two real `oneclaw serve` processes on one PostgreSQL count one org's requests exactly.
//! Runs when `ONECLAW_TEST_DATABASE_URL` is set (CI's PostgreSQL step); says so otherwise.

use super::{Server, call, oneclaw};
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
