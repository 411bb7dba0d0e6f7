//! Tests of the real `oneclaw` binary: start-up configuration, `dev`, that no plaintext
//! reaches the database files or the server log, and `oneclaw keys` (in `keys`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod backup;
mod cancelled;
mod client;
mod coherence;
mod crash;
mod keys;
mod metering;
mod metrics;
mod shutdown;
mod tls;

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_oneclaw");

/// An HTTP client (reqwest's TLS needs a crypto provider installed first).
fn http_client() -> reqwest::Client {
    oneclaw_types::tls::install_provider();
    reqwest::Client::new()
}

/// The binary with the SoftHSM2 variables CI exports removed, so it runs on the local keyring.
/// Only the `keys` tests use the shared token: several processes opening one SoftHSM2 token
/// while another writes to it can fail to find it ("no HSM token is labelled …") or be refused.
fn oneclaw() -> Command {
    let mut command = Command::new(BIN);
    for (name, _) in std::env::vars().filter(|(name, _)| {
        name.starts_with("ONECLAW_PKCS11_") || name == "SOFTHSM2_CONF" || name == "ONECLAW_KEY_PROVIDER"
    }) {
        command.env_remove(name);
    }
    command
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A server process, stopped (SIGTERM, then kill) when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    /// Runs `serve` as `command` sets it up, adding `--listen` on a free port, with stderr appended
    /// to `log`, and waits until `/v1/health` answers. A port can be taken between `free_port` and
    /// the server's bind (another test's outgoing connection may get it), so a server that exits
    /// saying its address is in use is started again on another port; any other early exit fails
    /// the test with what the server wrote.
    async fn start(command: impl Fn() -> Command, log: &Path) -> Server {
        for _ in 0..5 {
            let port = free_port();
            let stderr = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
            let child = command()
                .arg("--listen")
                .arg(format!("127.0.0.1:{port}"))
                .stdout(Stdio::null())
                .stderr(stderr)
                .spawn()
                .unwrap();
            let mut server = Server { child, base: format!("http://127.0.0.1:{port}") };
            match server.wait_healthy().await {
                Ok(()) => return server,
                Err(status) => {
                    let written = std::fs::read_to_string(log).unwrap_or_default();
                    assert!(written.contains("Address already in use"), "server exited ({status}): {written}");
                }
            }
        }
        panic!("no free port found for the server in five tries");
    }

    /// Polls `/v1/health` for up to a minute; `Err` with the exit status if the process ends first.
    async fn wait_healthy(&mut self) -> Result<(), std::process::ExitStatus> {
        let client = http_client();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(response) = client.get(format!("{}/v1/health", self.base)).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                return Err(status);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("server at {} never became healthy in a minute", self.base);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

fn stop(child: &mut Child) {
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

async fn call(method: reqwest::Method, url: String, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let mut request = http_client().request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Signs up a new account on the server at `base` and creates a vault: its token and the
/// vault's id.
async fn signed_up_with_a_vault(base: &str, email: &str, password: &str) -> (String, String) {
    let (status, signup) = call(
        reqwest::Method::POST,
        format!("{base}/v1/auth/signup"),
        None,
        Some(json!({"email": email, "password": password})),
    )
    .await;
    assert!(status < 300, "{signup}");
    let token = signup["access_token"].as_str().unwrap().to_owned();
    let (_, vault) =
        call(reqwest::Method::POST, format!("{base}/v1/vaults"), Some(&token), Some(json!({"name": "v"}))).await;
    (token, vault["id"].as_str().unwrap().to_owned())
}

fn file_contains(path: &Path, needle: &str) -> bool {
    std::fs::read(path).map(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes())).unwrap_or(false)
}

#[tokio::test]
async fn plaintext_reaches_neither_the_database_files_nor_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("server.log");
    let command = || {
        let mut command = oneclaw();
        command
            .args(["serve", "--data-dir"])
            .arg(dir.path().join("data"))
            .env("RUST_LOG", "debug")
            .env_remove("ONECLAW_DATABASE_URL")
            // A flag beats its variable: sign-up below works only if `--signup open` won.
            .args(["--signup", "open"])
            .env("ONECLAW_SIGNUP", "closed");
        // The clients' variables, set in the same shell, never stop the server; one it does not
        // know at all is named in a warning.
        for name in [
            "ONECLAW_BASE_URL",
            "ONECLAW_API_KEY",
            "ONECLAW_AGENT_ID",
            "ONECLAW_AGENT_API_KEY",
            "ONECLAW_AGENT_TOKEN",
            "ONECLAW_VAULT_ID",
            "ONECLAW_PROFILE",
        ] {
            command.env(name, "client-side");
        }
        command
    };
    let server = Server::start(command, &log_path).await;

    let value = "PLAINTEXT-canary-5d0c4e21b9";
    let password = "PASSWORD-canary-8a7f";
    let (status, signup) = call(
        reqwest::Method::POST,
        format!("{}/v1/auth/signup", server.base),
        None,
        Some(json!({"email": "canary@example.com", "password": password})),
    )
    .await;
    assert_eq!(status, 200);
    let token = signup["access_token"].as_str().unwrap().to_owned();
    let (_, vault) = call(
        reqwest::Method::POST,
        format!("{}/v1/vaults", server.base),
        Some(&token),
        Some(json!({"name": "canary"})),
    )
    .await;
    let secret_url = format!("{}/v1/vaults/{}/secrets/canary/value", server.base, vault["id"].as_str().unwrap());
    let (status, _) = call(reqwest::Method::PUT, secret_url.clone(), Some(&token), Some(json!({"value": value}))).await;
    assert_eq!(status, 201);
    let (status, read) = call(reqwest::Method::GET, secret_url.clone(), Some(&token), None).await;
    assert_eq!((status, read["value"].as_str()), (200, Some(value)), "the value must be stored and readable");
    let (status, _) = call(reqwest::Method::PUT, secret_url, Some(&token), Some(json!({"value": 7}))).await;
    assert_eq!(status, 400);
    // Environment variables: a vault's (a secret at a reserved path) and an org-shared one
    // (sealed by the system key), both resolved once.
    let env_value = "ENVVAR-canary-41b7e0";
    let shared_value = "SHARED-canary-93c2aa";
    let vault_id = vault["id"].as_str().unwrap();
    let env_url = format!("{}/v1/vaults/{vault_id}/env-vars", server.base);
    let body = json!({"key": "CANARY", "value": env_value});
    assert_eq!(call(reqwest::Method::POST, env_url.clone(), Some(&token), Some(body)).await.0, 201);
    let body = json!({"key": "SHARED_CANARY", "value": shared_value});
    let (status, shared) =
        call(reqwest::Method::POST, format!("{}/v1/org/env-vars", server.base), Some(&token), Some(body)).await;
    assert_eq!(status, 201);
    let link = format!("{}/v1/org/env-vars/{}/link", server.base, shared["id"].as_str().unwrap());
    assert_eq!(call(reqwest::Method::POST, link, Some(&token), Some(json!({"vault_id": vault_id}))).await.0, 201);
    let (status, resolved) =
        call(reqwest::Method::GET, format!("{env_url}/resolve?environment=production"), Some(&token), None).await;
    assert_eq!(status, 200);
    assert_eq!(resolved["vars"], json!({"CANARY": env_value, "SHARED_CANARY": shared_value}));
    drop(server);

    let data = dir.path().join("data");
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&data).unwrap().permissions().mode() & 0o777, 0o700, "data dir is private");
        let key = std::fs::metadata(data.join("master.key")).unwrap().permissions().mode() & 0o777;
        assert_eq!(key, 0o600, "master key file is private");
    }
    let files: Vec<_> = std::fs::read_dir(&data).unwrap().map(|entry| entry.unwrap().path()).collect();
    assert!(files.iter().any(|f| f.ends_with("oneclaw.db")), "{files:?}");
    for file in files.iter().chain([&log_path]) {
        for needle in [value, password, token.as_str(), env_value, shared_value] {
            assert!(!file_contains(file, needle), "{} contains a secret ({needle:.12}…)", file.display());
        }
    }
    let log_text = std::fs::read_to_string(&log_path).unwrap();
    assert!(log_text.contains("oneclaw is serving"), "the log was captured: {log_text:.400}");
    assert!(log_text.contains("ONECLAW_PROFILE is not a server setting"), "{log_text:.400}");
    assert!(!log_text.contains("ONECLAW_BASE_URL"), "known client variables pass in silence");
}

