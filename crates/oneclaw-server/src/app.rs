//! The composition root: picks the store and key provider named by the configuration, unseals
//! the server secrets, starts the domain and binds the listener.

use crate::config::{ServerConfig, Signup};
use crate::routes;
use crate::scheduler::{FirstRun, Scheduler};
use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use oneclaw_core::clock::Clock;
use oneclaw_core::ports::{KeyOperations, KeyProvider, Store};
use oneclaw_core::principal::{RequestMeta, Surface};
use oneclaw_core::{Core, CoreSettings, Deps, Error, Result, system};
use oneclaw_crypto::{Argon2Hasher, DekCacheConfig, Ed25519ChainSigner, Ed25519Signer, Envelope};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// How often a node re-reads revocations and IP rules made by other nodes.
const SYNC_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// How long giving back unused request places may take at shutdown (one transaction).
const LEASE_RETURN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// How long requests in flight get to finish once shutdown begins (SIGTERM, Ctrl-C).
pub(crate) const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// How often a node looks for KEK rotations left unfinished.
const KEY_MAINTENANCE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// A built server, bound to its address, not yet serving.
pub struct App {
    listener: TcpListener,
    router: Router,
    core: Core,
    checkpoint_every: std::time::Duration,
    /// Sends the outbox's mail; none when no SMTP server is configured.
    mail: Option<crate::mail::SmtpSender>,
    /// On PostgreSQL, the database whose change notices this node follows.
    notices_from: Option<String>,
    /// Sends the webhook outbox; none in tests that deliver by hand.
    webhooks: Option<crate::webhooks::WebhookSender>,
    /// HTTPS served directly: the files (read again on SIGHUP) and what they held at start.
    tls: Option<(crate::config::TlsFiles, Arc<rustls::ServerConfig>)>,
    /// `/metrics`: its own listener, and the metrics the router counts into.
    metrics: Option<(TcpListener, Arc<crate::metrics::Metrics>)>,
}

impl App {
    /// Builds everything the configuration names, with the given clock.
    pub async fn build(config: &ServerConfig, clock: Arc<dyn Clock>) -> Result<Self> {
        let keys: Arc<dyn KeyProvider> = crate::keys::key_provider(config).await?;
        Self::build_with_parts(config, clock, keys, |store| store).await
    }

