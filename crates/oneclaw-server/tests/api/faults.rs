//! Faults: the database disappears mid-run. Requests get a clear 503 instead of hanging or a
//! 500, a failed write leaves nothing behind, and service resumes by itself.
//! Runs on PostgreSQL (CI): a login role of its own is locked out and its connections killed.

use oneclaw_testkit::spawn_app_with;
use reqwest::Method;
use serde_json::json;
use sqlx::Connection;

async fn admin(base: &str, sql: String) {
    let mut conn = sqlx::PgConnection::connect(base).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await.unwrap();
}

#[tokio::test]
async fn a_database_outage_answers_503_loses_nothing_and_heals() {
    let Ok(base) = std::env::var("ONECLAW_TEST_DATABASE_URL") else {
        eprintln!("skipped: needs ONECLAW_TEST_DATABASE_URL (CI runs it on PostgreSQL)");
        return;
    };
    let role = format!("oneclaw_fault_{}", uuid::Uuid::new_v4().simple());
    admin(&base, format!("CREATE ROLE {role} LOGIN")).await;
    admin(&base, format!("CREATE SCHEMA {role} AUTHORIZATION {role}")).await;
    let mut url = reqwest::Url::parse(&base).unwrap();
    url.set_username(&role).unwrap();
    url.set_query(Some(&format!("options[search_path]={role}")));
    let app = spawn_app_with(|config| config.database_url = url.to_string()).await;

    let account = app.signup("fault@example.com").await;
    let vault = app.create_vault(&account.token, "v").await;
    assert_eq!(app.put_secret(&account.token, &vault, "kept", "acknowledged").await.status, 201);

    admin(&base, format!("ALTER ROLE {role} NOLOGIN")).await;
    admin(&base, format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'")).await;

    let started = std::time::Instant::now();
    let read = app.get(&format!("/v1/vaults/{vault}/secrets/kept"), &account.token).await;
    assert_eq!(read.status, 503, "{}", read.text);
    assert!(read.detail().contains("database is unavailable"), "{}", read.text);
    let write = app.put_secret(&account.token, &vault, "kept", "never-acknowledged").await;
    assert_eq!(write.status, 503, "{}", write.text);
    let health = app.call(Method::GET, "/v1/health", None, None).await;
    assert_eq!((health.status, health.body["status"].as_str()), (503, Some("degraded")));
    let ready = app.call(Method::GET, "/v1/health/ready", None, None).await;
    assert_eq!((ready.status, ready.body["checks"]["database"].as_str()), (503, Some("failing")), "{}", ready.text);
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "requests fail within the pool timeout");

    admin(&base, format!("ALTER ROLE {role} LOGIN")).await;
    // Connections idle past the window are checked before use, so none of those cut off
    // during the outage is taken for the next request.
    tokio::time::sleep(oneclaw_store::postgres::PING_IDLE_AFTER + std::time::Duration::from_millis(100)).await;
    let read = app.get(&format!("/v1/vaults/{vault}/secrets/kept"), &account.token).await;
    assert_eq!(read.status, 200, "service resumes by itself: {}", read.text);
    assert_eq!(read.body["value"], "acknowledged");
    assert_eq!(read.body["version"], 1, "the refused write left no version");
    let again = app.put(&format!("/v1/vaults/{vault}/secrets/kept"), &account.token, json!({"value": "after"})).await;
    assert_eq!(again.body["version"], 2);

    drop(app);
    admin(&base, format!("DROP SCHEMA {role} CASCADE")).await;
    admin(&base, format!("DROP ROLE {role}")).await;
}

#[tokio::test]
async fn a_sqlite_database_locked_by_another_process_answers_503_not_a_hang() {
    if std::env::var("ONECLAW_TEST_DATABASE_URL").is_ok() {
        return; // The PostgreSQL run covers the outage above; this one is about the SQLite file.
    }
    let app = oneclaw_testkit::spawn_app().await;
    let account = app.signup("locked@example.com").await;
    let vault = app.create_vault(&account.token, "v").await;
    assert_eq!(app.put_secret(&account.token, &vault, "kept", "acknowledged").await.status, 201);

    // Someone else (a backup script, a second server on the same file) holds the write lock.
    let mut other = sqlx::SqliteConnection::connect(&app.config.database_url).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut other).await.unwrap();
    let started = std::time::Instant::now();
    let write = app.put_secret(&account.token, &vault, "kept", "never-acknowledged").await;
    assert_eq!(write.status, 503, "{}", write.text);
    assert!(started.elapsed() < std::time::Duration::from_secs(15), "bounded by the busy timeout");
    // Not ready: reads would be served, but no request could record its audit event.
    let ready = app.call(Method::GET, "/v1/health/ready", None, None).await;
    assert_eq!(ready.status, 503, "{}", ready.text);
    assert_eq!(ready.body["checks"], json!({"database": "ok", "key_provider": "ok", "audit": "failing"}));
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    let ready = app.call(Method::GET, "/v1/health/ready", None, None).await;
    assert_eq!((ready.status, ready.body["status"].as_str()), (200, Some("ready")), "{}", ready.text);

    let read = app.get(&format!("/v1/vaults/{vault}/secrets/kept"), &account.token).await;
    assert_eq!(
        (read.status, read.body["value"].as_str(), read.body["version"].as_i64()),
        (200, Some("acknowledged"), Some(1))
    );
}

#[tokio::test]
async fn a_stalled_database_fails_requests_within_the_configured_time() {
    if std::env::var("ONECLAW_TEST_DATABASE_URL").is_ok() {
        return; // The SQLite file lock is the stall this test makes.
    }
    let app = oneclaw_testkit::spawn_app_with(|config| config.request_timeout_secs = 1).await;
    let account = app.signup("stalled@example.com").await;
    let vault = app.create_vault(&account.token, "v").await;
    let mut other = sqlx::SqliteConnection::connect(&app.config.database_url).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut other).await.unwrap();
    let started = std::time::Instant::now();
    let write = app.put_secret(&account.token, &vault, "k", "v").await;
    let waited = started.elapsed();
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    assert_eq!(write.status, 503, "{}", write.text);
    assert!(write.detail().contains("longer than 1 seconds"), "{}", write.text);
    assert_eq!(write.headers["content-type"], "application/problem+json");
    assert_eq!(write.headers["retry-after"], "1", "like every 503 (and logged like one)");
    assert!(waited < std::time::Duration::from_secs(3), "answered after {waited:?}, not after the 5 s busy timeout");
    assert_eq!(
        app.get(&format!("/v1/vaults/{vault}/secrets/k"), &account.token).await.status,
        404,
        "nothing was stored"
    );
}