#[test]
fn unknown_and_invalid_settings_stop_start_up_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let output =
        oneclaw().args(["serve", "--data-dir"]).arg(dir.path()).env("ONECLAW_LISTN", "127.0.0.1:1").output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ONECLAW_LISTN") && stderr.contains("did you mean ONECLAW_LISTEN"), "{stderr}");
    assert_eq!(output.status.code(), Some(1));

    let output = oneclaw().args(["serve", "--signup", "maybe"]).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--signup") && stderr.contains("open, closed"), "{stderr}");
    // A flag clap itself cannot parse is a usage error: exit status 1 (docs/CLI.md).
    let output = oneclaw().args(["keys", "migrate", "--to", "floppy"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(oneclaw().arg("--version").output().unwrap().status.code(), Some(0));
    // A missing environment setting is not a usage error: MCP clients read exit 1 as "not configured".
    let output = oneclaw().arg("mcp").env_remove("ONECLAW_VAULT_ID").output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stderr).contains("ONECLAW_VAULT_ID") && output.stdout.is_empty());

    // Mails carry links, so mail without a public URL is refused at start-up.
    let output = oneclaw()
        .args(["serve", "--smtp-url", "smtp://127.0.0.1:1", "--smtp-from", "oneclaw@example.com"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("ONECLAW_PUBLIC_URL"));

    let config = dir.path().join("oneclaw.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:1\"\nmax_body_bytes = \"lots\"\n").unwrap();
    let output = oneclaw().args(["serve", "--config"]).arg(&config).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("max_body_bytes in"), "{stderr}");
}