    /// Builds with a key provider made by the caller, and the configured store passed through
    /// `wrap_store` (the test kit puts its doubles and its counting store there).
    pub async fn build_with_parts(
        config: &ServerConfig,
        clock: Arc<dyn Clock>,
        keys: Arc<dyn KeyProvider>,
        wrap_store: impl FnOnce(Arc<dyn Store>) -> Arc<dyn Store>,
    ) -> Result<Self> {
        // A certificate that does not load stops start-up before anything else is opened.
        let tls = config
            .tls
            .as_ref()
            .map(|files| crate::tls::load(files).map(|loaded| (files.clone(), loaded)))
            .transpose()?;
        // Metrics only when asked for: otherwise neither the counting layer nor the key-provider
        // timing runs.
        let counting = config.metrics_listen.map(|_| crate::metrics::Metrics::new());
        let keys = match &counting {
            Some(metrics) => crate::metrics::TimedKeys::wrap(keys, metrics.key_timing()),
            None => keys,
        };
        let core = open_core_with_parts(config, clock, keys, wrap_store).await?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|err| Error::Unavailable(format!("cannot listen on {}: {err}", config.listen)))?;
        let state = AppState {
            core: core.clone(),
            oidc: crate::oidc::Oidc::from_config(config),
            public_url: config.public_url.clone(),
            readiness: Arc::default(),
        };
        let metrics = match (config.metrics_listen, counting) {
            (Some(address), Some(counting)) => {
                let listener = TcpListener::bind(address)
                    .await
                    .map_err(|err| Error::Unavailable(format!("cannot listen on {address} for metrics: {err}")))?;
                Some((listener, counting))
            }
            _ => None,
        };
        let mut router = router(state, config);
        if let Some((_, counting)) = &metrics {
            router = router.layer(axum::middleware::from_fn_with_state(Arc::clone(counting), crate::metrics::track));
        }
        let checkpoint_every = std::time::Duration::from_secs(config.audit_checkpoint_secs);
        let mail = config.smtp.as_ref().filter(|_| config.mail_worker).map(crate::mail::SmtpSender::new).transpose()?;
        let on_postgres =
            config.database_url.starts_with("postgres://") || config.database_url.starts_with("postgresql://");
        let notices_from = on_postgres.then(|| config.database_url.clone());
        let webhooks = config.webhook_worker.then(|| crate::webhooks::WebhookSender::new(config.webhook_allow_private));
        Ok(Self { listener, router, core, checkpoint_every, mail, notices_from, webhooks, tls, metrics })
    }

    /// Where `/metrics` is served, if it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|(listener, _)| listener.local_addr().ok())
    }

    /// Whether the server serves HTTPS itself.
    pub fn serves_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> Result<SocketAddr> {
        self.listener.local_addr().map_err(|err| Error::Internal(format!("local address: {err}")))
    }

    /// The domain, for commands that act on it directly (such as `oneclaw dev`'s first user).
    pub fn core(&self) -> &Core {
        &self.core
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight. Meanwhile it
    /// re-reads, every few seconds, what other nodes may have revoked or changed.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let mut scheduler = Scheduler::default();
        let core = self.core.clone();
        scheduler.every(SYNC_INTERVAL, FirstRun::AfterOnePeriod, move || {
            let core = core.clone();
            async move {
                if let Err(err) = core.sync().await {
                    tracing::warn!(error = %err, "could not refresh revocations and IP rules");
                }
            }
        });
        if let Some(url) = self.notices_from.clone() {
            let core = self.core.clone();
            scheduler.keep_running(async move { follow_change_notices(&url, &core).await });
        }
        let core = self.core.clone();
        scheduler.every(self.checkpoint_every, FirstRun::AfterOnePeriod, move || {
            let core = core.clone();
            async move {
                if let Err(err) = core.audit().checkpoint_all().await {
                    tracing::warn!(error = %err, "could not sign audit checkpoints");
                }
            }
        });
        // Finishes KEK rotations that a crash or a killed process left half done: at start, then
        // every minute (another node may have died mid-rotation). Also logs the minute's
        // key-provider operations (the HSM metric: unwraps, wraps, DEK cache hits).
        let core = self.core.clone();
        let last = Arc::new(std::sync::Mutex::new(core.deps().cipher.key_operations()));
        scheduler.every(KEY_MAINTENANCE_INTERVAL, FirstRun::Now, move || {
            let (core, last) = (core.clone(), last.clone());
            async move { maintain_keys(&core, &last).await }
        });
        match self.mail {
            Some(sender) => {
                let (core, sender) = (self.core.clone(), Arc::new(sender));
                scheduler.every(crate::mail::POLL, FirstRun::Now, move || {
                    let (core, sender) = (core.clone(), sender.clone());
                    async move {
                        if let Err(err) = core.mail().deliver_due(sender.as_ref()).await {
                            tracing::warn!(error = %err, "could not deliver queued mail; will try again");
                        }
                    }
                });
            }
            None => tracing::info!(
                "mail is off (no ONECLAW_SMTP_URL): invitation and password-reset links are shown to people instead"
            ),
        }
        if let Some(sender) = self.webhooks {
            let (core, sender) = (self.core.clone(), Arc::new(sender));
            scheduler.every(crate::webhooks::POLL, FirstRun::Now, move || {
                let (core, sender) = (core.clone(), sender.clone());
                async move {
                    if let Err(err) = sender.deliver_due(&core).await {
                        tracing::warn!(error = %err, "could not send due webhook deliveries; will try again");
                    }
                }
            });
        }
        if let Some((listener, metrics)) = self.metrics {
            let app = crate::metrics::router(metrics, self.core.clone());
            scheduler.keep_running(async move {
                if let Err(err) = axum::serve(listener, app).await {
                    tracing::error!(error = %err, "the metrics listener stopped");
                }
            });
        }
        // Dropping the scheduler once serving ends stops every periodic task.
        let _scheduler = scheduler;
        let served = match self.tls {
            Some((files, loaded)) => crate::tls::serve(self.listener, self.router, files, loaded, shutdown).await,
            None => {
                let plain = |tcp: tokio::net::TcpStream| std::future::ready(Some(tcp));
                crate::listener::serve(self.listener, self.router, shutdown, plain, |_| ()).await
            }
        };
        // Request places this node leased and did not hand out go back to the org's month.
        let billing = self.core.billing();
        match tokio::time::timeout(LEASE_RETURN_TIMEOUT, billing.give_back_leases()).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::warn!(error = %err, "could not give back unused request places at shutdown"),
            Err(_) => tracing::warn!("gave up giving back unused request places at shutdown (timed out)"),
        }
        served
    }
}

