//! `--metrics-listen`: `/metrics` on its own port, in the Prometheus text format, with series
//! that move when what they count happens; never the API port, never a concrete path.

use super::*;

/// The value of the series whose line starts with `series` (name and labels), if present.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find(|line| line.starts_with(series)).and_then(|line| line.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn metrics_are_served_apart_and_move_with_what_they_count() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let metrics_port = free_port();
    let server = Server::start(
        || {
            let mut command = oneclaw();
            // A one-key DEK cache, so a second write evicts the first key and its read misses;
            // webhooks may target this machine, so a delivery can wait on a closed port.
            command
                .args(["serve", "--metrics-listen", &format!("127.0.0.1:{metrics_port}"), "--dek-cache-size", "1"])
                .args(["--webhook-allow-private", "true", "--data-dir"])
                .arg(&data);
            command
        },
        &dir.path().join("server.log"),
    )
    .await;
    let base = server.base.clone();
    let (token, vault) = signed_up_with_a_vault(&base, "metrics@example.com", "metrics password").await;
    let secret = format!("{base}/v1/vaults/{vault}/secrets/db/password");
    let (status, _) = call(reqwest::Method::PUT, secret.clone(), Some(&token), Some(json!({"value": "hunter2"}))).await;
    assert_eq!(status, 201);
    assert_eq!(call(reqwest::Method::GET, secret.clone(), Some(&token), None).await.0, 200);

    let scrape = || async {
        let response = http_client().get(format!("http://127.0.0.1:{metrics_port}/metrics")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    };
    let read_route =
        r#"oneclaw_http_requests_total{method="GET",route="/v1/vaults/{vault_id}/secrets/{*path}",status="200"}"#;
    let journal = r#"oneclaw_group_commit_batches_total{writer="audit_journal"}"#;
    let first = scrape().await;
    assert_eq!(value(&first, read_route), Some(1.0), "{first}");
    let put_route =
        r#"oneclaw_http_requests_total{method="PUT",route="/v1/vaults/{vault_id}/secrets/{*path}",status="201"}"#;
    assert_eq!(value(&first, put_route), Some(1.0));
    assert!(value(&first, "oneclaw_key_wraps_total").is_some_and(|n| n >= 1.0), "a write wraps a data key: {first}");
    assert_eq!(value(&first, "oneclaw_key_provider_up"), Some(1.0));
    assert_eq!(value(&first, "oneclaw_database_up"), Some(1.0));
    assert!(value(&first, "oneclaw_database_pool_connections").is_some_and(|n| n >= 1.0));
    assert!(value(&first, journal).is_some_and(|n| n >= 1.0), "the read's audit record went through the journal");
    assert!(first.contains("oneclaw_http_request_duration_seconds_bucket"), "latency histograms");
    assert!(!first.contains("db/password") && !first.contains(&vault), "route templates only");

    for _ in 0..3 {
        assert_eq!(call(reqwest::Method::GET, secret.clone(), Some(&token), None).await.0, 200);
    }
    let second = scrape().await;
    assert_eq!(value(&second, read_route), Some(4.0));
    assert!(value(&second, journal) > value(&first, journal), "more journal commits");
    assert!(
        value(&second, "oneclaw_dek_cache_hits_total") > value(&first, "oneclaw_dek_cache_hits_total"),
        "repeat reads hit the data-key cache"
    );

    // Made-up methods and paths add no series of their own.
    for method in ["FROB", "SPLAT"] {
        let made_up = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let _ = http_client().request(made_up, format!("{base}/v1/nothing/{method}")).send().await.unwrap();
    }
    let third = scrape().await;
    assert!(!third.contains("FROB") && !third.contains("/v1/nothing"), "{third}");
    assert_eq!(
        value(&third, r#"oneclaw_http_requests_total{method="other",route="unmatched",status="404"}"#),
        Some(2.0)
    );

    // A second value evicts the first's data key from the one-key cache; reading the first
    // again misses and goes to the key provider, whose calls are timed.
    let other = format!("{base}/v1/vaults/{vault}/secrets/db/other");
    assert_eq!(call(reqwest::Method::PUT, other, Some(&token), Some(json!({"value": "x"}))).await.0, 201);
    assert_eq!(call(reqwest::Method::GET, secret.clone(), Some(&token), None).await.0, 200);
    // A webhook to a closed port: its delivery waits in the outbox, retrying.
    let closed = format!("http://127.0.0.1:{}/hook", free_port());
    let hook = json!({"url": closed, "events": ["secret.read"]});
    assert_eq!(call(reqwest::Method::POST, format!("{base}/v1/webhooks"), Some(&token), Some(hook)).await.0, 201);
    assert_eq!(call(reqwest::Method::GET, secret.clone(), Some(&token), None).await.0, 200);
    let fourth = scrape().await;
    for counter in ["oneclaw_dek_cache_evictions_total", "oneclaw_dek_cache_misses_total"] {
        assert!(value(&fourth, counter) > value(&third, counter), "{counter} moves: {fourth}");
    }
    let unwrap_calls = r#"oneclaw_key_provider_call_duration_seconds_count{operation="unwrap_dek"}"#;
    assert!(value(&fourth, unwrap_calls).is_some_and(|n| n >= 1.0), "the miss's unwrap was timed: {fourth}");
    let wrap_calls = r#"oneclaw_key_provider_call_duration_seconds_count{operation="wrap_dek"}"#;
    assert!(value(&fourth, wrap_calls).is_some_and(|n| n >= 2.0), "{fourth}");
    assert_eq!(value(&fourth, r#"oneclaw_outbox_waiting{outbox="mail"}"#), Some(0.0), "no mail is configured");
    assert_eq!(
        value(&fourth, r#"oneclaw_outbox_waiting{outbox="webhook"}"#),
        Some(1.0),
        "the delivery to the closed port waits: {fourth}"
    );

    let on_api_port = http_client().get(format!("{base}/metrics")).send().await.unwrap();
    let text = on_api_port.text().await.unwrap();
    assert!(!text.contains("oneclaw_http_requests"), "the API port never serves metrics");
}
