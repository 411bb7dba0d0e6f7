//! `login-flood`: many parallel wrong-password sign-ins from many addresses (127.1.x.y, all
//! loopback, so each gets its own per-address budget and every guess reaches Argon2), while 32
//! clients keep reading secrets. Prints the process's peak RSS and read throughput during the
//! flood against the same reads measured just before it, in the same run.

use crate::{percentile, read_round_with, seed_secrets, signup};
use oneclaw_core::clock::SystemClock;
use oneclaw_server::{App, ServerConfig};
use serde_json::json;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Peak and current resident set size of this process, in MiB (from /proc/self/status).
fn rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kib| kib.parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// `accounts`: how many different emails the guesses spread over (1: all on the benchmark's own
/// account, which the per-account limit stops after 10; `logins`: each an unknown address, so
/// every guess reaches Argon2 and only the hashing queue bounds the work).
pub async fn login_flood(logins: usize, accounts: usize, concurrency: usize, reads: usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::for_data_dir(dir.path()).unwrap();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.billing = false;
    let app = App::build(&config, Arc::new(SystemClock)).await.unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    tokio::spawn(app.serve(std::future::pending()));
    let http = reqwest::Client::new();
    let token = signup(&http, &base).await;
    let urls = Arc::new(seed_secrets(&http, &base, &token).await);
    read_round_with(&http, &token, &urls, concurrency, reads / 4).await; // warm-up
    let (before, _) = read_round_with(&http, &token, &urls, concurrency, reads).await;
    let (_, rss_before) = rss_mib();

    // The flood: `logins` wrong-password sign-ins at once, each from its own loopback address.
    let started = Instant::now();
    let mut flood = Vec::with_capacity(logins);
    for n in 0..logins {
        let address = IpAddr::V4(Ipv4Addr::new(127, 1, (n / 250) as u8, (n % 250 + 1) as u8));
        let client = reqwest::Client::builder().local_address(address).build().unwrap();
        let url = format!("{base}/v1/auth/token");
        flood.push(tokio::spawn(async move {
            let email = if accounts <= 1 {
                "bench@example.com".to_owned()
            } else {
                format!("flood-{}@example.com", n % accounts)
            };
            let answer = client.post(url).json(&json!({"email": email, "password": format!("wrong-{n}")})).send().await;
            answer.map_or(0, |response| response.status().as_u16())
        }));
    }
    let (during, latencies) = read_round_with(&http, &token, &urls, concurrency, reads).await;
    let mut statuses = BTreeMap::new();
    for task in flood {
        *statuses.entry(task.await.unwrap()).or_insert(0usize) += 1;
    }
    let flood_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (peak, after) = rss_mib();
    println!(
        "login flood: {logins} wrong-password sign-ins from {logins} addresses on {accounts} account(s), answered in {flood_secs:.1} s"
    );
    println!("  answers by status: {statuses:?}");
    println!("  RSS: {rss_before:.0} MiB before, peak {peak:.0} MiB, {after:.0} MiB a second after");
    println!(
        "  reads ({concurrency} clients): {before:.0}/s before (baseline), {during:.0}/s during the flood = {:.2} of baseline; p50 {:?}, p99 {:?}",
        during / before,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );
}
