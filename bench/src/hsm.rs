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

use crate::{percentile, read_round_with, seed_secrets, signup};
use async_trait::async_trait;
use oneclaw_core::clock::SystemClock;
use oneclaw_core::ids::VaultId;
use oneclaw_core::ports::{DataKey, KekRef, KeyProvider};
use oneclaw_crypto::{LocalKeyring, MasterKey};
use oneclaw_pkcs11::{Pkcs11Config, Pkcs11Provider, WrapMechanism};
use oneclaw_server::config::{KeyProviderKind, Pkcs11Settings};
use oneclaw_server::{App, ServerConfig};
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

/// Wraps per second, then unwraps per second, with `callers` concurrent callers.
async fn operations_per_second(keys: Arc<dyn KeyProvider>, operations: usize, callers: usize) -> (f64, f64) {
    let kek = keys.create_kek(VaultId::generate(), 1).await.unwrap();
    let per_caller = operations / callers;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..callers {
        let (keys, kek) = (keys.clone(), kek.clone());
        tasks.push(tokio::spawn(async move {
            let dek = DataKey(Zeroizing::new([42u8; 32]));
            let mut blobs = Vec::with_capacity(per_caller);
            for _ in 0..per_caller {
                blobs.push(keys.wrap_dek(&kek, &dek, b"bench|aad").await.unwrap());
            }
            blobs
        }));
    }
    let mut blobs = Vec::new();
    for task in tasks {
        blobs.push(task.await.unwrap());
    }
    let wraps = (per_caller * callers) as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for mine in blobs {
        let (keys, kek) = (keys.clone(), kek.clone());
        tasks.push(tokio::spawn(async move {
            for blob in mine {
                let back = keys.unwrap_dek(&kek, &blob, b"bench|aad").await.unwrap();
                assert_eq!(*back.0, [42u8; 32]);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let unwraps = (per_caller * callers) as f64 / started.elapsed().as_secs_f64();
    keys.destroy_kek(&kek).await.unwrap();
    (wraps, unwraps)
}

async fn provider_throughput(operations: usize) {
    let local: Arc<dyn KeyProvider> = Arc::new(LocalKeyring::new(MasterKey::from_hex(&"5a".repeat(32)).unwrap()));
    let gcm = provider(WrapMechanism::AesGcm);
    let kwp = provider(WrapMechanism::AesKeyWrapPad);
    let runs = [
        ("local keyring, 1 caller       ", operations_per_second(local, operations, 1).await),
        ("SoftHSM2 AES-GCM, 1 caller    ", operations_per_second(gcm.clone(), operations, 1).await),
        ("SoftHSM2 AES-GCM, 2 callers   ", operations_per_second(gcm, operations, 2).await),
        ("SoftHSM2 key wrap pad, 1 call.", operations_per_second(kwp, operations, 1).await),
    ];
    let (base_wraps, base_unwraps) = runs[0].1;
    println!("key-provider throughput, {operations} wraps then {operations} unwraps each (async API, release):");
    for (name, (wraps, unwraps)) in runs {
        println!(
            "  {name}: {wraps:>8.0} wraps/s ({:.4} of local)  {unwraps:>8.0} unwraps/s ({:.4} of local)",
            wraps / base_wraps,
            unwraps / base_unwraps
        );
    }
}

/// A server with 100 secrets and a counter of key-provider calls.
struct ReadServer {
    http: reqwest::Client,
    token: String,
    urls: Arc<Vec<String>>,
    counting: Arc<Counting>,
    _dir: tempfile::TempDir,
}

async fn read_server(kind: KeyProviderKind, cache: usize) -> ReadServer {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::for_data_dir(dir.path()).unwrap();
    config.listen = "127.0.0.1:0".parse().unwrap();
    // Measured without billing: a metered free-tier org would be asked to pay after 1,000 reads.
    config.billing = false;
    config.dek_cache_size = cache;
    if kind == KeyProviderKind::Pkcs11 {
        config.key_provider = KeyProviderKind::Pkcs11;
        config.pkcs11 = Some(token_settings());
    }
    let inner = oneclaw_server::keys::key_provider(&config).await.unwrap();
    let counting = Arc::new(Counting { inner, operations: AtomicU64::new(0) });
    let app = App::build_with_parts(&config, Arc::new(SystemClock), counting.clone(), |store| store).await.unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    tokio::spawn(app.serve(std::future::pending()));
    let http = reqwest::Client::new();
    let token = signup(&http, &base).await;
    let urls = seed_secrets(&http, &base, &token).await;
    ReadServer { http, token, urls: Arc::new(urls), counting, _dir: dir }
}

/// Reads per second, latencies and key-provider calls of one round.
async fn round(server: &ReadServer, concurrency: usize, reads: usize) -> (f64, Vec<Duration>, u64) {
    let before = server.counting.operations.load(Ordering::Relaxed);
    let (rate, latencies) = read_round_with(&server.http, &server.token, &server.urls, concurrency, reads).await;
    (rate, latencies, server.counting.operations.load(Ordering::Relaxed) - before)
}

pub async fn hsm_reads(pairs: usize, concurrency: usize, count: usize) {
    provider_throughput(pairs).await;
    let servers = [
        ("local keyring, cache on ", read_server(KeyProviderKind::Local, 10_000).await),
        ("SoftHSM2, DEK cache on  ", read_server(KeyProviderKind::Pkcs11, 10_000).await),
        ("SoftHSM2, DEK cache off ", read_server(KeyProviderKind::Pkcs11, 0).await),
    ];
    for (_, server) in &servers {
        round(server, concurrency, count / 4).await; // warm-up
    }
    // Rounds alternate between the three, so drift on a shared machine hits each alike.
    let mut results: Vec<(f64, Vec<Duration>, u64)> = servers.iter().map(|_| (0.0, Vec::new(), 0)).collect();
    const ROUNDS: usize = 2;
    for _ in 0..ROUNDS {
        for ((_, server), result) in servers.iter().zip(results.iter_mut()) {
            let (rate, latencies, operations) = round(server, concurrency, count).await;
            result.0 += rate / ROUNDS as f64;
            result.1.extend(latencies);
            result.2 += operations;
        }
    }
    println!(
        "secret reads over HTTP, SQLite, {concurrency} clients, 100 secrets, {ROUNDS} alternating rounds of {count}:"
    );
    let baseline = results[0].0;
    for ((name, _), (rate, latencies, operations)) in servers.iter().zip(results.iter_mut()) {
        latencies.sort();
        println!(
            "  {name}: {rate:>7.0} reads/s  p50 {:?}  p99 {:?}  HSM ops/read {:.3}  ({:.2} of baseline)",
            percentile(latencies, 0.5),
            percentile(latencies, 0.99),
            *operations as f64 / latencies.len() as f64,
            *rate / baseline
        );
    }
}