/// One round of key maintenance: logs the key-provider operations since the last round, then
/// finishes interrupted KEK rotations.
async fn maintain_keys(core: &Core, last: &std::sync::Mutex<KeyOperations>) {
    let now = core.deps().cipher.key_operations();
    let before = last.lock().map(|mut last| std::mem::replace(&mut *last, now)).unwrap_or(now);
    if now != before {
        tracing::info!(
            provider = core.deps().keys.kind(),
            unwraps = now.unwraps.saturating_sub(before.unwraps),
            wraps = now.wraps.saturating_sub(before.wraps),
            dek_cache_hits = now.cache_hits.saturating_sub(before.cache_hits),
            "key-provider operations in the last minute"
        );
    }
    match core.keys().finish_pending(&RequestMeta::internal(Surface::Api)).await {
        Ok(finished) => {
            for rotation in finished {
                tracing::info!(vault_id = %rotation.vault_id, kek_version = rotation.kek_version,
                    rewrapped = rotation.rewrapped, "finished an interrupted KEK rotation");
            }
        }
        Err(err) => tracing::warn!(error = %err, "could not finish interrupted KEK rotations"),
    }
}

/// Opens the store and key provider the configuration names, unseals the server secrets and
/// starts the domain: everything but the listener (the offline `oneclaw audit` commands use it).
pub async fn open_core(config: &ServerConfig, clock: Arc<dyn Clock>) -> Result<Core> {
    let keys: Arc<dyn KeyProvider> = crate::keys::key_provider(config).await?;
    open_core_with_parts(config, clock, keys, |store| store).await
}

/// `open_core` with a key provider made by the caller and the store passed through `wrap_store`.
pub async fn open_core_with_parts(
    config: &ServerConfig,
    clock: Arc<dyn Clock>,
    keys: Arc<dyn KeyProvider>,
    wrap_store: impl FnOnce(Arc<dyn Store>) -> Arc<dyn Store>,
) -> Result<Core> {
    prepare_data_dir(&config.data_dir)?;
    let read_cache = std::time::Duration::from_millis(config.read_cache_ms);
    let store = wrap_store(oneclaw_store::open_with(&config.database_url, read_cache).await?);
    let seed = system::load_or_create(
        store.as_ref(),
        keys.as_ref(),
        clock.as_ref(),
        system::JWT_SIGNING_SEED,
        Ed25519Signer::generate_seed,
    )
    .await?;
    let pepper =
        system::load_or_create(store.as_ref(), keys.as_ref(), clock.as_ref(), system::CREDENTIAL_PEPPER, || {
            Ed25519Signer::generate_seed()
        })
        .await?;
    let checkpoint_seed = system::load_or_create(
        store.as_ref(),
        keys.as_ref(),
        clock.as_ref(),
        system::AUDIT_CHECKPOINT_SEED,
        Ed25519Signer::generate_seed,
    )
    .await?;
    let journal = Arc::new(oneclaw_store::GroupCommitJournal::start(
        store.clone(),
        std::time::Duration::from_secs(config.request_timeout_secs),
    ));
    let counter = Arc::new(oneclaw_store::GroupCommitMeter::start(
        store.clone(),
        std::time::Duration::from_secs(config.request_timeout_secs),
    ));
    let deps = Deps {
        journal,
        counter,
        chain_signer: Arc::new(Ed25519ChainSigner::from_seed(&checkpoint_seed)?),
        cipher: Arc::new(Envelope::with_cache(
            keys.clone(),
            DekCacheConfig {
                capacity: config.dek_cache_size,
                ttl: std::time::Duration::from_secs(config.dek_cache_ttl_secs),
            },
        )),
        tokens: Arc::new(Ed25519Signer::from_seed(&seed)?),
        hasher: Arc::new(Argon2Hasher::new(pepper)?),
        store,
        keys,
        clock,
        settings: CoreSettings {
            access_token_ttl_secs: config.access_token_ttl_secs,
            signup_open: config.signup == Signup::Open,
            billing: oneclaw_core::services::BillingSettings {
                enabled: config.billing,
                free_requests: config.free_tier_requests,
            },
            public_url: config.public_url.clone().unwrap_or_else(|| format!("http://{}", config.listen)),
            mail_enabled: config.smtp.is_some(),
            webhook_allow_private: config.webhook_allow_private,
            execute_allow_private: config.execute_allow_private,
            ..CoreSettings::default()
        },
        policy_sets: Default::default(),
        intents: Arc::new(crate::intents::Runner::new()),
    };
    let core = Core::start(deps).await?;
    Ok(core)
}

