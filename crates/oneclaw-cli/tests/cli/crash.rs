//! SIGKILL under a write load: every write answered 2xx survives the crash (group commit
//! answers a writer only after the commit that holds its change), with its audit record, and
//! the audit chain still verifies when the server starts again on the same data directory.

use super::*;
use std::sync::Arc;

/// `oneclaw serve` on `data`, billing off (started again on the same directory after a kill).
fn serve_on(data: &std::path::Path) -> Command {
    let mut command = oneclaw();
    command.args(["serve", "--billing", "off", "--data-dir"]).arg(data);
    command
}

/// Each answered write: its path, the version it was given and the value sent.
type Answered = Arc<std::sync::Mutex<Vec<(String, i64, String)>>>;

/// Lets the load run, then SIGKILLs the server and waits for every client task to stop.
async fn kill_under_load(server: &mut Server, load: Vec<tokio::task::JoinHandle<()>>) {
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    for client in load {
        tokio::time::timeout(Duration::from_secs(30), client).await.expect("clients stop").unwrap();
    }
}

/// Successful `action` records in the exported log of the (stopped) server's data dir.
fn recorded(data: &std::path::Path, action: &str) -> usize {
    let export = oneclaw().args(["audit", "export", "--data-dir"]).arg(data).output().unwrap();
    assert!(export.status.success());
    String::from_utf8_lossy(&export.stdout)
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|event| event["action"] == action && event["outcome"] == "success")
        .count()
}

fn assert_chain_verifies(data: &std::path::Path) {
    let verify = oneclaw().args(["audit", "verify", "--data-dir"]).arg(data).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
}

#[tokio::test]
async fn a_killed_server_keeps_every_write_it_answered() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("server.log");
    let command = || serve_on(&data);
    let mut server = Server::start(command, &log).await;
    let base = server.base.clone();
    let (token, vault) = signed_up_with_a_vault(&base, "crash@example.com", "crash test password").await;

    let answered: Answered = Arc::default();
    let mut writers = Vec::new();
    for writer in 0..16 {
        let (base, token, vault, answered) = (base.clone(), token.clone(), vault.clone(), answered.clone());
        writers.push(tokio::spawn(async move {
            let client = http_client();
            for n in 0.. {
                // Half the writers share one path (many versions of it), half write paths of
                // their own: both kinds meet in the same group commits.
                let path = if writer % 2 == 0 { "crash/shared".to_owned() } else { format!("crash/w{writer}-{n}") };
                let value = format!("value {writer}-{n}");
                let sent = client
                    .put(format!("{base}/v1/vaults/{vault}/secrets/{path}"))
                    .bearer_auth(&token)
                    .json(&json!({"value": value}))
                    .send()
                    .await;
                let Ok(response) = sent else { return };
                if response.status() != 201 {
                    return;
                }
                let Ok(body) = response.json::<Value>().await else { return };
                let version = body["version"].as_i64().expect("a 201 names the version");
                answered.lock().unwrap().push((path, version, value));
            }
        }));
    }
    kill_under_load(&mut server, writers).await;
    let answered = std::mem::take(&mut *answered.lock().unwrap());
    assert!(answered.len() > 50, "the load ran: {} writes answered", answered.len());

    let server = Server::start(command, &log).await;
    let client = http_client();
    for (path, version, value) in &answered {
        let url = format!("{}/v1/vaults/{vault}/secret-version/{path}/{version}", server.base);
        let read: Value = client.get(url).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        assert_eq!(read["value"].as_str(), Some(value.as_str()), "{path} version {version} was answered 201: {read}");
    }
    drop(server);
    let writes_recorded = recorded(&data, "secret.write");
    assert!(writes_recorded >= answered.len(), "{writes_recorded} write records for {} answered", answered.len());
    assert_chain_verifies(&data);
}

/// SIGKILL under a read load with a few writers beside it: every read answered 200 has its
/// `secret.read` record (the audit journal answers a read only after the commit that holds its
/// record, whether the batch went through the writer thread or joined a writers' group), and
/// the chain verifies.
#[tokio::test]
async fn a_killed_server_has_recorded_every_read_it_answered() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("server.log");
    let command = || serve_on(&data);
    let mut server = Server::start(command, &log).await;
    let base = server.base.clone();
    let (token, vault) = signed_up_with_a_vault(&base, "crash-reads@example.com", "crash test password").await;
    let url = format!("{base}/v1/vaults/{vault}/secrets/crash/read");
    let put = http_client().put(&url).bearer_auth(&token).json(&json!({"value": "read me"})).send().await.unwrap();
    assert_eq!(put.status(), 201);

    let reads_answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut clients = Vec::new();
    for client_no in 0..12 {
        let (base, token, vault, url) = (base.clone(), token.clone(), vault.clone(), url.clone());
        let reads_answered = Arc::clone(&reads_answered);
        clients.push(tokio::spawn(async move {
            let client = http_client();
            for n in 0.. {
                // Two clients write, so reads' batches meet open writers' groups too.
                let sent = if client_no < 2 {
                    let path = format!("{base}/v1/vaults/{vault}/secrets/crash/w{client_no}-{n}");
                    client.put(path).bearer_auth(&token).json(&json!({"value": "w"})).send().await
                } else {
                    client.get(&url).bearer_auth(&token).send().await
                };
                let Ok(response) = sent else { return };
                match response.status().as_u16() {
                    200 => {
                        let Ok(body) = response.json::<Value>().await else { return };
                        assert_eq!(body["value"], "read me");
                        reads_answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    201 => {}
                    _ => return,
                }
            }
        }));
    }
    kill_under_load(&mut server, clients).await;
    let answered = reads_answered.load(std::sync::atomic::Ordering::SeqCst);
    assert!(answered > 50, "the load ran: {answered} reads answered");

    let reads_recorded = recorded(&data, "secret.read");
    assert!(reads_recorded >= answered, "{reads_recorded} read records for {answered} reads answered");
    assert_chain_verifies(&data);
}
