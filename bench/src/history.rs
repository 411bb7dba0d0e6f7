//! `write-history`: with billing on (the default), sequential writes of a new version to a path
//! with few versions and, in the same run, to a path with many: a write must not cost more as
//! its path's history grows (it reads only the newest version to know whether the path is new).

use crate::{percentile, start_with};
use serde_json::json;
use std::time::{Duration, Instant};

async fn timed_writes(http: &reqwest::Client, url: &str, token: &str, writes: usize) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(writes);
    for i in 0..writes {
        let began = Instant::now();
        let put = http.put(url).bearer_auth(token).json(&json!({"value": format!("timed-{i}")})).send().await.unwrap();
        assert_eq!(put.status().as_u16(), 201);
        latencies.push(began.elapsed());
    }
    latencies.sort();
    latencies
}

pub async fn write_history(versions: usize, writes: usize) {
    let run = start_with(true).await;
    let vault = crate::create_vault(&run.http, &run.base, &run.token, "history").await;
    let short = format!("{}/v1/vaults/{vault}/secrets/history/short", run.base);
    let long = format!("{}/v1/vaults/{vault}/secrets/history/long", run.base);
    let filling = Instant::now();
    for (url, count) in [(&short, 10), (&long, versions)] {
        for i in 0..count {
            let put = run.http.put(url).bearer_auth(&run.token).json(&json!({"value": format!("v{i}")})).send();
            assert_eq!(put.await.unwrap().status().as_u16(), 201);
        }
    }
    eprintln!("wrote 10 and {versions} versions in {:.1?}", filling.elapsed());
    let mut short_all = Vec::new();
    let mut long_all = Vec::new();
    for _ in 0..2 {
        short_all.extend(timed_writes(&run.http, &short, &run.token, writes).await);
        long_all.extend(timed_writes(&run.http, &long, &run.token, writes).await);
    }
    short_all.sort();
    long_all.sort();
    let (short_p50, long_p50) = (percentile(&short_all, 0.5), percentile(&long_all, 0.5));
    println!("sequential writes with billing on, SQLite, 2 alternating rounds of {writes}:");
    println!("  10 versions     : p50 {short_p50:?}  p99 {:?}", percentile(&short_all, 0.99));
    println!("  {versions} versions: p50 {long_p50:?}  p99 {:?}", percentile(&long_all, 0.99));
    println!("  p50 many/few: {:.2}", long_p50.as_secs_f64() / short_p50.as_secs_f64());
}
