//! `GET /metrics` in the Prometheus text format (prometheus-client), on its own listener
//! (`ONECLAW_METRICS_LISTEN`) so the API port never shows it. Requests are counted and timed by
//! route template (never the concrete path: it holds secret paths and ids) and status; the rest
//! is read when scraped: key-provider operations and health, the DEK cache, the audit
//! journal's and the meter's group commits, the mail and webhook outboxes, the database pool.
//! Key-provider calls are timed as they happen (`key_timing`).

mod key_timing;

pub use key_timing::{KeyTiming, TimedKeys};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use oneclaw_core::Core;
use oneclaw_core::ports::{BatchStats, KeyHealth, KeyOperations};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutboxLabels {
    /// `mail` or `webhook`.
    outbox: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CommitLabels {
    /// `audit_journal` or `meter`.
    writer: String,
}

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram>,
    key_unwraps: Counter,
    key_wraps: Counter,
    dek_cache_hits: Counter,
    dek_cache_misses: Counter,
    dek_cache_evictions: Counter,
    key_timing: KeyTiming,
    outbox_waiting: Family<OutboxLabels, Gauge>,
    key_provider_up: Gauge,
    database_up: Gauge,
    commit_batches: Family<CommitLabels, Counter>,
    commit_items: Family<CommitLabels, Counter>,
    commit_waiting: Family<CommitLabels, Gauge>,
    pool_open: Gauge,
    pool_idle: Gauge,
    /// What the counters read from elsewhere stood at on the last scrape: each scrape adds the
    /// difference, so they stay counters.
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    key_operations: KeyOperations,
    journal: BatchStats,
    meter: BatchStats,
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        let mut registry = Registry::with_prefix("oneclaw");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "Requests answered, by method, route template and status", requests.clone());
        let durations = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer, by method and route template",
            durations.clone(),
        );
        let key_unwraps = Counter::default();
        registry.register(
            "key_unwraps",
            "Data keys unwrapped by the key provider (HSM or keyring)",
            key_unwraps.clone(),
        );
        let key_wraps = Counter::default();
        registry.register("key_wraps", "Data keys wrapped by the key provider", key_wraps.clone());
        let dek_cache_hits = Counter::default();
        registry.register(
            "dek_cache_hits",
            "Reads whose data key came from the cache, no provider call",
            dek_cache_hits.clone(),
        );
        let dek_cache_misses = Counter::default();
        registry.register(
            "dek_cache_misses",
            "Reads whose data key was not cached: each goes to the key provider",
            dek_cache_misses.clone(),
        );
        let dek_cache_evictions = Counter::default();
        registry.register(
            "dek_cache_evictions",
            "Cached data keys dropped, past the cache's capacity or expired",
            dek_cache_evictions.clone(),
        );
        let key_timing = KeyTiming::register(&mut registry);
        let outbox_waiting = Family::<OutboxLabels, Gauge>::default();
        registry.register(
            "outbox_waiting",
            "Mails and webhook deliveries not yet sent nor given up on",
            outbox_waiting.clone(),
        );
        let key_provider_up = Gauge::default();
        registry.register(
            "key_provider_up",
            "1 while the key provider answers (ok or degraded), else 0",
            key_provider_up.clone(),
        );
        let database_up = Gauge::default();
        registry.register("database_up", "1 while the database answers, else 0", database_up.clone());
        let commit_batches = Family::<CommitLabels, Counter>::default();
        registry.register(
            "group_commit_batches",
            "Transactions of the audit journal and the meter",
            commit_batches.clone(),
        );
        let commit_items = Family::<CommitLabels, Counter>::default();
        registry.register(
            "group_commit_items",
            "Audit events or request counts in those transactions",
            commit_items.clone(),
        );
        let commit_waiting = Family::<CommitLabels, Gauge>::default();
        registry.register("group_commit_waiting", "Items queued for the next transaction", commit_waiting.clone());
        let pool_open = Gauge::default();
        registry.register("database_pool_connections", "Database connections open", pool_open.clone());
        let pool_idle = Gauge::default();
        registry.register("database_pool_idle_connections", "Open database connections not in use", pool_idle.clone());
        Arc::new(Self {
            registry,
            requests,
            durations,
            key_unwraps,
            key_wraps,
            dek_cache_hits,
            dek_cache_misses,
            dek_cache_evictions,
            key_timing,
            outbox_waiting,
            key_provider_up,
            database_up,
            commit_batches,
            commit_items,
            commit_waiting,
            pool_open,
            pool_idle,
            seen: Mutex::new(Seen::default()),
        })
    }

    /// What times the key provider's calls (`TimedKeys`), feeding these metrics.
    pub fn key_timing(&self) -> KeyTiming {
        self.key_timing.clone()
    }

    /// Reads what is not counted as it happens, then writes every series out.
    async fn scrape(&self, core: &Core) -> String {
        let deps = core.deps();
        let healthy = !matches!(deps.keys.health().await, KeyHealth::Unavailable(_));
        self.key_provider_up.set(i64::from(healthy));
        self.database_up.set(i64::from(deps.store.ping().await.is_ok()));
        if let Some(pool) = deps.store.pool_use() {
            self.pool_open.set(i64::from(pool.open));
            self.pool_idle.set(i64::from(pool.idle));
        }
        for (outbox, waiting) in
            [("mail", deps.store.mails_waiting().await), ("webhook", deps.store.deliveries_waiting().await)]
        {
            // A database that does not answer leaves the last depth (database_up says why).
            if let Ok(waiting) = waiting {
                self.outbox_waiting.get_or_create(&OutboxLabels { outbox: outbox.to_owned() }).set(waiting);
            }
        }
        let now = deps.cipher.key_operations();
        let journal = deps.journal.stats().unwrap_or_default();
        let meter = deps.counter.stats().unwrap_or_default();
        if let Ok(mut guard) = self.seen.lock() {
            let seen = &mut *guard;
            let before = std::mem::replace(&mut seen.key_operations, now);
            self.key_unwraps.inc_by(now.unwraps.saturating_sub(before.unwraps));
            self.key_wraps.inc_by(now.wraps.saturating_sub(before.wraps));
            self.dek_cache_hits.inc_by(now.cache_hits.saturating_sub(before.cache_hits));
            self.dek_cache_misses.inc_by(now.cache_misses.saturating_sub(before.cache_misses));
            self.dek_cache_evictions.inc_by(now.cache_evictions.saturating_sub(before.cache_evictions));
            for (writer, stats, last) in
                [("audit_journal", journal, &mut seen.journal), ("meter", meter, &mut seen.meter)]
            {
                let labels = CommitLabels { writer: writer.to_owned() };
                self.commit_batches.get_or_create(&labels).inc_by(stats.batches.saturating_sub(last.batches));
                self.commit_items.get_or_create(&labels).inc_by(stats.items.saturating_sub(last.items));
                self.commit_waiting.get_or_create(&labels).set(i64::try_from(stats.waiting).unwrap_or(i64::MAX));
                *last = stats;
            }
        }
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            tracing::warn!("could not encode the metrics");
        }
        text
    }
}

/// Middleware: counts and times each request by its route template.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    // Known methods only: any other token would be a new series, and a flood of made-up
    // methods would grow memory without bound.
    let method = match request.method().as_str() {
        known @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => known,
        _ => "other",
    }
    .to_owned();
    // Unmatched paths are one series, not one per path an attacker tries.
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    metrics.requests.get_or_create(&RequestLabels { method: method.clone(), route: route.clone(), status }).inc();
    metrics.durations.get_or_create(&RouteLabels { method, route }).observe(started.elapsed().as_secs_f64());
    response
}

/// The router of the metrics listener.
pub fn router(metrics: Arc<Metrics>, core: Core) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let (metrics, core) = (Arc::clone(&metrics), core.clone());
            async move {
                let text = metrics.scrape(&core).await;
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
                    text,
                )
                    .into_response()
            }
        }),
    )
}
