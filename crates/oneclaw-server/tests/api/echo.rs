//! A real HTTP receiver on 127.0.0.1 for execution intents: it records the Authorization header
//! of each call and answers it back as `{"you_sent": …}`, so a leaked credential would show.

use axum::http::HeaderMap;
use serde_json::json;
use std::sync::{Arc, Mutex};

/// The Authorization headers received, in order.
pub(crate) type Received = Arc<Mutex<Vec<String>>>;

/// Starts the receiver; what it received, and its base URL (`http://127.0.0.1:PORT/api`).
pub(crate) async fn authorization_echo() -> (Received, String) {
    let seen: Received = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/api", listener.local_addr().unwrap());
    let recorder = Arc::clone(&seen);
    let echo = move |headers: HeaderMap| {
        let recorder = Arc::clone(&recorder);
        async move {
            let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
            recorder.lock().unwrap().push(authorization.to_owned());
            axum::Json(json!({"you_sent": authorization}))
        }
    };
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(echo)).await });
    (seen, base)
}
