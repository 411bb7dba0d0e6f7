//! Times every call to the key provider (HSM or keyring) by operation, and counts the calls
//! that fail, for `/metrics`. Wraps the provider only when metrics are on.

use async_trait::async_trait;
use oneclaw_core::Result;
use oneclaw_core::ids::VaultId;
use oneclaw_core::ports::{DataKey, KekRef, KeyHealth, KeyProvider};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;
use zeroize::Zeroizing;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    /// `wrap_dek`, `unwrap_dek`, `create_kek`, `destroy_kek`, `seal_system_secret`,
    /// `unseal_system_secret` or `health`.
    operation: &'static str,
}

/// The key-provider series: call latency and failures by operation.
#[derive(Clone)]
pub struct KeyTiming {
    durations: Family<OperationLabels, Histogram>,
    errors: Family<OperationLabels, Counter>,
}

impl KeyTiming {
    pub fn register(registry: &mut Registry) -> Self {
        // 20 µs (the keyring) to about 1.3 s (a struggling HSM).
        let durations = Family::<OperationLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.000_02, 2.0, 17))
        });
        registry.register(
            "key_provider_call_duration_seconds",
            "Time of each key-provider call (HSM or keyring), by operation",
            durations.clone(),
        );
        let errors = Family::<OperationLabels, Counter>::default();
        registry.register("key_provider_call_errors", "Key-provider calls that failed, by operation", errors.clone());
        Self { durations, errors }
    }

    async fn time<T>(&self, operation: &'static str, call: impl Future<Output = Result<T>>) -> Result<T> {
        let started = Instant::now();
        let result = call.await;
        let labels = OperationLabels { operation };
        self.durations.get_or_create(&labels).observe(started.elapsed().as_secs_f64());
        if result.is_err() {
            self.errors.get_or_create(&labels).inc();
        }
        result
    }
}

/// A key provider whose calls are timed and counted; everything else is the inner provider's.
pub struct TimedKeys {
    inner: Arc<dyn KeyProvider>,
    timing: KeyTiming,
}

impl TimedKeys {
    pub fn wrap(inner: Arc<dyn KeyProvider>, timing: KeyTiming) -> Arc<dyn KeyProvider> {
        Arc::new(Self { inner, timing })
    }
}

#[async_trait]
impl KeyProvider for TimedKeys {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    async fn create_kek(&self, vault_id: VaultId, version: i64) -> Result<KekRef> {
        self.timing.time("create_kek", self.inner.create_kek(vault_id, version)).await
    }

    async fn destroy_kek(&self, kek: &KekRef) -> Result<()> {
        self.timing.time("destroy_kek", self.inner.destroy_kek(kek)).await
    }

    async fn wrap_dek(&self, kek: &KekRef, dek: &DataKey, aad: &[u8]) -> Result<Vec<u8>> {
        self.timing.time("wrap_dek", self.inner.wrap_dek(kek, dek, aad)).await
    }

    async fn unwrap_dek(&self, kek: &KekRef, wrapped: &[u8], aad: &[u8]) -> Result<DataKey> {
        self.timing.time("unwrap_dek", self.inner.unwrap_dek(kek, wrapped, aad)).await
    }

    async fn seal_system_secret(&self, purpose: &str, secret: &[u8]) -> Result<Vec<u8>> {
        self.timing.time("seal_system_secret", self.inner.seal_system_secret(purpose, secret)).await
    }

    async fn unseal_system_secret(&self, purpose: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        self.timing.time("unseal_system_secret", self.inner.unseal_system_secret(purpose, sealed)).await
    }

    async fn health(&self) -> KeyHealth {
        let started = Instant::now();
        let health = self.inner.health().await;
        let labels = OperationLabels { operation: "health" };
        self.timing.durations.get_or_create(&labels).observe(started.elapsed().as_secs_f64());
        if matches!(health, KeyHealth::Unavailable(_)) {
            self.timing.errors.get_or_create(&labels).inc();
        }
        health
    }
}
