//! The key provider goes away (`HsmOutageDouble`, a test double for a network HSM; see its
//! docs): requests that need a key fail fast with a clear 503, nothing is written half, hot
//! reads keep being served from the DEK cache, and service resumes by itself.

use oneclaw_testkit::{HsmOutageDouble, spawn_app_with_keys};
use reqwest::Method;
use serde_json::json;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

async fn app_with_switch(cache_size: usize) -> (oneclaw_testkit::TestApp, Arc<HsmOutageDouble>) {
    let switch = Arc::new(OnceLock::new());
    let slot = switch.clone();
    let app = spawn_app_with_keys(
        |config| config.dek_cache_size = cache_size,
        move |inner| {
            let double = HsmOutageDouble::wrap(inner);
            let _ = slot.set(double.clone());
            double
        },
    )
    .await;
    let switch = switch.get().unwrap().clone();
    (app, switch)
}

#[tokio::test]
async fn an_hsm_outage_answers_503_fast_writes_nothing_and_heals() {
    let (app, hsm) = app_with_switch(0).await;
    let owner = app.signup("hsm-down@example.com").await;
    let vault = app.create_vault(&owner.token, "v").await;
    assert_eq!(app.put_secret(&owner.token, &vault, "db", "acknowledged").await.status, 201);
    let health = app.call(Method::GET, "/v1/health/hsm", None, None).await;
    assert_eq!((health.status, health.body["status"].as_str()), (200, Some("ok")), "{}", health.text);
    assert!(health.body.get("provider").is_none(), "1claw's schema is the status only: {}", health.text);
    let detail = app.call(Method::GET, "/v1/health/key-provider", None, None).await;
    assert_eq!(detail.body["provider"], app.core.deps().keys.kind());

    hsm.set_down(true);
    let started = Instant::now();
    let read = app.get(&format!("/v1/vaults/{vault}/secrets/db"), &owner.token).await;
    assert_eq!(read.status, 503, "{}", read.text);
    assert!(read.detail().contains("HSM is unavailable"), "{}", read.text);
    assert!(!read.text.contains("acknowledged"));
    let write = app.put_secret(&owner.token, &vault, "db", "never-acknowledged").await;
    assert_eq!(write.status, 503, "{}", write.text);
    let new_vault = app.post("/v1/vaults", Some(&owner.token), json!({"name": "during-outage"})).await;
    assert_eq!(new_vault.status, 503, "{}", new_vault.text);
    let rotate = app.post(&format!("/v1/vaults/{vault}/rotate-key"), Some(&owner.token), json!({})).await;
    assert_eq!(rotate.status, 503, "{}", rotate.text);
    assert!(started.elapsed() < Duration::from_secs(2), "failing took {:?}", started.elapsed());
    let health = app.call(Method::GET, "/v1/health/hsm", None, None).await;
    assert_eq!((health.status, health.body["status"].as_str()), (503, Some("unavailable")), "{}", health.text);
    assert!(!health.text.contains("DeviceError"), "the detail stays in the log: {}", health.text);
    let detail = app.call(Method::GET, "/v1/health/key-provider", None, None).await;
    assert_eq!((detail.status, detail.body["status"].as_str()), (503, Some("unavailable")), "{}", detail.text);
    assert!(!detail.text.contains("DeviceError"), "the detail stays in the log: {}", detail.text);
    assert_eq!(app.call(Method::GET, "/v1/health", None, None).await.status, 200, "the database is fine");
    let ready = app.call(Method::GET, "/v1/health/ready", None, None).await;
    assert_eq!(ready.status, 503, "{}", ready.text);
    assert_eq!(
        ready.body,
        json!({"status": "not_ready", "checks": {"database": "ok", "key_provider": "failing", "audit": "ok"}})
    );
    // Nothing was written half: still one version, one vault, one KEK version.
    let versions = app.get(&format!("/v1/vaults/{vault}/secret-versions/db"), &owner.token).await;
    assert_eq!(versions.body["versions"].as_array().map(Vec::len), Some(1), "{}", versions.text);
    let vaults = app.get("/v1/vaults", &owner.token).await;
    assert_eq!(vaults.body["vaults"].as_array().map(Vec::len), Some(1));
    let keys = app.get(&format!("/v1/vaults/{vault}/keys"), &owner.token).await;
    assert_eq!(keys.body["keys"].as_array().map(Vec::len), Some(1), "{}", keys.text);
    assert!(hsm.refused_calls() >= 4);

    hsm.set_down(false);
    let read = app.get(&format!("/v1/vaults/{vault}/secrets/db"), &owner.token).await;
    assert_eq!((read.status, read.body["value"].as_str()), (200, Some("acknowledged")), "{}", read.text);
    assert_eq!(app.put_secret(&owner.token, &vault, "db", "after").await.status, 201);
    assert_eq!(app.call(Method::GET, "/v1/health/hsm", None, None).await.body["status"], "ok");
    let ready = app.call(Method::GET, "/v1/health/ready", None, None).await;
    assert_eq!((ready.status, ready.body["status"].as_str()), (200, Some("ready")), "{}", ready.text);
}

#[tokio::test]
async fn hot_reads_are_served_from_the_dek_cache_while_the_hsm_is_away() {
    let (app, hsm) = app_with_switch(1000).await;
    let owner = app.signup("hsm-cache@example.com").await;
    let vault = app.create_vault(&owner.token, "v").await;
    app.put_secret(&owner.token, &vault, "hot", "cached-value").await;
    assert_eq!(app.get(&format!("/v1/vaults/{vault}/secrets/hot"), &owner.token).await.status, 200);

    hsm.set_down(true);
    for _ in 0..3 {
        let read = app.get(&format!("/v1/vaults/{vault}/secrets/hot"), &owner.token).await;
        assert_eq!((read.status, read.body["value"].as_str()), (200, Some("cached-value")), "{}", read.text);
    }
    assert_eq!(hsm.refused_calls(), 0, "no read went to the HSM");
    let counts = app.core.deps().cipher.key_operations();
    assert_eq!(counts.cache_hits, 4, "{counts:?}");
    assert_eq!((counts.wraps, counts.unwraps), (1, 0), "{counts:?}");
    let detail = app.call(Method::GET, "/v1/health/key-provider", None, None).await;
    assert!(detail.body.get("operations").is_none(), "live counts stay off the open API: {}", detail.text);
    assert_eq!(app.put_secret(&owner.token, &vault, "hot", "new").await.status, 503, "a new value needs the HSM");
    hsm.set_down(false);
}
