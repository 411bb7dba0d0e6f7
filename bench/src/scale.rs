//! `scale`: an agent reading one secret, on a small vault (100 secrets, 10 policies on the
//! agent) and, in the same run, on a large one (many filler secrets, many policies, thousands of
//! them on the reading agent), loaded through the store rather than over HTTP. Rounds alternate
//! so both see the same machine; the table gives the large/small ratio of p50.

use crate::{Running, percentile, read_round_with, start};
use oneclaw_core::clock::{Clock, SystemClock};
use oneclaw_core::ids::{PolicyId, UserId, VaultId};
use oneclaw_core::model::{SealedValue, SecretVersion};
use oneclaw_core::policy::{Conditions, Effect, PathGlob, Permission, Policy};
use oneclaw_core::principal::{PrincipalKind, PrincipalRef};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one side of the comparison holds.
pub struct Shape {
    pub filler_secrets: usize,
    /// Policies on the reading agent (one of them grants the secret it reads).
    pub agent_policies: usize,
    /// Policies on other agents of the same vault.
    pub other_policies: usize,
}

struct Prepared {
    run: Running,
    agent_token: String,
    url: Arc<Vec<String>>,
}

async fn call(run: &Running, method: reqwest::Method, path: &str, token: &str, body: Value) -> Value {
    let response =
        run.http.request(method, format!("{}{path}", run.base)).bearer_auth(token).json(&body).send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

fn policy(vault: VaultId, who: PrincipalRef, by: PrincipalRef, pattern: &str) -> Policy {
    Policy {
        id: PolicyId::generate(),
        vault_id: vault,
        principal: who,
        pattern: PathGlob::parse(pattern).unwrap(),
        permissions: vec![Permission::Read],
        conditions: Conditions::default(),
        expires_at: None,
        effect: Effect::Allow,
        priority: 0,
        created_by: by,
        created_at: SystemClock.now(),
        policy_schema_version: 2,
    }
}

async fn prepare(shape: &Shape) -> Prepared {
    let run = start().await;
    let post = reqwest::Method::POST;
    let vault = call(&run, post.clone(), "/v1/vaults", &run.token, json!({"name": "scale"})).await;
    let vault_id: uuid::Uuid = vault["id"].as_str().unwrap().parse().unwrap();
    let path = format!("/v1/vaults/{vault_id}/secrets/bench/target");
    call(&run, reqwest::Method::PUT, &path, &run.token, json!({"value": "the value"})).await;
    // An explicit scope ceiling: a ceiling derived from policies would carry every pattern in
    // the token (1claw's rule), and this measures the policy engine, not token size.
    let agent = call(&run, post.clone(), "/v1/agents", &run.token, json!({"name": "reader", "scopes": ["**"]})).await;
    let agent_id: uuid::Uuid = agent["agent"]["id"].as_str().unwrap().parse().unwrap();
    let me = call(&run, reqwest::Method::GET, "/v1/auth/me", &run.token, Value::Null).await;
    let owner = PrincipalRef::user(UserId(me["id"].as_str().unwrap().parse().unwrap()));
    let reader = PrincipalRef { kind: PrincipalKind::Agent, id: agent_id };
    let vault = VaultId(vault_id);

    let loading = Instant::now();
    let store = run.core.deps().store.clone();
    let mut policies = vec![policy(vault, reader, owner, "bench/**")];
    policies.extend((1..shape.agent_policies).map(|i| policy(vault, reader, owner, &format!("teams/t{i}/**"))));
    let others: Vec<PrincipalRef> =
        (0..100).map(|_| PrincipalRef { kind: PrincipalKind::Agent, id: uuid::Uuid::now_v7() }).collect();
    policies.extend(
        (0..shape.other_policies).map(|i| policy(vault, others[i % others.len()], owner, &format!("shared/s{i}/*"))),
    );
    for chunk in policies.chunks(5_000) {
        let mut tx = store.begin().await.unwrap();
        for p in chunk {
            tx.insert_policy(p).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    let sealed = SealedValue { ciphertext: vec![0; 48], wrapped_dek: vec![0; 60], kek_version: 1 };
    let now = SystemClock.now();
    for start in (0..shape.filler_secrets).step_by(10_000) {
        let mut tx = store.begin().await.unwrap();
        for i in start..(start + 10_000).min(shape.filler_secrets) {
            let path = format!("filler/f{i}");
            let (secret_id, version) = tx.next_secret_version(vault, &path, now).await.unwrap();
            let record = SecretVersion {
                secret_id,
                vault_id: vault,
                path,
                version,
                secret_type: "generic".to_owned(),
                metadata: json!({}),
                rotation_policy: None,
                expires_at: None,
                max_access_count: None,
                access_count: 0,
                is_disabled: false,
                deleted_at: None,
                created_by: owner,
                created_at: now,
            };
            tx.insert_secret_version(&record, &sealed).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    eprintln!(
        "loaded {} policies and {} filler secrets through the store in {:.1?}",
        policies.len(),
        shape.filler_secrets,
        loading.elapsed()
    );
    let key = agent["api_key"].as_str().unwrap();
    let exchanged = call(&run, post, "/v1/auth/agent-token", "", json!({"api_key": key, "agent_id": agent_id})).await;
    let agent_token = exchanged["access_token"].as_str().unwrap().to_owned();
    let url = Arc::new(vec![format!("{}{path}", run.base)]);
    Prepared { run, agent_token, url }
}

pub async fn scale(small: Shape, large: Shape, concurrency: usize, reads: usize) {
    let sides = [prepare(&small).await, prepare(&large).await];
    for side in &sides {
        read_round_with(&side.run.http, &side.agent_token, &side.url, concurrency, reads / 4).await; // warm-up
    }
    let mut results: [Vec<(f64, Vec<Duration>)>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..2 {
        for (i, side) in sides.iter().enumerate() {
            results[i].push(read_round_with(&side.run.http, &side.agent_token, &side.url, concurrency, reads).await);
        }
    }
    let summary: Vec<(f64, Duration, Duration)> = results
        .iter()
        .map(|rounds| {
            let rate = rounds.iter().map(|r| r.0).sum::<f64>() / rounds.len() as f64;
            let mut all: Vec<Duration> = rounds.iter().flat_map(|r| r.1.iter().copied()).collect();
            all.sort();
            (rate, percentile(&all, 0.5), percentile(&all, 0.99))
        })
        .collect();
    println!("agent reads of one secret over HTTP, SQLite, {concurrency} clients, {reads} reads per round, 2 rounds:");
    for ((rate, p50, p99), (name, shape)) in summary.iter().zip([("small", &small), ("large", &large)]) {
        println!(
            "  {name}: {} filler secrets, {} policies on the agent, {} on others: {rate:>7.0} reads/s  p50 {p50:?}  p99 {p99:?}",
            shape.filler_secrets, shape.agent_policies, shape.other_policies
        );
    }
    println!("  large/small p50: {:.2}", summary[1].1.as_secs_f64() / summary[0].1.as_secs_f64());
}
