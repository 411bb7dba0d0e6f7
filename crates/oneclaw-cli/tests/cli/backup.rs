//! `oneclaw backup` under load and `oneclaw restore` into a fresh data directory: every write
//! acknowledged before the backup began reads back after the restore, the audit log verifies,
//! the master key is not in the backup, and a restore never replaces a database that is open
//! or (without --force) one that exists.

use super::*;
use sqlx::Connection;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

fn serve_on(data: &Path) -> impl Fn() -> Command + '_ {
    move || {
        let mut command = oneclaw();
        command.args(["serve", "--data-dir"]).arg(data);
        command
    }
}

async fn put(base: &str, token: &str, vault: &str, path: &str, value: &str) -> u16 {
    let url = format!("{base}/v1/vaults/{vault}/secrets/{path}");
    call(reqwest::Method::PUT, url, Some(token), Some(json!({"value": value}))).await.0
}

#[tokio::test]
async fn a_backup_taken_under_load_restores_everything_acknowledged_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let (live, restored) = (dir.path().join("live"), dir.path().join("restored"));
    let server = Server::start(serve_on(&live), &dir.path().join("live.log")).await;
    let base = server.base.clone();
    let (token, vault) = signed_up_with_a_vault(&base, "backup@example.com", "backup password").await;
    for version in 1..=3 {
        assert_eq!(put(&base, &token, &vault, "db/password", &format!("version {version}")).await, 201);
    }

    // Writers keep going while the backup is taken.
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let stop_writing = Arc::new(AtomicBool::new(false));
    let writers = {
        let (base, token, vault) = (base.clone(), token.clone(), vault.clone());
        let (acknowledged, stop_writing) = (acknowledged.clone(), stop_writing.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while !stop_writing.load(Ordering::SeqCst) {
                assert_eq!(put(&base, &token, &vault, &format!("load/k{n}"), &format!("value {n}")).await, 201);
                n += 1;
                acknowledged.store(n, Ordering::SeqCst);
            }
        })
    };
    while acknowledged.load(Ordering::SeqCst) < 20 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before_backup = acknowledged.load(Ordering::SeqCst);
    let file = dir.path().join("oneclaw-backup.db");
    let backup = oneclaw().args(["backup", "--to"]).arg(&file).arg("--data-dir").arg(&live).output().unwrap();
    let stdout = String::from_utf8_lossy(&backup.stdout);
    assert!(backup.status.success(), "{stdout} {}", String::from_utf8_lossy(&backup.stderr));
    assert!(stdout.contains("the master key is not in it"), "{stdout}");
    stop_writing.store(true, Ordering::SeqCst);
    writers.await.unwrap();
    assert!(acknowledged.load(Ordering::SeqCst) > before_backup, "the writers ran during the backup");
    let master_key = std::fs::read(live.join("master.key")).unwrap();
    let copied = std::fs::read(&file).unwrap();
    assert!(!copied.windows(master_key.len()).any(|w| w == master_key.as_slice()), "the master key is not copied");
    let again = oneclaw().args(["backup", "--to"]).arg(&file).arg("--data-dir").arg(&live).output().unwrap();
    assert!(!again.status.success(), "a backup never overwrites a file");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600, "owner-only from the start");
    let elsewhere = dir.path().join("elsewhere.db");
    let link = dir.path().join("link.db");
    std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
    let through_link = oneclaw().args(["backup", "--to"]).arg(&link).arg("--data-dir").arg(&live).output().unwrap();
    assert!(!through_link.status.success() && !elsewhere.exists(), "a dangling symbolic link is not followed");
    for name in ["oneclaw.db", "oneclaw.db-wal", "oneclaw.db-shm"] {
        let mode = std::fs::metadata(live.join(name)).map(|m| m.permissions().mode() & 0o777);
        assert!(mode.is_err() || mode.as_ref().is_ok_and(|m| m & 0o077 == 0), "{name}: {mode:?}");
    }

    // Not over the database of a running server, even with --force.
    let over_live =
        oneclaw().args(["restore", "--force", "--from"]).arg(&file).arg("--data-dir").arg(&live).output().unwrap();
    assert!(!over_live.status.success());
    assert!(String::from_utf8_lossy(&over_live.stderr).contains("running oneclaw"), "{over_live:?}");
    drop(server);

    let restore =
        || oneclaw().args(["restore", "--from"]).arg(&file).arg("--data-dir").arg(&restored).output().unwrap();
    let done = restore();
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let twice = restore();
    assert!(!twice.status.success() && String::from_utf8_lossy(&twice.stderr).contains("--force"), "{twice:?}");
    let not_a_backup = dir.path().join("not-a-backup.db");
    std::fs::write(&not_a_backup, b"hello").unwrap();
    let refused = oneclaw()
        .args(["restore", "--force", "--from"])
        .arg(&not_a_backup)
        .arg("--data-dir")
        .arg(&restored)
        .output()
        .unwrap();
    assert!(!refused.status.success(), "a file that is not a oneclaw database is refused");

    // A backup someone changed (a trigger that puts deleted policies back) is refused.
    let tampered = dir.path().join("tampered.db");
    std::fs::copy(&file, &tampered).unwrap();
    let mut connection = sqlx::SqliteConnection::connect(&format!("sqlite://{}", tampered.display())).await.unwrap();
    sqlx::query("CREATE TRIGGER undead AFTER DELETE ON policies BEGIN SELECT 1; END")
        .execute(&mut connection)
        .await
        .unwrap();
    connection.close().await.unwrap();
    let crafted = oneclaw()
        .args(["restore", "--force", "--from"])
        .arg(&tampered)
        .arg("--data-dir")
        .arg(&restored)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&crafted.stderr);
    assert!(!crafted.status.success() && stderr.contains("undead"), "{stderr}");

    // The master key goes back separately, as docs/OPERATIONS.md says.
    std::fs::copy(live.join("master.key"), restored.join("master.key")).unwrap();
    let verify = oneclaw().args(["audit", "verify", "--data-dir"]).arg(&restored).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
    let server = Server::start(serve_on(&restored), &dir.path().join("restored.log")).await;
    let base = server.base.clone();
    let (status, signed_in) = call(
        reqwest::Method::POST,
        format!("{base}/v1/auth/token"),
        None,
        Some(json!({"email": "backup@example.com", "password": "backup password"})),
    )
    .await;
    assert_eq!(status, 200, "the password came back: {signed_in}");
    let token = signed_in["access_token"].as_str().unwrap();
    let read = |path: String| {
        call(reqwest::Method::GET, format!("{base}/v1/vaults/{vault}/secrets/{path}"), Some(token), None)
    };
    for n in 0..before_backup {
        let (status, secret) = read(format!("load/k{n}")).await;
        assert_eq!((status, secret["value"].as_str()), (200, Some(format!("value {n}").as_str())), "load/k{n}");
    }
    let (_, versions) =
        call(reqwest::Method::GET, format!("{base}/v1/vaults/{vault}/secret-versions/db/password"), Some(token), None)
            .await;
    assert_eq!(versions["versions"].as_array().map(Vec::len), Some(3), "every version: {versions}");
    let (status, first) =
        call(reqwest::Method::GET, format!("{base}/v1/vaults/{vault}/secret-version/db/password/1"), Some(token), None)
            .await;
    assert_eq!((status, first["value"].as_str()), (200, Some("version 1")), "an old version reads back");
}

