//! oneclaw benchmarks. Run from the repository root:
//!
//! ```sh
//! cargo run --release --manifest-path bench/Cargo.toml -- secret-reads
//! cargo run --release --manifest-path bench/Cargo.toml -- audit-query --events 10000000
//! eval "$(scripts/softhsm-token.sh /tmp/bench-hsm)"
//! cargo run --release --manifest-path bench/Cargo.toml -- hsm-reads
//! cargo run --release --manifest-path bench/Cargo.toml -- login-flood
//! ```
//!
//! Both start a real server (SQLite, local keyring) in-process and drive it over HTTP.
//! `secret-reads` measures reads with auditing on and, in the same run, with audit writes
//! switched off (a benchmark-only store feature), and prints the ratio. `audit-query` fills the
//! audit log with N chained events of one org and times `GET /v1/audit/events?actor_id=…`.
//! `hsm-reads` (in `hsm.rs`) measures the PKCS#11 provider and the DEK cache.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod flood;
mod history;
mod hsm;
mod scale;

use clap::{Parser, Subcommand};
use oneclaw_core::audit::chain::Head;
use oneclaw_core::audit::{AuditEvent, Outcome};
use oneclaw_core::clock::SystemClock;
use oneclaw_core::ids::{AuditEventId, OrgId};
use oneclaw_server::{App, ServerConfig};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Concurrent secret reads, auditing on versus off, in one run.
    SecretReads {
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value_t = 20_000)]
        reads: usize,
    },
    /// PKCS#11 wrap/unwrap throughput, and reads with the DEK cache on and off (needs a token).
    HsmReads {
        #[arg(long, default_value_t = 5_000)]
        pairs: usize,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value_t = 20_000)]
        reads: usize,
    },
    /// Secret reads with billing metering on versus off (two servers, alternating rounds).
    Metering {
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value_t = 20_000)]
        reads: usize,
    },
    /// Parallel wrong-password sign-ins from many addresses while clients read secrets: peak
    /// RSS, and reads during the flood against reads just before it.
    LoginFlood {
        #[arg(long, default_value_t = 2_000)]
        logins: usize,
        /// Distinct emails guessed at (1: one account, stopped by its limit).
        #[arg(long, default_value_t = 2_000)]
        accounts: usize,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value_t = 10_000)]
        reads: usize,
    },
    /// Sequential writes with billing on to a path with 10 versions and to one with many.
    WriteHistory {
        #[arg(long, default_value_t = 10_000)]
        versions: usize,
        #[arg(long, default_value_t = 200)]
        writes: usize,
    },
    /// An agent's reads of one secret: a small vault against a large one (filler secrets and
    /// policies loaded through the store), same run.
    Scale {
        #[arg(long, default_value_t = 100_000)]
        secrets: usize,
        #[arg(long, default_value_t = 100_000)]
        policies: usize,
        /// Of `policies`, how many are the reading agent's.
        #[arg(long, default_value_t = 10_000)]
        agent_policies: usize,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        #[arg(long, default_value_t = 20_000)]
        reads: usize,
    },
    /// `GET /v1/audit/events` filtered by actor over a large audit log.
    AuditQuery {
        #[arg(long, default_value_t = 10_000_000)]
        events: usize,
        #[arg(long, default_value_t = 1000)]
        actors: usize,
        #[arg(long, default_value_t = 200)]
        queries: usize,
    },
}

struct Running {
    base: String,
    http: reqwest::Client,
    token: String,
    config: ServerConfig,
    core: oneclaw_core::Core,
    _dir: tempfile::TempDir,
}

async fn start() -> Running {
    start_with(false).await
}

/// A server; with `metered`, billing counts every request (with an allowance nothing exceeds).
async fn start_with(metered: bool) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::for_data_dir(dir.path()).unwrap();
    config.listen = "127.0.0.1:0".parse().unwrap();
    // Unmetered unless asked: a metered free-tier org would be asked to pay after 1,000 reads.
    config.billing = metered;
    config.free_tier_requests = i64::MAX / 2;
    let app = App::build(&config, Arc::new(SystemClock)).await.unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    let core = app.core().clone();
    tokio::spawn(app.serve(std::future::pending()));
    let http = reqwest::Client::new();
    let token = signup(&http, &base).await;
    Running { base, http, token, config, core, _dir: dir }
}

