//! `hsm-reads`: what the PKCS#11 provider costs and what the DEK cache saves, in one run.
//!
//! 1. Key-provider throughput, straight through the provider: AES-GCM wrap+unwrap pairs per
//!    second on the SoftHSM2 token (one and two callers) and with AES key wrap pad, against the
//!    local keyring measured in the same run.
//! 2. Secret reads over HTTP with KEKs in the token, DEK cache on versus off, with the number of
//!    HSM operations per read counted at the provider; the local keyring with the cache on is
//!    the baseline.
//!
//! Needs a token in the environment: `eval "$(scripts/softhsm-token.sh /tmp/bench-hsm)"`.

use crate::{percentile, read_round_with, signup};
use async_trait::async_trait;
use oneclaw_core::clock::SystemClock;
use oneclaw_core::ids::VaultId;
use oneclaw_core::ports::{DataKey, KekRef, KeyProvider};
use oneclaw_crypto::{LocalKeyring, MasterKey};
use oneclaw_pkcs11::{Pkcs11Config, Pkcs11Provider, WrapMechanism};
use oneclaw_server::config::{KeyProviderKind, Pkcs11Settings};
use oneclaw_server::{App, ServerConfig};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// Counts the calls that reach the key provider (wrap and unwrap: the HSM operations of a read).
struct Counting {
    inner: Arc<dyn KeyProvider>,
    operations: AtomicU64,
}

#[async_trait]
impl KeyProvider for Counting {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    async fn create_kek(&self, vault: VaultId, version: i64) -> oneclaw_core::Result<KekRef> {
        self.inner.create_kek(vault, version).await
    }
    async fn destroy_kek(&self, kek: &KekRef) -> oneclaw_core::Result<()> {
        self.inner.destroy_kek(kek).await
    }
    async fn wrap_dek(&self, kek: &KekRef, dek: &DataKey, aad: &[u8]) -> oneclaw_core::Result<Vec<u8>> {
        self.operations.fetch_add(1, Ordering::Relaxed);
        self.inner.wrap_dek(kek, dek, aad).await
    }
    async fn unwrap_dek(&self, kek: &KekRef, wrapped: &[u8], aad: &[u8]) -> oneclaw_core::Result<DataKey> {
        self.operations.fetch_add(1, Ordering::Relaxed);
        self.inner.unwrap_dek(kek, wrapped, aad).await
    }
    async fn seal_system_secret(&self, purpose: &str, secret: &[u8]) -> oneclaw_core::Result<Vec<u8>> {
        self.inner.seal_system_secret(purpose, secret).await
    }
    async fn unseal_system_secret(&self, purpose: &str, sealed: &[u8]) -> oneclaw_core::Result<Zeroizing<Vec<u8>>> {
        self.inner.unseal_system_secret(purpose, sealed).await
    }
}

fn token_settings() -> Pkcs11Settings {
    let module = std::env::var("ONECLAW_PKCS11_MODULE")
        .expect("no token: eval \"$(scripts/softhsm-token.sh /tmp/bench-hsm)\" first");
    Pkcs11Settings {
        module: module.into(),
        token_label: std::env::var("ONECLAW_PKCS11_TOKEN_LABEL").expect("ONECLAW_PKCS11_TOKEN_LABEL"),
        pin_file: None,
        sessions: 2,
        mechanism: "aes-gcm".to_owned(),
        timeout_ms: 5_000,
    }
}

fn provider(mechanism: WrapMechanism) -> Arc<dyn KeyProvider> {
    let settings = token_settings();
    Arc::new(
        Pkcs11Provider::connect(Pkcs11Config {
            module: settings.module,
            token_label: settings.token_label,
            pin: Zeroizing::new(std::env::var("ONECLAW_PKCS11_PIN").expect("ONECLAW_PKCS11_PIN")),
            sessions: 2,
            mechanism,
            call_timeout: Duration::from_secs(5),
        })
        .unwrap(),
    )
}