#[tokio::test]
async fn restore_finds_a_running_server_through_a_symbolic_link() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    // A data folder others may enter, as packaging often makes it: the files stay owner-only.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let link = dir.path().join("linked.db");
    std::os::unix::fs::symlink(data.join("oneclaw.db"), &link).unwrap();
    let url = format!("sqlite://{}", link.display());
    let server = Server::start(
        || {
            let mut command = oneclaw();
            command.args(["serve", "--database-url", &url, "--data-dir"]).arg(&data);
            command
        },
        &dir.path().join("server.log"),
    )
    .await;
    let file = dir.path().join("b.db");
    let backup = oneclaw()
        .args(["backup", "--database-url", &url, "--to"])
        .arg(&file)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(backup.status.success(), "{}", String::from_utf8_lossy(&backup.stderr));
    let mode = std::fs::metadata(data.join("oneclaw.db")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the database is its owner's only");
    // Named by its real path, the database a server opened through the link is still in use.
    let restore =
        oneclaw().args(["restore", "--force", "--from"]).arg(&file).arg("--data-dir").arg(&data).output().unwrap();
    assert!(!restore.status.success(), "{}", String::from_utf8_lossy(&restore.stdout));
    assert!(String::from_utf8_lossy(&restore.stderr).contains("running oneclaw"));
    drop(server);
}