/// Signs up the benchmark's user and returns its access token.
pub(crate) async fn signup(http: &reqwest::Client, base: &str) -> String {
    let signup: serde_json::Value = http
        .post(format!("{base}/v1/auth/signup"))
        .json(&json!({"email": "bench@example.com", "password": "bench password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    signup["access_token"].as_str().unwrap().to_owned()
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

async fn read_round(run: &Running, urls: &Arc<Vec<String>>, concurrency: usize, reads: usize) -> (f64, Vec<Duration>) {
    read_round_with(&run.http, &run.token, urls, concurrency, reads).await
}

/// `reads` GETs of `urls` from `concurrency` clients: reads per second and every latency.
pub(crate) async fn read_round_with(
    http: &reqwest::Client,
    token: &str,
    urls: &Arc<Vec<String>>,
    concurrency: usize,
    reads: usize,
) -> (f64, Vec<Duration>) {
    let started = Instant::now();
    let per_task = reads / concurrency;
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let (http, token, urls) = (http.clone(), token.to_owned(), urls.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_task);
            for i in 0..per_task {
                let url = &urls[(t * per_task + i) % urls.len()];
                let began = Instant::now();
                let response = http.get(url).bearer_auth(&token).send().await.unwrap();
                assert_eq!(response.status().as_u16(), 200);
                let _ = response.bytes().await.unwrap();
                latencies.push(began.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    (all.len() as f64 / elapsed, all)
}

/// Creates a vault and returns its id.
pub(crate) async fn create_vault(http: &reqwest::Client, base: &str, token: &str, name: &str) -> String {
    let vault: serde_json::Value = http
        .post(format!("{base}/v1/vaults"))
        .bearer_auth(token)
        .json(&json!({"name": name}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    vault["id"].as_str().unwrap().to_owned()
}

/// Makes a vault with 100 secrets and returns their URLs.
pub(crate) async fn seed_secrets(http: &reqwest::Client, base: &str, token: &str) -> Vec<String> {
    let vault = create_vault(http, base, token, "bench").await;
    let mut urls = Vec::new();
    for i in 0..100 {
        let url = format!("{base}/v1/vaults/{vault}/secrets/bench/secret-{i}");
        let put = http.put(&url).bearer_auth(token).json(&json!({"value": format!("value-{i}")})).send().await.unwrap();
        assert_eq!(put.status().as_u16(), 201);
        urls.push(url);
    }
    urls
}

async fn metering(concurrency: usize, reads: usize) {
    let mut servers = Vec::new();
    for metered in [false, true] {
        let run = start_with(metered).await;
        if metered {
            // Enterprise: metered like any org, but no resource limit stops the 100 secrets.
            let me: serde_json::Value = run
                .http
                .get(format!("{}/v1/auth/me", run.base))
                .bearer_auth(&run.token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let user = oneclaw_core::ids::UserId(me["id"].as_str().unwrap().parse().unwrap());
            let org = run.core.deps().store.user(user).await.unwrap().unwrap().org_id;
            let meta = oneclaw_core::principal::RequestMeta::internal(oneclaw_core::principal::Surface::Cli);
            run.core.billing().set_tier(org, oneclaw_core::billing::Tier::Enterprise, &meta).await.unwrap();
        }
        let urls = Arc::new(seed_secrets(&run.http, &run.base, &run.token).await);
        read_round(&run, &urls, concurrency, reads / 4).await; // warm-up
        servers.push((run, urls));
    }
    let mut rates = [0.0f64; 2];
    let mut latencies = [Vec::new(), Vec::new()];
    for _ in 0..2 {
        for (i, (run, urls)) in servers.iter().enumerate() {
            let (rate, lat) = read_round(run, urls, concurrency, reads).await;
            rates[i] += rate / 2.0;
            latencies[i].extend(lat);
        }
    }
    println!("secret reads over HTTP, SQLite, {concurrency} clients, 2 alternating rounds of {reads}:");
    for (i, name) in ["billing off (baseline)", "billing on (metered)  "].iter().enumerate() {
        latencies[i].sort();
        println!(
            "  {name}: {:>7.0} reads/s  p50 {:?}  p99 {:?}  ({:.2} of baseline)",
            rates[i],
            percentile(&latencies[i], 0.5),
            percentile(&latencies[i], 0.99),
            rates[i] / rates[0]
        );
    }
}

async fn secret_reads(concurrency: usize, reads: usize) {
    let run = start().await;
    let urls = seed_secrets(&run.http, &run.base, &run.token).await;
    let urls = Arc::new(urls);
    read_round(&run, &urls, concurrency, reads / 4).await; // warm-up
    let mut on = Vec::new();
    let mut off = Vec::new();
    for _ in 0..2 {
        oneclaw_store::danger_bench::danger_skip_audit(false);
        on.push(read_round(&run, &urls, concurrency, reads).await);
        oneclaw_store::danger_bench::danger_skip_audit(true);
        off.push(read_round(&run, &urls, concurrency, reads).await);
    }
    oneclaw_store::danger_bench::danger_skip_audit(false);
    let summarize = |rounds: &[(f64, Vec<Duration>)]| {
        let rate = rounds.iter().map(|r| r.0).sum::<f64>() / rounds.len() as f64;
        let mut all: Vec<Duration> = rounds.iter().flat_map(|r| r.1.iter().copied()).collect();
        all.sort();
        (rate, percentile(&all, 0.5), percentile(&all, 0.99))
    };
    let (on_rate, on_p50, on_p99) = summarize(&on);
    let (off_rate, off_p50, off_p99) = summarize(&off);
    println!(
        "secret reads over HTTP, SQLite, {concurrency} concurrent clients, {reads} reads per round, 2 rounds each:"
    );
    println!("  auditing on : {on_rate:>9.0} reads/s  p50 {on_p50:?}  p99 {on_p99:?}");
    println!("  auditing off: {off_rate:>9.0} reads/s  p50 {off_p50:?}  p99 {off_p99:?}");
    println!("  ratio on/off: {:.2} of the throughput", on_rate / off_rate);
}

async fn audit_query(events: usize, actors: usize, queries: usize) {
    let run = start().await;
    let me: serde_json::Value = run
        .http
        .get(format!("{}/v1/auth/me", run.base))
        .bearer_auth(&run.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let user = oneclaw_core::ids::UserId(me["id"].as_str().unwrap().parse().unwrap());
    let org = run.core.deps().store.user(user).await.unwrap().unwrap().org_id;
    let actor_ids: Vec<uuid::Uuid> = (0..actors).map(|_| uuid::Uuid::now_v7()).collect();
    let filled = Instant::now();
    fill(&run, org, &actor_ids, events).await;
    println!("filled {events} chained events for one org in {:?}", filled.elapsed());

    // The fill outlives a user token: sign in again.
    let login: serde_json::Value = run
        .http
        .post(format!("{}/v1/auth/token", run.base))
        .json(&json!({"email": "bench@example.com", "password": "bench password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap().to_owned();
    let target = actor_ids[actors / 2];
    let mut latencies = Vec::new();
    let mut returned = 0;
    for i in 0..queries {
        let offset = (i % 10) * 100;
        let url = format!("{}/v1/audit/events?actor_id={target}&limit=100&offset={offset}", run.base);
        let began = Instant::now();
        let body: serde_json::Value =
            run.http.get(&url).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        latencies.push(began.elapsed());
        returned = body["count"].as_i64().unwrap_or_else(|| panic!("unexpected answer: {body}"));
    }
    latencies.sort();
    println!(
        "GET /v1/audit/events?actor_id=…&limit=100 over {events} events ({} per actor): p50 {:?}  p99 {:?}  ({} events per page)",
        events / actors,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        returned
    );
}

/// Appends chained events straight into the SQLite file, in large transactions.
async fn fill(run: &Running, org: OrgId, actors: &[uuid::Uuid], events: usize) {
    let pool = sqlx::SqlitePool::connect(&run.config.database_url).await.unwrap();
    let mut head: Head = run.core.deps().store.audit_head(org).await.unwrap();
    let base_time = time::OffsetDateTime::now_utc() - time::Duration::days(30);
    let batch = 5000;
    let rows_per_statement = 500;
    let mut written = 0;
    while written < events {
        let mut tx = pool.begin().await.unwrap();
        let end = (written + batch).min(events);
        let mut start = written;
        while start < end {
            let stop = (start + rows_per_statement).min(end);
            let mut rows = Vec::with_capacity(stop - start);
            for i in start..stop {
                let event = AuditEvent {
                    id: AuditEventId::generate(),
                    org_id: org,
                    actor_type: "agent".to_owned(),
                    actor_id: Some(actors[i % actors.len()]),
                    action: "secret.read".to_owned(),
                    resource_type: "secret".to_owned(),
                    resource_id: Some(uuid::Uuid::now_v7().to_string()),
                    details: json!({"path": format!("svc/key-{}", i % 500), "version": 1}),
                    ip_address: Some("10.0.0.7".to_owned()),
                    user_agent: Some("bench".to_owned()),
                    surface: "api".to_owned(),
                    outcome: Outcome::Success,
                    created_at: base_time + time::Duration::milliseconds(i as i64),
                    link: None,
                };
                let (link, next) = head.next(&event);
                head = next;
                rows.push((event, link));
            }
            let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO audit_events (id, org_id, actor_type, actor_id, action, resource_type, resource_id, details, \
                 ip_address, user_agent, surface, outcome, created_at, seq, prev_hash, hash) ",
            );
            insert.push_values(&rows, |mut row, (event, link)| {
                row.push_bind(event.id.0)
                    .push_bind(org.0)
                    .push_bind(event.actor_type.clone())
                    .push_bind(event.actor_id)
                    .push_bind(event.action.clone())
                    .push_bind(event.resource_type.clone())
                    .push_bind(event.resource_id.clone())
                    .push_bind(event.details.to_string())
                    .push_bind(event.ip_address.clone())
                    .push_bind(event.user_agent.clone())
                    .push_bind(event.surface.clone())
                    .push_bind(event.outcome.as_str())
                    .push_bind((event.created_at.unix_timestamp_nanos() / 1_000_000) as i64)
                    .push_bind(link.seq)
                    .push_bind(link.prev_hash.to_vec())
                    .push_bind(link.hash.to_vec());
            });
            insert.build().execute(&mut *tx).await.unwrap();
            start = stop;
        }
        sqlx::query("UPDATE audit_heads SET seq = $2, hash = $3 WHERE org_id = $1")
            .bind(org.0)
            .bind(head.seq)
            .bind(head.hash.to_vec())
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        written = end;
        if written % 1_000_000 == 0 {
            eprintln!("  {written} events");
        }
    }
}

#[tokio::main]
async fn main() {
    // reqwest speaks TLS through rustls without a built-in provider: make ring the process's
    // provider first (a second install is refused, harmlessly).
    let _ = rustls::crypto::ring::default_provider().install_default();
    match Cli::parse().command {
        Command::SecretReads { concurrency, reads } => secret_reads(concurrency, reads).await,
        Command::AuditQuery { events, actors, queries } => audit_query(events, actors, queries).await,
        Command::HsmReads { pairs, concurrency, reads } => hsm::hsm_reads(pairs, concurrency, reads).await,
        Command::Metering { concurrency, reads } => metering(concurrency, reads).await,
        Command::WriteHistory { versions, writes } => history::write_history(versions, writes).await,
        Command::Scale { secrets, policies, agent_policies, concurrency, reads } => {
            let small = scale::Shape { filler_secrets: 100, agent_policies: 10, other_policies: 0 };
            let large = scale::Shape {
                filler_secrets: secrets,
                agent_policies,
                other_policies: policies.saturating_sub(agent_policies),
            };
            scale::scale(small, large, concurrency, reads).await
        }
        Command::LoginFlood { logins, accounts, concurrency, reads } => {
            flood::login_flood(logins, accounts, concurrency, reads).await
        }
    }
}
