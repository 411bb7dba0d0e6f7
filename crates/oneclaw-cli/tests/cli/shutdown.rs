//! SIGTERM under load: the server stops taking requests, finishes the ones in flight and exits
//! 0. Every write answered 2xx has its audit record; every write that failed left none, so it
//! was refused before it started, never half done.

use super::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Each write's path and whether it was answered 2xx (false: the connection failed).
type Outcomes = Arc<std::sync::Mutex<Vec<(String, bool)>>>;

#[tokio::test]
async fn sigterm_under_load_finishes_what_it_started_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start(
        || {
            let mut command = oneclaw();
            // No plan limits: the load writes more secrets than the free tier holds.
            command.args(["serve", "--billing", "off", "--data-dir"]).arg(&data);
            command
        },
        &dir.path().join("server.log"),
    )
    .await;
    let base = server.base.clone();
    let (token, vault) = signed_up_with_a_vault(&base, "term@example.com", "sigterm password").await;

    let outcomes: Outcomes = Arc::default();
    let signalled = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for writer in 0..8 {
        let (base, token, vault, outcomes, signalled) =
            (base.clone(), token.clone(), vault.clone(), outcomes.clone(), signalled.clone());
        writers.push(tokio::spawn(async move {
            let client = http_client();
            for n in 0.. {
                let path = format!("load/w{writer}-{n}");
                let sent = client
                    .put(format!("{base}/v1/vaults/{vault}/secrets/{path}"))
                    .bearer_auth(&token)
                    .json(&json!({"value": format!("value {n}")}))
                    .send()
                    .await;
                let answered = match sent {
                    Ok(response) => {
                        assert_eq!(response.status(), 201, "a request that is served is served whole");
                        true
                    }
                    Err(_) => false,
                };
                outcomes.lock().unwrap().push((path, answered));
                if !answered && signalled.load(Ordering::SeqCst) {
                    return;
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    signalled.store(true, Ordering::SeqCst);
    let status = Command::new("kill").arg("-TERM").arg(server.child.id().to_string()).status().unwrap();
    assert!(status.success());
    for writer in writers {
        tokio::time::timeout(Duration::from_secs(60), writer).await.expect("writers stop").unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(40);
    let exit = loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "the server did not stop within the drain deadline");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "a clean exit: {exit}");

    let export = oneclaw().args(["audit", "export", "--data-dir"]).arg(&data).output().unwrap();
    assert!(export.status.success());
    let recorded: std::collections::HashSet<String> = String::from_utf8_lossy(&export.stdout)
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|event| event["action"] == "secret.write")
        .map(|event| event.to_string())
        .collect();
    let outcomes = outcomes.lock().unwrap();
    let answered = outcomes.iter().filter(|(_, ok)| *ok).count();
    assert!(answered > 8, "the load ran: {answered} writes answered");
    for (path, ok) in outcomes.iter() {
        let quoted = format!("\"{path}\"");
        let has_record = recorded.iter().any(|event| event.contains(&quoted));
        assert_eq!(has_record, *ok, "{path}: answered {ok}, audit record {has_record}");
    }
    let verify = oneclaw().args(["audit", "verify", "--data-dir"]).arg(&data).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
}