#[tokio::test]
async fn dev_creates_a_first_user_once_and_prints_its_credentials() {
    let dir = tempfile::tempdir().unwrap();
    // What `dev` writes to stderr, shown if it exits without printing its credentials.
    let dev_log = dir.path().join("dev.log");
    // Port 0: the server picks a free port and `dev` prints the address it got.
    let spawn = || {
        oneclaw()
            .args(["dev", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path().join("data"))
            .stdout(Stdio::piped())
            .stderr(std::fs::OpenOptions::new().create(true).append(true).open(&dev_log).unwrap())
            .spawn()
            .unwrap()
    };
    let mut child = spawn();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let password = loop {
        let Some(Ok(line)) = lines.next() else {
            panic!("dev exited without its credentials: {}", std::fs::read_to_string(&dev_log).unwrap_or_default());
        };
        printed.push(line.clone());
        if let Some(password) = line.trim().strip_prefix("password: ") {
            break password.trim().to_owned();
        }
    };
    printed.extend((0..3).filter_map(|_| lines.next().and_then(Result::ok)));
    let base = printed[0].split_whitespace().last().unwrap_or_default().to_owned();
    assert!(base.starts_with("http://127.0.0.1:") && !base.ends_with(":0"), "{printed:?}");
    assert!(printed.iter().any(|line| line.contains("billing: off")), "dev is for trying things: {printed:?}");
    assert!(printed.iter().any(|line| line.contains("in a browser")), "{printed:?}");
    let curl_with_password = format!("\"password\":\"{password}\"");
    assert!(printed.iter().any(|line| line.contains(&curl_with_password)), "a curl line that works: {printed:?}");
    let mut server = Server { child, base };
    server.wait_healthy().await.unwrap();
    let (status, login) = call(
        reqwest::Method::POST,
        format!("{}/v1/auth/token", server.base),
        None,
        Some(json!({"email": "admin@oneclaw.local", "password": password})),
    )
    .await;
    assert_eq!(status, 200, "{login}");
    drop(server);

    let mut child = spawn();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let second: Vec<String> = (0..5).filter_map(|_| lines.next().and_then(Result::ok)).collect();
    let _server = Server { child, base: String::new() };
    assert!(second.iter().any(|line| line.contains("already has users")), "{second:?}");
    assert!(second.iter().any(|line| line.contains("oneclaw user reset-password")), "the way back: {second:?}");
    assert!(!second.iter().any(|line| line.contains(&password)), "{second:?}");
}

#[tokio::test]
async fn audit_verify_and_export_work_offline_and_catch_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let command = || {
        let mut command = oneclaw();
        command.args(["serve", "--data-dir"]).arg(&data);
        command
    };
    let server = Server::start(command, &dir.path().join("server.log")).await;
    let (_, signup) = call(
        reqwest::Method::POST,
        format!("{}/v1/auth/signup", server.base),
        None,
        Some(json!({"email": "offline@example.com", "password": "offline password"})),
    )
    .await;
    let token = signup["access_token"].as_str().unwrap().to_owned();
    call(reqwest::Method::POST, format!("{}/v1/vaults", server.base), Some(&token), Some(json!({"name": "v"}))).await;
    drop(server);

    let verify = oneclaw().args(["audit", "verify", "--data-dir"]).arg(&data).output().unwrap();
    let stdout = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success(), "{stdout} {}", String::from_utf8_lossy(&verify.stderr));
    assert!(stdout.contains("valid (2 events"), "{stdout}");

    let export = oneclaw().args(["audit", "export", "--data-dir"]).arg(&data).output().unwrap();
    let lines: Vec<Value> =
        String::from_utf8_lossy(&export.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines.iter().any(|e| e["action"] == "vault.create" && e["integrity_hash"].is_string()), "{lines:?}");

    assert!(tamper(&data.join("oneclaw.db")).await, "tampered");
    let verify = oneclaw().args(["audit", "verify", "--data-dir"]).arg(&data).output().unwrap();
    assert!(!verify.status.success());
    assert!(String::from_utf8_lossy(&verify.stdout).contains("BROKEN"), "{}", String::from_utf8_lossy(&verify.stdout));
}

