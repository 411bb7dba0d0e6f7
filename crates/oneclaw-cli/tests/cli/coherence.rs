//! Two real `oneclaw serve` processes on one PostgreSQL: what one node changes, the other
//! enforces within moments. A policy removed on one node is refused on the other once its
//! notice arrives (the other node's kept reads are dropped; 100 ms at the latest); a disabled
//! agent and a signed-out session are refused on the other node within a second (a notice at
//! commit, not the periodic sync).
//! Runs when `ONECLAW_TEST_DATABASE_URL` is set (CI's PostgreSQL step); says so otherwise.

use super::metering::{fresh_schema, serve};
use super::{Server, call};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The periodic sync runs every 5 s; a notice must beat it by far.
const PROPAGATION_BOUND: Duration = Duration::from_millis(1500);

async fn post(server: &Server, path: &str, token: Option<&str>, body: Value) -> Value {
    let (status, body) = call(Method::POST, format!("{}{path}", server.base), token, Some(body)).await;
    assert!((200..300).contains(&status), "{path}: {status} {body}");
    body
}

/// How long until `path` on `server` answers `wanted` to `token` (polling every 20 ms); panics
/// past twice the bound, so a lost notice fails rather than waiting for the periodic sync.
async fn until_status(server: &Server, path: &str, token: &str, wanted: u16) -> Duration {
    let started = Instant::now();
    loop {
        let (status, _) = call(Method::GET, format!("{}{path}", server.base), Some(token), None).await;
        if status == wanted {
            return started.elapsed();
        }
        assert!(started.elapsed() < PROPAGATION_BOUND * 2, "{path} still answers {status}, not {wanted}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_change_on_one_node_is_enforced_on_the_other_within_moments() {
    let Some((url, schema)) = fresh_schema("coherence").await else {
        eprintln!("skipped: needs ONECLAW_TEST_DATABASE_URL (CI runs it on PostgreSQL)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let key = "cd".repeat(32);
    let a = serve(&url, &dir.path().join("a"), &key).await;
    let b = serve(&url, &dir.path().join("b"), &key).await;

    let signup =
        post(&a, "/v1/auth/signup", None, json!({"email": "both@example.com", "password": "one change two nodes"}))
            .await;
    let human = signup["access_token"].as_str().unwrap().to_owned();
    let vault =
        post(&a, "/v1/vaults", Some(&human), json!({"name": "shared"})).await["id"].as_str().unwrap().to_owned();
    let secret = format!("/v1/vaults/{vault}/secrets/app/key");
    let (status, _) =
        call(Method::PUT, format!("{}{secret}", a.base), Some(&human), Some(json!({"value": "v1"}))).await;
    assert_eq!(status, 201);
    let agent = post(&a, "/v1/agents", Some(&human), json!({"name": "reader"})).await;
    let agent_id = agent["agent"]["id"].as_str().unwrap().to_owned();
    let grant = json!({"principal_type": "agent", "principal_id": agent_id, "secret_path_pattern": "app/**", "permissions": ["read"]});
    let policy = post(&a, &format!("/v1/vaults/{vault}/policies"), Some(&human), grant.clone()).await;
    let exchanged =
        post(&b, "/v1/auth/agent-token", None, json!({"api_key": agent["api_key"], "agent_id": agent_id})).await;
    let agent_token = exchanged["access_token"].as_str().unwrap().to_owned();
    let (status, _) = call(Method::GET, format!("{}{secret}", b.base), Some(&agent_token), None).await;
    assert_eq!(status, 200, "the agent reads on node B");

    // A policy removed on A: B drops its kept read of the vault on the notice (or at the end of
    // its 100 ms lifetime at the latest) and refuses.
    let policy_path = format!("{}/v1/vaults/{vault}/policies/{}", a.base, policy["id"].as_str().unwrap());
    let (status, _) = call(Method::DELETE, policy_path, Some(&human), None).await;
    assert_eq!(status, 204);
    let took = until_status(&b, &secret, &agent_token, 403).await;
    assert!(took < PROPAGATION_BOUND, "B refused after the removal only after {took:?}");
    post(&a, &format!("/v1/vaults/{vault}/policies"), Some(&human), grant).await;
    let took = until_status(&b, &secret, &agent_token, 200).await;
    assert!(took < PROPAGATION_BOUND, "B saw the new grant only after {took:?}");

    // The agent disabled on A: B refuses its token within the bound.
    let (status, _) = call(
        Method::PATCH,
        format!("{}/v1/agents/{agent_id}", a.base),
        Some(&human),
        Some(json!({"is_active": false})),
    )
    .await;
    assert_eq!(status, 200);
    let took = until_status(&b, &secret, &agent_token, 401).await;
    assert!(took < PROPAGATION_BOUND, "B refused the disabled agent after {took:?}");

    // The human signs out on A: B refuses the session's token within the bound.
    let (status, _) = call(Method::GET, format!("{}/v1/vaults", b.base), Some(&human), None).await;
    assert_eq!(status, 200);
    let (status, _) = call(Method::DELETE, format!("{}/v1/auth/token", a.base), Some(&human), None).await;
    assert_eq!(status, 204);
    let took = until_status(&b, "/v1/vaults", &human, 401).await;
    assert!(took < PROPAGATION_BOUND, "B refused the signed-out session after {took:?}");
    drop((a, b));
    schema.drop().await;
}