/// Reloads revocations and IP rules whenever a node commits a change to them (PostgreSQL), so
/// a revocation made anywhere is refused here within moments; the periodic sync stays as the
/// backstop for a listener that is down.
async fn follow_change_notices(url: &str, core: &Core) {
    let sync = async || {
        if let Err(err) = core.sync().await {
            tracing::warn!(error = %err, "could not refresh revocations and IP rules");
        }
    };
    loop {
        match oneclaw_store::sync_notices::SyncNotices::listen(url).await {
            Ok(mut notices) => {
                // What committed before the subscription took hold was not noticed.
                sync().await;
                while notices.next().await.is_ok() {
                    sync().await;
                }
            }
            Err(err) => tracing::warn!(error = %err, "cannot listen for change notices; the periodic sync still runs"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// The REST routes' one layer: the request metered (`billing::meter`) within the configured
/// time limit, answered 503 when it takes longer. Dropping the handler's
/// future rolls back any transaction still open, so nothing is left half done; a write that had
/// already joined a group commit (SQLite) is committed whole with it, so like any request that
/// times out, its outcome is for the client to check, never half applied.
async fn metered_within_time_limit(
    axum::extract::State((limit, billing)): axum::extract::State<(std::time::Duration, crate::billing::BillingLayer)>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let metered = crate::billing::meter(axum::extract::State(billing), request, next);
    match tokio::time::timeout(limit, metered).await {
        Ok(response) => response,
        // As every 503: logged (at most once a second) and with a `Retry-After`.
        Err(_) => crate::error::ApiError::from(oneclaw_core::Error::Unavailable(format!(
            "The request took longer than {} seconds and was abandoned; try again",
            limit.as_secs()
        )))
        .into_response(),
    }
}

/// Creates the data directory readable by its owner only (it holds the database and the master
/// key); warns when an existing one is open to others.
pub(crate) fn prepare_data_dir(dir: &std::path::Path) -> Result<()> {
    if !dir.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(dir)
            .map_err(|err| Error::Unavailable(format!("cannot create the data directory {}: {err}", dir.display())))?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(dir)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(dir = %dir.display(), "the data directory is accessible to other users; chmod 700 it");
        }
    }
    Ok(())
}

/// The HTTP router with its middleware.
pub fn router(state: AppState, config: &ServerConfig) -> Router {
    // A stalled dependency fails the request (503, ProblemDetails) instead of hanging it. Not
    // on /mcp: its SSE streams live as long as the client wants, and each tool call is a core
    // call that has its own store and key-provider time limits.
    let billing =
        crate::billing::BillingLayer::new(state.core.clone(), config.x402_pay_to.clone(), &config.x402_facilitator_url);
    let api = routes::router()
        .merge(crate::billing::routes())
        .merge(crate::openapi::routes())
        .merge(crate::dashboard::routes())
        // Metered inside the time limit (one layer): a stalled counter is a 503 like any
        // stalled dependency.
        .layer(axum::middleware::from_fn_with_state(
            (std::time::Duration::from_secs(config.request_timeout_secs), billing),
            metered_within_time_limit,
        ));
    let mcp = crate::mcp::routes(state.clone(), &config.mcp_allowed_hosts);
    let outermost = crate::request_context::Outermost {
        proxies: crate::proxy::TrustedProxies::new(config.trusted_proxies.clone()),
        identify: crate::identity::Identify::new(
            state.clone(),
            std::time::Duration::from_secs(config.request_timeout_secs),
        ),
    };
    api.merge(mcp)
        .with_state(state)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        // Outermost: the request's id and log span, its client (through trusted proxies) and
        // who is asking, once for every layer and handler inside; and the headers of every
        // answer (no cache may keep an answer, no browser may sniff one). No failure event per
        // 5xx: error.rs logs internal errors and (rate-limited) 503s itself.
        .layer(axum::middleware::from_fn_with_state(outermost, crate::request_context::assign))
}
