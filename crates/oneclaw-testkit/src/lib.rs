//! Test kit: `spawn_app()` starts a real oneclaw server in-process on port 0, with a temporary
//! store and a clock the test can move, and returns helpers to talk to it over HTTP.
//!
//! Storage: SQLite in a temp directory by default. When `ONECLAW_TEST_DATABASE_URL` is set
//! (CI sets it), each app gets its own fresh PostgreSQL schema instead, dropped afterwards; a
//! PostgreSQL that cannot be reached then fails the test rather than skipping it.
//!
//! Keys: the local keyring by default. With `ONECLAW_TEST_KEY_PROVIDER=pkcs11` every app keeps
//! its KEKs in the SoftHSM2 token that `ONECLAW_PKCS11_*` names (see `scripts/softhsm-token.sh`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod clock;
pub mod conformance;
pub mod counting_store;
mod http;
pub mod memory;
mod outage;
mod postgres;
pub mod smtp;
pub mod spec_comparison;

pub use clock::TestClock;
pub use http::{Account, Response, TestAgent};
pub use outage::HsmOutageDouble;

use oneclaw_core::Core;
use oneclaw_core::ports::KeyProvider;
use oneclaw_server::config::{KeyProviderKind, Pkcs11Settings};
use oneclaw_server::{App, ServerConfig};
use std::sync::Arc;
use tokio::sync::oneshot;

/// A running server and what a test needs to drive it.
pub struct TestApp {
    pub base_url: String,
    pub addr: std::net::SocketAddr,
    pub http: reqwest::Client,
    pub clock: Arc<TestClock>,
    pub core: Core,
    pub config: ServerConfig,
    pub data_dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    _schema: Option<postgres::TestSchema>,
}

/// Starts a server with the default test configuration.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts a server after `adjust` has changed the test configuration.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut ServerConfig)) -> TestApp {
    spawn_app_with_keys(adjust, |keys| keys).await
}

/// Starts a server whose configured key provider first passes through `wrap` (to put a test
/// double such as `HsmOutageDouble` in front of it).
pub async fn spawn_app_with_keys(
    adjust: impl FnOnce(&mut ServerConfig),
    wrap: impl FnOnce(Arc<dyn KeyProvider>) -> Arc<dyn KeyProvider>,
) -> TestApp {
    spawn_app_with_parts(adjust, wrap, |store| store).await
}

/// Starts a server whose store answers through a `CountingStore`: the test reads `calls`.
pub async fn spawn_app_counting_store_calls() -> (TestApp, counting_store::StoreCalls) {
    let calls = counting_store::StoreCalls::default();
    let recorder = calls.clone();
    let app =
        spawn_app_with_parts(|_| {}, |keys| keys, move |store| counting_store::CountingStore::wrap(store, recorder))
            .await;
    (app, calls)
}

/// Starts a server with its key provider and its store each passed through a wrapper.
pub async fn spawn_app_with_parts(
    adjust: impl FnOnce(&mut ServerConfig),
    wrap: impl FnOnce(Arc<dyn KeyProvider>) -> Arc<dyn KeyProvider>,
    wrap_store: impl FnOnce(Arc<dyn oneclaw_core::ports::Store>) -> Arc<dyn oneclaw_core::ports::Store>,
) -> TestApp {
    oneclaw_types::tls::install_provider();
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut config = ServerConfig::for_data_dir(data_dir.path()).expect("the default configuration");
    config.listen = "127.0.0.1:0".parse().expect("address");
    // Billing is off unless a test turns it on: suites about other features are not metered.
    config.billing = false;
    // Mail tests deliver the outbox themselves, at the test clock's pace.
    config.mail_worker = false;
    // Webhook tests send the outbox themselves, at the test clock's pace.
    config.webhook_worker = false;
    let schema = match std::env::var("ONECLAW_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let schema = postgres::TestSchema::create(&url).await;
            config.database_url = schema.url.clone();
            Some(schema)
        }
        _ => None,
    };
    if std::env::var("ONECLAW_TEST_KEY_PROVIDER").as_deref() == Ok("pkcs11") {
        config.key_provider = KeyProviderKind::Pkcs11;
        config.pkcs11 = Some(hsm_settings().expect("ONECLAW_TEST_KEY_PROVIDER=pkcs11 needs ONECLAW_PKCS11_* set"));
    }
    adjust(&mut config);
    let clock = Arc::new(TestClock::default());
    let keys = oneclaw_server::keys::key_provider(&config)
        .await
        .unwrap_or_else(|err| panic!("key provider failed to start: {err}"));
    let app = App::build_with_parts(&config, clock.clone(), wrap(keys), wrap_store)
        .await
        .unwrap_or_else(|err| panic!("server failed to start: {err}"));
    let addr = app.local_addr().expect("bound address");
    let core = app.core().clone();
    let (shutdown, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.serve(async {
        let _ = stopped.await;
    }));
    TestApp {
        base_url: format!("http://{addr}"),
        addr,
        http: reqwest::Client::new(),
        clock,
        core,
        config,
        data_dir,
        shutdown: Some(shutdown),
        _schema: schema,
    }
}

/// The SoftHSM2 token in the environment (`scripts/softhsm-token.sh`), if there is one.
pub fn hsm_settings() -> Option<Pkcs11Settings> {
    let module = std::env::var("ONECLAW_PKCS11_MODULE").ok()?;
    let token_label = std::env::var("ONECLAW_PKCS11_TOKEN_LABEL").ok()?;
    Some(Pkcs11Settings {
        module: module.into(),
        token_label,
        pin_file: None,
        sessions: 2,
        mechanism: "aes-gcm".to_owned(),
        timeout_ms: 5_000,
    })
}

/// The SoftHSM2 token for a test that needs one: `None` (and a note) without one, unless
/// `ONECLAW_REQUIRE_HSM_TESTS=1` (CI), where a missing token fails the test.
pub fn require_hsm() -> Option<Pkcs11Settings> {
    let settings = hsm_settings();
    if settings.is_none() {
        assert!(
            std::env::var("ONECLAW_REQUIRE_HSM_TESTS").as_deref() != Ok("1"),
            "ONECLAW_REQUIRE_HSM_TESTS=1 but no token: eval \"$(scripts/softhsm-token.sh DIR)\" first"
        );
        eprintln!("no SoftHSM token in the environment (scripts/softhsm-token.sh): HSM part skipped");
    }
    settings
}

/// A second handle on the test token, to ask PKCS#11 itself about KEKs (`None` without one).
pub fn hsm_probe() -> Option<oneclaw_pkcs11::Pkcs11Provider> {
    let settings = require_hsm()?;
    let pin = std::env::var("ONECLAW_PKCS11_PIN").expect("ONECLAW_PKCS11_PIN");
    let config = oneclaw_pkcs11::Pkcs11Config {
        module: settings.module,
        token_label: settings.token_label,
        pin: zeroize::Zeroizing::new(pin),
        sessions: 1,
        mechanism: oneclaw_pkcs11::WrapMechanism::AesGcm,
        call_timeout: std::time::Duration::from_secs(5),
    };
    Some(oneclaw_pkcs11::Pkcs11Provider::connect(config).expect("connect to the test token"))
}

impl TestApp {
    /// Which backend this app runs on: `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        self.core.deps().store.backend()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}
