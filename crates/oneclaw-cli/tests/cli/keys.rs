//! `oneclaw keys` against real processes: a rotation killed half way is finished by the next
//! server start; a running deployment moves from the local keyring to the SoftHSM2 token and
//! back while reads keep succeeding; a wrong PIN stops start-up without showing the PIN.

use super::{BIN, Server, call};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The SoftHSM2 token of the environment, if any (`scripts/softhsm-token.sh`); CI has one.
fn hsm_in_env() -> bool {
    let present = std::env::var("ONECLAW_PKCS11_MODULE").is_ok() && std::env::var("ONECLAW_PKCS11_PIN").is_ok();
    if !present {
        assert!(std::env::var("ONECLAW_REQUIRE_HSM_TESTS").as_deref() != Ok("1"), "CI needs a SoftHSM2 token here");
        eprintln!("no SoftHSM token in the environment: PKCS#11 part skipped");
    }
    present
}

/// `oneclaw <args> --data-dir DATA` with the key provider chosen; PKCS#11 settings are inherited.
fn oneclaw(data: &Path, provider: &str, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env("ONECLAW_KEY_PROVIDER", provider)
        // Billing off: these tests hold more secrets than the free tier allows.
        .env("ONECLAW_BILLING", "off")
        .env_remove("ONECLAW_DATABASE_URL");
    if provider == "local" && !hsm_wanted_as_secondary() {
        for name in ["ONECLAW_PKCS11_MODULE", "ONECLAW_PKCS11_TOKEN_LABEL"] {
            command.env_remove(name);
        }
    }
    command
}

fn hsm_wanted_as_secondary() -> bool {
    std::env::var("ONECLAW_PKCS11_MODULE").is_ok()
}

/// Starts `serve` on `data` and waits until it is healthy; its log goes next to `data`.
async fn serve(data: &Path, provider: &str) -> Server {
    let log = data.with_extension("log");
    Server::start(|| oneclaw(data, provider, &["serve"]), &log).await
}

/// Signs up, makes a vault and `count` secrets; returns the token and the vault id.
async fn seed(base: &str, email: &str, count: usize) -> (String, String) {
    let (_, signup) = call(
        reqwest::Method::POST,
        format!("{base}/v1/auth/signup"),
        None,
        Some(json!({"email": email, "password": "correct horse battery"})),
    )
    .await;
    let token = signup["access_token"].as_str().unwrap().to_owned();
    let (_, vault) =
        call(reqwest::Method::POST, format!("{base}/v1/vaults"), Some(&token), Some(json!({"name": "kept"}))).await;
    let vault = vault["id"].as_str().unwrap().to_owned();
    for chunk in (0..count).collect::<Vec<_>>().chunks(16) {
        let puts = chunk.iter().map(|i| {
            call(
                reqwest::Method::PUT,
                format!("{base}/v1/vaults/{vault}/secrets/s{i}"),
                Some(&token),
                Some(json!({"value": format!("value-{i}")})),
            )
        });
        for (status, body) in futures_join(puts).await {
            assert_eq!(status, 201, "{body}");
        }
    }
    (token, vault)
}

async fn futures_join<F: std::future::Future<Output = (u16, Value)>>(
    calls: impl Iterator<Item = F>,
) -> Vec<(u16, Value)> {
    let mut out = Vec::new();
    for call in calls.collect::<Vec<_>>() {
        out.push(call.await);
    }
    out
}

async fn all_values_read_back(base: &str, token: &str, vault: &str, count: usize) {
    for i in 0..count {
        let (status, body) =
            call(reqwest::Method::GET, format!("{base}/v1/vaults/{vault}/secrets/s{i}"), Some(token), None).await;
        assert_eq!((status, body["value"].as_str()), (200, Some(format!("value-{i}").as_str())), "s{i}: {body}");
    }
}

async fn key_state(base: &str, token: &str, vault: &str) -> Value {
    call(reqwest::Method::GET, format!("{base}/v1/vaults/{vault}/keys"), Some(token), None).await.1
}

/// How many data keys are under each KEK version, read from the SQLite file.
async fn versions_by_kek(db: &Path) -> (i64, i64) {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", db.display())).await.unwrap();
    let old: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM secret_versions WHERE kek_version = 1")
        .fetch_one(&pool)
        .await
        .unwrap_or(0);
    let new: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM secret_versions WHERE kek_version = 2")
        .fetch_one(&pool)
        .await
        .unwrap_or(0);
    pool.close().await;
    (old, new)
}