/// Wrap+unwrap pairs per second with `callers` concurrent callers.
async fn pairs_per_second(keys: Arc<dyn KeyProvider>, pairs: usize, callers: usize) -> f64 {
    let kek = keys.create_kek(VaultId::generate(), 1).await.unwrap();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..callers {
        let (keys, kek) = (keys.clone(), kek.clone());
        tasks.push(tokio::spawn(async move {
            let dek = DataKey(Zeroizing::new([42u8; 32]));
            for _ in 0..pairs / callers {
                let wrapped = keys.wrap_dek(&kek, &dek, b"bench|aad").await.unwrap();
                let back = keys.unwrap_dek(&kek, &wrapped, b"bench|aad").await.unwrap();
                assert_eq!(*back.0, *dek.0);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let rate = pairs as f64 / started.elapsed().as_secs_f64();
    keys.destroy_kek(&kek).await.unwrap();
    rate
}

async fn provider_throughput(pairs: usize) {
    let local: Arc<dyn KeyProvider> = Arc::new(LocalKeyring::new(MasterKey::from_hex(&"5a".repeat(32)).unwrap()));
    let gcm = provider(WrapMechanism::AesGcm);
    let kwp = provider(WrapMechanism::AesKeyWrapPad);
    let local_rate = pairs_per_second(local, pairs, 1).await;
    let gcm_one = pairs_per_second(gcm.clone(), pairs, 1).await;
    let gcm_two = pairs_per_second(gcm, pairs, 2).await;
    let kwp_one = pairs_per_second(kwp, pairs, 1).await;
    println!("key-provider throughput, {pairs} wrap+unwrap pairs each (async API, blocking pool, release):");
    println!("  local keyring, 1 caller           : {local_rate:>9.0} pairs/s  (baseline)");
    println!("  SoftHSM2 AES-GCM, 1 caller        : {gcm_one:>9.0} pairs/s  ({:.3} of local)", gcm_one / local_rate);
    println!("  SoftHSM2 AES-GCM, 2 callers       : {gcm_two:>9.0} pairs/s  ({:.3} of local)", gcm_two / local_rate);
    println!("  SoftHSM2 AES key wrap pad, 1 call.: {kwp_one:>9.0} pairs/s  ({:.3} of local)", kwp_one / local_rate);
}

struct ReadRun {
    rate: f64,
    p50: Duration,
    p99: Duration,
    operations_per_read: f64,
}

async fn reads(kind: KeyProviderKind, cache: usize, concurrency: usize, reads: usize) -> ReadRun {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::for_data_dir(dir.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.dek_cache_size = cache;
    if kind == KeyProviderKind::Pkcs11 {
        config.key_provider = KeyProviderKind::Pkcs11;
        config.pkcs11 = Some(token_settings());
    }
    let inner = oneclaw_server::keys::key_provider(&config).await.unwrap();
    let counting = Arc::new(Counting { inner, operations: AtomicU64::new(0) });
    let app = App::build_with_keys(&config, Arc::new(SystemClock), counting.clone()).await.unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    tokio::spawn(app.serve(std::future::pending()));
    let http = reqwest::Client::new();
    let token = signup(&http, &base).await;
    let vault: serde_json::Value = http
        .post(format!("{base}/v1/vaults"))
        .bearer_auth(&token)
        .json(&json!({"name": "bench"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let vault = vault["id"].as_str().unwrap().to_owned();
    let mut urls = Vec::new();
    for i in 0..100 {
        let url = format!("{base}/v1/vaults/{vault}/secrets/bench/secret-{i}");
        let put = http.put(&url).bearer_auth(&token).json(&json!({"value": format!("value-{i}")})).send().await.unwrap();
        assert_eq!(put.status().as_u16(), 201);
        urls.push(url);
    }
    let urls = Arc::new(urls);
    read_round_with(&http, &token, &urls, concurrency, reads / 4).await; // warm-up
    let before = counting.operations.load(Ordering::Relaxed);
    let (rate, mut latencies) = read_round_with(&http, &token, &urls, concurrency, reads).await;
    let operations = counting.operations.load(Ordering::Relaxed) - before;
    latencies.sort();
    ReadRun {
        rate,
        p50: percentile(&latencies, 0.5),
        p99: percentile(&latencies, 0.99),
        operations_per_read: operations as f64 / latencies.len() as f64,
    }
}

pub async fn hsm_reads(pairs: usize, concurrency: usize, count: usize) {
    provider_throughput(pairs).await;
    let baseline = reads(KeyProviderKind::Local, 10_000, concurrency, count).await;
    let cached = reads(KeyProviderKind::Pkcs11, 10_000, concurrency, count).await;
    let uncached = reads(KeyProviderKind::Pkcs11, 0, concurrency, count).await;
    println!("secret reads over HTTP, SQLite, {concurrency} clients, {count} reads of 100 secrets:");
    for (name, run) in [
        ("local keyring, cache on ", &baseline),
        ("SoftHSM2, DEK cache on  ", &cached),
        ("SoftHSM2, DEK cache off ", &uncached),
    ] {
        println!(
            "  {name}: {:>7.0} reads/s  p50 {:?}  p99 {:?}  HSM ops/read {:.3}  ({:.2} of baseline)",
            run.rate,
            run.p50,
            run.p99,
            run.operations_per_read,
            run.rate / baseline.rate
        );
    }
}
