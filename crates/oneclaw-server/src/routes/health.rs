//! Health (liveness, readiness, the key provider) and public keys.

use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use oneclaw_core::ports::KeyHealth;
use oneclaw_types::auth::{Jwk, JwkSet, JwtPublicKeyResponse};
use oneclaw_types::health::{
    HealthResponse, HsmHealthResponse, KeyProviderHealthResponse, ReadinessChecks, ReadinessResponse,
};
use std::time::{Duration, Instant};

/// How long each readiness check may take before it counts as failing.
const READY_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/health/ready", get(ready))
        .route("/v1/health/hsm", get(hsm_health))
        .route("/v1/health/key-provider", get(key_provider_health))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/v1/auth/jwt-public-key", get(jwt_public_key))
}

/// 200 `healthy` when the database answers; 503 `degraded` when it does not.
async fn health(State(state): State<AppState>) -> (StatusCode, Json<HealthResponse>) {
    let (status, word) = match state.core.deps().store.ping().await {
        Ok(()) => (StatusCode::OK, "healthy"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "degraded"),
    };
    (status, Json(HealthResponse { status: word.to_owned(), version: env!("CARGO_PKG_VERSION").to_owned() }))
}

/// For orchestrators: 200 `ready` when the database answers, the key provider is not
/// unavailable and a write transaction opens (every request's audit record needs one); 503
/// `not_ready` naming what fails. The write transaction is rolled back: nothing is written.
/// Not a liveness check: `/v1/health` stays the cheap one. Anyone may ask, so at most one check
/// runs at a time: a caller that waited for one gets its answer (`Readiness`).
async fn ready(State(state): State<AppState>) -> (StatusCode, Json<ReadinessResponse>) {
    let arrived = Instant::now();
    let mut last = state.readiness.last.lock().await;
    let checks = match &*last {
        Some((finished, checks)) if *finished >= arrived => checks.clone(),
        _ => {
            let checks = check_readiness(&state).await;
            *last = Some((Instant::now(), checks.clone()));
            checks
        }
    };
    drop(last);
    let all = [&checks.database, &checks.key_provider, &checks.audit].iter().all(|check| *check == "ok");
    let status = if all { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(ReadinessResponse { status: if all { "ready" } else { "not_ready" }.to_owned(), checks }))
}

/// The last readiness check and when it finished, behind the lock that lets one run at a time.
#[derive(Default)]
pub struct Readiness {
    last: tokio::sync::Mutex<Option<(Instant, ReadinessChecks)>>,
}

async fn check_readiness(state: &AppState) -> ReadinessChecks {
    let deps = state.core.deps();
    let database = within(async { deps.store.ping().await.is_ok() });
    let key_provider = within(async { !matches!(deps.keys.health().await, KeyHealth::Unavailable(_)) });
    // Dropping the transaction rolls it back.
    let audit = within(async { deps.store.begin_batch().await.is_ok() });
    let (database, key_provider, audit) = tokio::join!(database, key_provider, audit);
    let word = |ok: bool| if ok { "ok" } else { "failing" }.to_owned();
    ReadinessChecks { database: word(database), key_provider: word(key_provider), audit: word(audit) }
}

/// Whether `check` passed within the readiness timeout.
async fn within(check: impl Future<Output = bool>) -> bool {
    tokio::time::timeout(READY_CHECK_TIMEOUT, check).await.unwrap_or(false)
}

/// 1claw's key-provider health: the status word only (as `key_provider_health`).
async fn hsm_health(State(state): State<AppState>) -> (StatusCode, Json<HsmHealthResponse>) {
    let (status, Json(full)) = key_provider_health(State(state)).await;
    (status, Json(HsmHealthResponse { status: full.status }))
}

/// The key provider: 200 `ok` or `degraded` (answering, but calls failed in the last 30 s),
/// 503 `unavailable` (requests that need a key are failing). Only the provider's kind is
/// named, never its module, token or PIN; operation counts are on `/metrics`.
async fn key_provider_health(State(state): State<AppState>) -> (StatusCode, Json<KeyProviderHealthResponse>) {
    let keys = &state.core.deps().keys;
    let (status, word) = match keys.health().await {
        KeyHealth::Ok => (StatusCode::OK, "ok"),
        KeyHealth::Degraded(detail) => {
            tracing::warn!(%detail, "key provider degraded");
            (StatusCode::OK, "degraded")
        }
        KeyHealth::Unavailable(detail) => {
            tracing::warn!(%detail, "key provider unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
        }
    };
    (status, Json(KeyProviderHealthResponse { status: word.to_owned(), provider: keys.kind().to_owned() }))
}

async fn jwks(State(state): State<AppState>) -> Json<JwkSet> {
    let key = state.core.deps().tokens.verifying_key();
    Json(JwkSet {
        keys: vec![Jwk {
            kty: "OKP".to_owned(),
            crv: "Ed25519".to_owned(),
            x: URL_SAFE_NO_PAD.encode(&key.public_key),
            kid: key.kid,
            alg: key.alg.to_owned(),
            key_use: "sig".to_owned(),
        }],
    })
}

async fn jwt_public_key(State(state): State<AppState>) -> Json<JwtPublicKeyResponse> {
    let key = state.core.deps().tokens.verifying_key();
    Json(JwtPublicKeyResponse { alg: key.alg.to_owned(), public_key_base64: STANDARD.encode(&key.public_key) })
}