async fn killed_rotation_is_finished_after_restart(provider: &str) {
    const COUNT: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = serve(&data, provider).await;
    let (token, vault) = seed(&server.base, &format!("kill-{provider}@example.com"), COUNT).await;
    drop(server);

    // Rotate in small batches and kill the process once some, not all, data keys have moved.
    let mut rotation = oneclaw(&data, provider, &["keys", "rotate", "--vault", &vault, "--batch-size", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let db = data.join("oneclaw.db");
    let deadline = Instant::now() + Duration::from_secs(60);
    let moved = loop {
        let (_, new) = versions_by_kek(&db).await;
        if new >= 20 {
            rotation.kill().unwrap();
            rotation.wait().unwrap();
            break new;
        }
        assert!(rotation.try_wait().unwrap().is_none(), "the rotation ended before it could be killed");
        assert!(Instant::now() < deadline, "the rotation never started moving data keys");
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let (old, new) = versions_by_kek(&db).await;
    assert!(old > 0 && new >= moved && old + new == COUNT as i64, "killed half way: {old} under v1, {new} under v2");

    let server = serve(&data, provider).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let keys = key_state(&server.base, &token, &vault).await;
        if keys["keys"][0]["destroyed_at"].is_string() {
            assert_eq!(keys["current_version"], 2, "{keys}");
            assert_eq!(keys["keys"][1]["key_provider"], provider);
            break;
        }
        assert!(Instant::now() < deadline, "the rotation was not finished after restart: {keys}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(versions_by_kek(&db).await, (0, COUNT as i64));
    all_values_read_back(&server.base, &token, &vault, COUNT).await;
    drop(server);
    let verify = oneclaw(&data, provider, &["audit", "verify"]).output().unwrap();
    assert!(verify.status.success(), "audit chain after the kill: {}", String::from_utf8_lossy(&verify.stdout));
}

#[tokio::test]
async fn a_rotation_killed_half_way_is_finished_by_the_next_start_local_keyring() {
    killed_rotation_is_finished_after_restart("local").await;
}

#[tokio::test]
async fn a_rotation_killed_half_way_is_finished_by_the_next_start_pkcs11() {
    if hsm_in_env() {
        killed_rotation_is_finished_after_restart("pkcs11").await;
    }
}

/// Reads secrets from a running server until stopped; counts reads and failures.
fn reader(
    base: String,
    token: String,
    vault: String,
    count: usize,
) -> (Arc<AtomicBool>, Arc<AtomicU64>, Arc<AtomicU64>, tokio::task::JoinHandle<()>) {
    let (stop, reads, failures) =
        (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (s, r, f) = (stop.clone(), reads.clone(), failures.clone());
    let task = tokio::spawn(async move {
        let mut i = 0;
        while !s.load(Ordering::SeqCst) {
            let (status, body) =
                call(reqwest::Method::GET, format!("{base}/v1/vaults/{vault}/secrets/s{i}"), Some(&token), None).await;
            if status != 200 || body["value"] != format!("value-{i}") {
                eprintln!("read failed during migration: {status} {body}");
                f.fetch_add(1, Ordering::SeqCst);
            }
            r.fetch_add(1, Ordering::SeqCst);
            i = (i + 1) % count;
        }
    });
    (stop, reads, failures, task)
}

async fn migrate_while_reading(data: &Path, server: &Server, token: &str, vault: &str, to: &str, serving_with: &str) {
    let (stop, reads, failures, task) = reader(server.base.clone(), token.to_owned(), vault.to_owned(), 40);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = reads.load(Ordering::SeqCst);
    // On a blocking thread: the reader task must keep running meanwhile.
    let mut command = oneclaw(data, serving_with, &["keys", "migrate", "--to", to, "--batch-size", "5"]);
    let migrate = tokio::task::spawn_blocking(move || command.output()).await.unwrap().unwrap();
    let during = reads.load(Ordering::SeqCst) - before;
    let stdout = String::from_utf8_lossy(&migrate.stdout).to_string();
    assert!(migrate.status.success(), "{stdout} {}", String::from_utf8_lossy(&migrate.stderr));
    assert!(stdout.contains(&format!("now on {to}")) && stdout.contains("3 server secret(s) resealed"), "{stdout}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::SeqCst);
    task.await.unwrap();
    assert_eq!(failures.load(Ordering::SeqCst), 0, "reads failed during the migration to {to}");
    assert!(during > 0, "no read overlapped the migration");
    let keys = key_state(&server.base, token, vault).await;
    let current = keys["current_version"].as_i64().unwrap();
    let entry = keys["keys"].as_array().unwrap().iter().find(|k| k["version"] == current).unwrap().clone();
    assert_eq!(entry["key_provider"], to, "{keys}");
    assert!(
        keys["keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["version"] != current)
            .all(|k| k["destroyed_at"].is_string())
    );
}

#[tokio::test]
async fn a_running_deployment_moves_to_the_hsm_and_back_without_failing_a_read() {
    if !hsm_in_env() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = serve(&data, "local").await;
    let (token, vault) = seed(&server.base, "migrate@example.com", 40).await;

    migrate_while_reading(&data, &server, &token, &vault, "pkcs11", "local").await;
    drop(server);
    let server = serve(&data, "pkcs11").await;
    all_values_read_back(&server.base, &token, &vault, 40).await;
    let (_, other) = call(
        reqwest::Method::POST,
        format!("{}/v1/vaults", server.base),
        Some(&token),
        Some(json!({"name": "born-in-hsm"})),
    )
    .await;
    let born = key_state(&server.base, &token, other["id"].as_str().unwrap()).await;
    assert_eq!(born["keys"][0]["key_provider"], "pkcs11", "{born}");

    migrate_while_reading(&data, &server, &token, &vault, "local", "pkcs11").await;
    drop(server);
    let server = serve(&data, "local").await;
    all_values_read_back(&server.base, &token, &vault, 40).await;
    drop(server);
    let status = oneclaw(&data, "local", &["keys", "status"]).output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout).to_string();
    let line = status.lines().find(|line| line.starts_with(&vault)).unwrap_or_default().to_owned();
    assert!(line.contains("KEK v3") && line.contains("local") && line.ends_with("ok"), "{status}");
}

#[test]
fn a_wrong_pin_stops_start_up_without_showing_the_pin() {
    if !hsm_in_env() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let output = oneclaw(&dir.path().join("data"), "pkcs11", &["serve", "--listen", "127.0.0.1:0"])
        .env("ONECLAW_PKCS11_PIN", "97531864")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("PIN") && stderr.contains("refused"), "{stderr}");
    assert!(!stderr.contains("97531864"), "{stderr}");
}