/// Changes one audit event of the user's org directly in the SQLite file.
async fn tamper(db: &Path) -> bool {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    let done = sqlx::query("UPDATE audit_events SET action = 'vault.delete' WHERE action = 'vault.create'")
        .execute(&pool)
        .await
        .unwrap();
    done.rows_affected() == 1
}

#[tokio::test]
async fn without_mail_an_operator_verifies_and_hands_over_a_reset_link() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut dev = oneclaw();
    let mut child = dev
        .args(["dev", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(Ok(line)) = lines.next() {
        if line.trim().starts_with("password: ") {
            break;
        }
    }
    stop(&mut child);

    let run = |args: &[&str]| {
        let mut command = oneclaw();
        command.args(args).arg("--data-dir").arg(&data).output().unwrap()
    };
    let verified = run(&["user", "verify", "--email", "Admin@oneclaw.local"]);
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stderr));
    assert!(String::from_utf8_lossy(&verified.stdout).contains("admin@oneclaw.local is verified"));
    let unknown = run(&["user", "verify", "--email", "nobody@oneclaw.local"]);
    assert!(!unknown.status.success(), "an unknown address is an error");
    let reset = run(&["user", "reset-password", "--email", "admin@oneclaw.local"]);
    assert!(reset.status.success(), "{}", String::from_utf8_lossy(&reset.stderr));
    let link = String::from_utf8_lossy(&reset.stdout).trim().to_owned();
    assert!(link.contains("/reset-password?token=ocm_"), "{link}");
    let status = run(&["mail", "status"]);
    assert_eq!(String::from_utf8_lossy(&status.stdout).lines().next(), Some("queued 0, sent 0, failed 0"));

    let log = dir.path().join("serve.log");
    let server = Server::start(
        || {
            let mut command = oneclaw();
            command.args(["serve", "--data-dir"]).arg(&data);
            command
        },
        &log,
    )
    .await;
    let token = link.rsplit('=').next().unwrap();
    let (status, body) = call(
        reqwest::Method::POST,
        format!("{}/v1/auth/reset-password", server.base),
        None,
        Some(json!({"token": token, "new_password": "handed over by an operator"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, me) = call(
        reqwest::Method::POST,
        format!("{}/v1/auth/token", server.base),
        None,
        Some(json!({"email": "admin@oneclaw.local", "password": "handed over by an operator"})),
    )
    .await;
    assert_eq!(status, 200, "{me}");
    assert!(file_contains(&log, "mail is off"), "the server says once that mail is off");
}
