//! Requests cut off at any moment (clients that time out or go away) on PostgreSQL: no pooled
//! connection is left inside a transaction nothing will end. sqlx 0.9.0 left one when a request
//! was dropped while its `BEGIN` was on the wire; the next request on that connection then ran
//! inside it ("there is already a transaction in progress"), and after its first error every
//! query on that connection failed. Runs when `ONECLAW_TEST_DATABASE_URL` is set (CI's
//! PostgreSQL step); says so otherwise.

use super::metering::{fresh_schema, serve};
use super::signed_up_with_a_vault;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn requests_cut_off_at_any_moment_leave_no_transaction_open_on_a_pooled_connection() {
    let Some((url, schema)) = fresh_schema("cancel").await else {
        eprintln!("skipped: needs ONECLAW_TEST_DATABASE_URL (CI runs it on PostgreSQL)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("a");
    let server = serve(&url, &data, &"cd".repeat(32)).await;
    let (token, vault) = signed_up_with_a_vault(&server.base, "cut-off@example.com", "cut off password").await;

    // Writes and reads given up after 1 to 16 ms: the server drops them wherever they are,
    // many while a transaction is opening.
    let mut clients = Vec::new();
    for client in 0..8u64 {
        let (base, token, vault) = (server.base.clone(), token.clone(), vault.clone());
        clients.push(tokio::spawn(async move {
            for n in 0..150u64 {
                let impatient = reqwest::Client::builder()
                    .timeout(Duration::from_millis(1 + (client * 7 + n) % 16))
                    .build()
                    .unwrap();
                let path = format!("{base}/v1/vaults/{vault}/secrets/cut/{client}");
                let _ = impatient.put(&path).bearer_auth(&token).json(&json!({"value": format!("v{n}")})).send().await;
                let _ = impatient.get(&path).bearer_auth(&token).send().await;
            }
        }));
    }
    for client in clients {
        client.await.unwrap();
    }
    // Every connection of the pool still works: writes that wait for their answers succeed.
    let patient = super::http_client();
    for n in 0..40 {
        let path = format!("{}/v1/vaults/{vault}/secrets/after/{n}", server.base);
        let written = patient.put(&path).bearer_auth(&token).json(&json!({"value": "kept"})).send().await.unwrap();
        assert_eq!(written.status(), 201, "write {n} after the cut-off requests");
    }
    drop(server);
    let log = std::fs::read_to_string(data.with_extension("log")).unwrap_or_default();
    // A BEGIN that finds a transaction open is the stale one. (A ROLLBACK that finds none, "no
    // transaction in progress", is harmless: it ends a BEGIN that never reached the server.)
    let stale: Vec<&str> = log.lines().filter(|line| line.contains("already a transaction in progress")).collect();
    assert!(stale.is_empty(), "a pooled connection was left inside a transaction: {stale:#?}");
    schema.drop().await;
}
