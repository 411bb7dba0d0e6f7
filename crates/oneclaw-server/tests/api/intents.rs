//! Execution intents (issue 20) against a real HTTP receiver on 127.0.0.1 and, where the suite
//! runs on PostgreSQL, against that server: the agent's call is made with the credential
//! injected and redacted from the answer; guardrails, policies, approvals and rate limits
//! refuse before anything is sent; private targets need both the server's and the binding's
//! consent.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use oneclaw_testkit::{Account, TestAgent, TestApp, spawn_app_with};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

const SECRET: &str = "sk_test_oneclaw_0123456789";

/// What the receiver got: method, path with query, and the Authorization header.
type Seen = Arc<Mutex<Vec<(String, String, HeaderMap)>>>;

/// Echoes what it received (so a leaked credential would come back), or redirects elsewhere.
async fn echo(State(seen): State<Seen>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    seen.lock().unwrap().push((method.to_string(), uri.to_string(), headers.clone()));
    if uri.path().ends_with("/gzip") {
        // As if it compressed the answer anyway: bytes redaction could not search.
        return (StatusCode::OK, [("content-encoding", "gzip")], vec![0x1f, 0x8b, 0x08, 0x00]).into_response();
    }
    if uri.path().ends_with("/gzip-second") {
        // An identity value first, the real coding second.
        let mut answer = (StatusCode::OK, vec![0x1f, 0x8b, 0x08, 0x00]).into_response();
        answer.headers_mut().append("content-encoding", "identity".parse().unwrap());
        answer.headers_mut().append("content-encoding", "gzip".parse().unwrap());
        return answer;
    }
    if uri.path().ends_with("/partial") {
        // A slice of the echo, as a range request would get: pieces could each pass redaction.
        let sent = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
        let piece = sent.get(..12).unwrap_or_default().to_owned();
        return (StatusCode::PARTIAL_CONTENT, [("content-range", "bytes 0-11/40")], piece).into_response();
    }
    if uri.path().ends_with("/disguised") {
        return disguised(&headers);
    }
    if uri.path().ends_with("/redirect") {
        return (StatusCode::FOUND, [("location", "http://example.invalid/steal")]).into_response();
    }
    let echoed: serde_json::Map<String, Value> =
        headers.iter().map(|(k, v)| (k.to_string(), Value::from(v.to_str().unwrap_or_default()))).collect();
    axum::Json(json!({"uri": uri.to_string(), "headers": echoed})).into_response()
}

/// The credential it was sent, echoed in the disguises a careless service may use: JSON
/// `\u` escapes (which a JSON parser decodes), upper case, base64 of the whole header (the
/// credential off a 3-byte boundary), percent-encoding of every byte in lower-case hex, HTML
/// character references, and a header name.
fn disguised(headers: &HeaderMap) -> Response {
    use base64::Engine;
    let sent = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let credential = sent.trim_start_matches("Bearer ").to_owned();
    let escaped: String = credential.chars().map(|c| format!("\\u{:04x}", c as u32)).collect();
    let percent: String = credential.bytes().map(|b| format!("%{b:02x}")).collect();
    let html: String = credential.chars().map(|c| format!("&#{};", c as u32)).collect();
    let body = format!(
        r#"{{"escaped":"{escaped}","upper":"{}","header_b64":"{}","percent":"{percent}","html":"{html}"}}"#,
        credential.to_ascii_uppercase(),
        base64::engine::general_purpose::STANDARD.encode(&sent),
    );
    let name = format!("x-{}", credential.to_ascii_lowercase());
    (StatusCode::OK, [(name, "1".to_owned()), ("content-type".to_owned(), "application/json".to_owned())], body)
        .into_response()
}

async fn receiver() -> (Seen, String) {
    let seen: Seen = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/api", listener.local_addr().unwrap());
    let app = Router::new().fallback(echo).with_state(Arc::clone(&seen));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (seen, base)
}

struct Setup {
    app: TestApp,
    owner: Account,
    vault: String,
    agent: TestAgent,
    agent_token: String,
    seen: Seen,
    base: String,
}

/// An owner, a vault holding `stripe/key`, an agent allowed to execute `bindings/*`, and a
/// receiver; `allow_private` is the server's setting.
async fn setup(allow_private: bool) -> Setup {
    let app = spawn_app_with(|config| config.execute_allow_private = allow_private).await;
    let owner = app.signup("intents@example.com").await;
    let vault = app.create_vault(&owner.token, "prod").await;
    assert_eq!(app.put_secret(&owner.token, &vault, "stripe/key", SECRET).await.status, 201);
    let agent = app.register_agent(&owner.token, "payer", json!({})).await;
    let granted = app.grant(&owner.token, &vault, ("agent", &agent.id), "bindings/*", &["execute"], json!({})).await;
    assert_eq!(granted.status, 201, "{}", granted.text);
    let agent_token = app.agent_token(&agent).await;
    let (seen, base) = receiver().await;
    Setup { app, owner, vault, agent, agent_token, seen, base }
}

impl Setup {
    fn http_binding(&self, name: &str, extra_guardrails: Value) -> Value {
        let mut guardrails = json!({
            "allowed_schemes": ["http"],
            "allow_private_hosts": ["127.0.0.1"],
            "allowed_methods": ["GET", "POST"],
            "allowed_paths": ["/api/v1/"],
        });
        guardrails.as_object_mut().unwrap().extend(extra_guardrails.as_object().unwrap().clone());
        json!({
            "name": name,
            "binding_type": "http",
            "config": {"base_url": self.base},
            "guardrails": guardrails,
            "credential_source": {"type": "vault_ref", "vault_id": self.vault, "path": "stripe/key"},
        })
    }

    async fn create(&self, token: &str, body: Value) -> oneclaw_testkit::Response {
        self.app.post(&format!("/v1/agents/{}/bindings", self.agent.id), Some(token), body).await
    }

    async fn created(&self, body: Value) -> Value {
        let made = self.create(&self.owner.token, body).await;
        assert_eq!(made.status, 201, "{}", made.text);
        made.body
    }

    async fn execute(&self, binding: &str, params: Value) -> oneclaw_testkit::Response {
        self.execute_as(&self.agent.id, &self.agent_token, binding, params).await
    }

    async fn execute_as(&self, agent: &str, token: &str, binding: &str, params: Value) -> oneclaw_testkit::Response {
        let body = json!({"binding": binding, "intent_type": "http_request", "params": params});
        self.app.post(&format!("/v1/agents/{agent}/execute"), Some(token), body).await
    }

    /// Deletes every policy on the vault.
    async fn revoke_policies(&self) {
        let policies = self.app.get(&format!("/v1/vaults/{}/policies", self.vault), &self.owner.token).await;
        for policy in policies.body["policies"].as_array().unwrap() {
            let path = format!("/v1/vaults/{}/policies/{}", self.vault, policy["id"].as_str().unwrap());
            let gone = self.app.delete(&path, &self.owner.token).await;
            assert_eq!(gone.status, 204, "{}", gone.text);
        }
    }

    fn sent(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    fn last_authorization(&self) -> String {
        let seen = self.seen.lock().unwrap();
        let (_, _, headers) = seen.last().expect("a request reached the receiver");
        headers.get("authorization").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
    }
}

#[tokio::test]
async fn an_agent_uses_a_credential_it_never_sees() {
    let s = setup(true).await;
    let binding = s.created(s.http_binding("stripe", json!({}))).await;
    assert_eq!(binding["credential_set"], true);
    assert_eq!(binding["credential_source_type"], "vault_ref");
    let done = s.execute("stripe", json!({"method": "GET", "path": "/v1/charges", "query": {"limit": 3}})).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(s.last_authorization(), format!("Bearer {SECRET}"), "the receiver got the credential");
    assert_eq!(done.body["status"], "success");
    assert_eq!(done.body["execution_surface"], "vault");
    assert_eq!(done.body["result"]["status_code"], 200);
    assert_eq!(done.body["result"]["json"]["uri"], "/api/v1/charges?limit=3");
    assert_eq!(done.body["result"]["json"]["headers"]["authorization"], "Bearer [REDACTED]");
    assert!(done.body["redactions_applied"].as_i64().unwrap() >= 1);
    assert!(!done.text.contains(SECRET), "the agent never receives the value: {}", done.text);

    // Never in the binding, the execution log or the audit log either.
    let shown = s.app.get(&format!("/v1/agents/{}/bindings", s.agent.id), &s.agent_token).await;
    assert_eq!(shown.status, 200);
    assert!(!shown.text.contains(SECRET));
    let log = s.app.get(&format!("/v1/agents/{}/executions", s.agent.id), &s.agent_token).await;
    assert_eq!(log.body["events"][0]["status"], "success", "{}", log.text);
    assert_eq!(log.body["events"][0]["request_summary"]["path"], "/api/v1/charges");
    assert!(!log.text.contains(SECRET) && !log.text.contains("limit=3"));
    let events = s.app.audit_events(&s.owner).await;
    let run = events.iter().find(|e| e.action == "execution.run").expect("execution.run recorded");
    let details = run.details.to_string();
    assert!(details.contains("\"method\":\"GET\"") && details.contains("127.0.0.1"), "{details}");
    assert!(events.iter().all(|e| !e.details.to_string().contains(SECRET)));
}

#[tokio::test]
async fn a_credential_echoed_in_disguise_is_still_redacted() {
    let s = setup(true).await;
    s.created(s.http_binding("stripe", json!({}))).await;
    let done = s.execute("stripe", json!({"path": "/v1/disguised"})).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(s.last_authorization(), format!("Bearer {SECRET}"));
    let json = &done.body["result"]["json"];
    for field in ["escaped", "upper", "percent", "html"] {
        assert_eq!(json[field], "[REDACTED]", "{field}: {}", done.text);
    }
    // What is left of the base64 is the part shared with "Bearer ": nothing of the credential.
    let b64 = json["header_b64"].as_str().unwrap();
    assert!(b64.contains("[REDACTED]") && b64.len() <= "[REDACTED]".len() + 16, "{b64}");
    let headers = done.body["result"]["headers"].as_object().unwrap();
    assert!(headers.contains_key("x-[REDACTED]"), "{}", done.text);
    assert!(!headers.contains_key("content-length"), "the original length would tell the credential's");
    assert!(done.body["redactions_applied"].as_i64().unwrap() >= 6, "{}", done.text);
    let lower = done.text.to_ascii_lowercase();
    assert!(!lower.contains(SECRET) && !lower.contains("oneclaw_0123"), "{}", done.text);
}

#[tokio::test]
async fn a_rotated_secret_is_used_on_the_next_call() {
    let s = setup(true).await;
    s.created(s.http_binding("stripe", json!({}))).await;
    assert_eq!(s.execute("stripe", json!({"path": "/v1/a"})).await.status, 200);
    let rotated = "sk_test_rotated_9876543210";
    assert_eq!(s.app.put_secret(&s.owner.token, &s.vault, "stripe/key", rotated).await.status, 201);
    let done = s.execute("stripe", json!({"path": "/v1/a"})).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(s.last_authorization(), format!("Bearer {rotated}"));
    assert!(!done.text.contains(rotated));
}

#[tokio::test]
async fn calls_outside_the_guardrails_are_refused_and_never_sent() {
    let s = setup(true).await;
    s.created(s.http_binding("stripe", json!({}))).await;
    for params in [
        json!({"method": "DELETE", "path": "/v1/charges"}),
        json!({"path": "/admin"}),
        json!({"path": "/v1/../../admin"}),
        json!({"path": "/v1evil"}),
        json!({"path": "/v1/x", "headers": {"Host": "evil.example"}}),
        json!({"path": "/v1/x", "headers": {"Authorization": "Bearer mine"}}),
    ] {
        let refused = s.execute("stripe", params.clone()).await;
        assert!(matches!(refused.status, 400 | 403), "{params}: {}", refused.text);
    }
    let too_big = s.created(s.http_binding("small", json!({"max_request_bytes": 4}))).await;
    let refused =
        s.execute(too_big["id"].as_str().unwrap(), json!({"method": "POST", "path": "/v1/x", "body": "12345"})).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(s.sent(), 0, "nothing reached the receiver");
    let denied = s.app.audit_events(&s.owner).await;
    assert!(denied.iter().any(|e| e.action == "execution.run" && e.outcome == oneclaw_core::audit::Outcome::Denied));
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed() {
    let s = setup(true).await;
    s.created(s.http_binding("stripe", json!({}))).await;
    let done = s.execute("stripe", json!({"path": "/v1/redirect"})).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["result"]["status_code"], 302);
    assert_eq!(done.body["result"]["headers"]["location"], "http://example.invalid/steal");
    assert_eq!(s.sent(), 1, "the redirect was answered, not followed");
}

#[tokio::test]
async fn answers_come_uncompressed_or_not_at_all() {
    let s = setup(true).await;
    s.created(s.http_binding("stripe", json!({}))).await;
    let asked = s.execute("stripe", json!({"path": "/v1/x", "headers": {"Accept-Encoding": "gzip"}})).await;
    assert_eq!(asked.status, 400, "the agent cannot ask for compression: {}", asked.text);
    let done = s.execute("stripe", json!({"path": "/v1/gzip"})).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["status"], "error");
    assert!(done.body["error"].as_str().unwrap().contains("compressed"), "{}", done.text);
    assert!(done.body.get("result").is_none(), "no compressed bytes are passed on: {}", done.text);
    let second = s.execute("stripe", json!({"path": "/v1/gzip-second"})).await;
    assert_eq!(second.body["status"], "error", "every Content-Encoding is judged: {}", second.text);
    assert!(second.body.get("result").is_none(), "{}", second.text);
    let ranged = s.execute("stripe", json!({"path": "/v1/x", "headers": {"Range": "bytes=0-11"}})).await;
    assert_eq!(ranged.status, 400, "the agent cannot slice answers: {}", ranged.text);
    let partial = s.execute("stripe", json!({"path": "/v1/partial"})).await;
    assert_eq!(partial.body["status"], "error", "a 206 is not passed on: {}", partial.text);
    assert!(partial.body.get("result").is_none() && !partial.text.contains("sk_t"), "{}", partial.text);
    let seen = s.seen.lock().unwrap();
    let (_, _, headers) = seen.last().unwrap();
    assert_eq!(headers.get("accept-encoding").unwrap(), "identity");
}

#[tokio::test]
async fn private_targets_need_the_server_setting_and_the_binding_naming_them() {
    // The setting off: a binding that names 127.0.0.1 still cannot reach it.
    let s = setup(false).await;
    s.created(s.http_binding("local", json!({}))).await;
    let refused = s.execute("local", json!({"path": "/v1/x"})).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    for (name, base) in [
        ("metadata", "https://169.254.169.254/latest"),
        ("loopback", "https://127.0.0.1:9/"),
        ("named", "https://localhost:9/"),
    ] {
        let made = s
            .created(json!({
                "name": name, "binding_type": "http", "config": {"base_url": base},
                "credential_source": {"type": "vault_ref", "vault_id": s.vault, "path": "stripe/key"},
            }))
            .await;
        assert_eq!(made["name"], name);
        let refused = s.execute(name, json!({"path": "/"})).await;
        assert_eq!(refused.status, 403, "{name}: {}", refused.text);
    }
    assert_eq!(s.sent(), 0);

    // The setting on, but the binding does not name the host.
    let s = setup(true).await;
    let mut body = s.http_binding("unnamed", json!({}));
    body["guardrails"]["allow_private_hosts"] = json!([]);
    s.created(body).await;
    assert_eq!(s.execute("unnamed", json!({"path": "/v1/x"})).await.status, 403);
    assert_eq!(s.sent(), 0);
}

#[tokio::test]
async fn only_the_permitted_agent_of_the_binding_executes_it() {
    let s = setup(true).await;
    let binding = s.created(s.http_binding("stripe", json!({}))).await;
    let id = binding["id"].as_str().unwrap();
    // Another agent of the org, with the same policy: not its binding.
    let other = s.app.register_agent(&s.owner.token, "other", json!({})).await;
    let granted =
        s.app.grant(&s.owner.token, &s.vault, ("agent", &other.id), "bindings/*", &["execute"], json!({})).await;
    assert_eq!(granted.status, 201);
    let other_token = s.app.agent_token(&other).await;
    assert_eq!(s.execute_as(&s.agent.id, &other_token, "stripe", json!({"path": "/v1/x"})).await.status, 403);
    assert_eq!(s.execute_as(&other.id, &other_token, id, json!({"path": "/v1/x"})).await.status, 404);
    // A human does not execute; an agent does not make or change bindings.
    assert_eq!(s.execute_as(&s.agent.id, &s.owner.token, "stripe", json!({"path": "/v1/x"})).await.status, 403);
    assert_eq!(s.create(&s.agent_token, s.http_binding("mine", json!({}))).await.status, 403);
    let widened = s
        .app
        .call(
            reqwest::Method::PATCH,
            &format!("/v1/agents/{}/bindings/{id}", s.agent.id),
            Some(&s.agent_token),
            Some(json!({"guardrails": {"allowed_hosts": ["evil.example"]}})),
        )
        .await;
    assert_eq!(widened.status, 403, "{}", widened.text);
    // Without the policy: refused, nothing sent.
    s.revoke_policies().await;
    assert_eq!(s.execute("stripe", json!({"path": "/v1/x"})).await.status, 403);
    // An agent with read on the credential's path alone cannot execute either.
    let reader = s.app.grant(&s.owner.token, &s.vault, ("agent", &s.agent.id), "**", &["read"], json!({})).await;
    assert_eq!(reader.status, 201);
    assert_eq!(s.execute("stripe", json!({"path": "/v1/x"})).await.status, 403);
    assert_eq!(s.sent(), 0);
}

#[tokio::test]
async fn an_approval_gates_an_execute() {
    let s = setup(true).await;
    s.revoke_policies().await;
    let gated = s
        .app
        .grant(
            &s.owner.token,
            &s.vault,
            ("agent", &s.agent.id),
            "bindings/gated",
            &["execute"],
            json!({"conditions": {"require_approval": true}}),
        )
        .await;
    assert_eq!(gated.status, 201, "{}", gated.text);
    s.created(s.http_binding("gated", json!({}))).await;
    let asked = s.execute("gated", json!({"path": "/v1/x"})).await;
    assert_eq!(asked.status, 403, "{}", asked.text);
    assert_eq!(asked.body["type"], "approval_required");
    assert_eq!(s.sent(), 0);
    let request = asked.body["approval_request_id"].as_str().unwrap();
    let decided = s
        .app
        .post(&format!("/v1/approvals/{request}/decide"), Some(&s.owner.token), json!({"decision": "approve"}))
        .await;
    assert_eq!(decided.status, 200, "{}", decided.text);
    assert_eq!(s.execute("gated", json!({"path": "/v1/x"})).await.status, 200);
    assert_eq!(s.sent(), 1);
    assert_eq!(s.execute("gated", json!({"path": "/v1/x"})).await.status, 403, "one approval, one use");
    assert_eq!(s.sent(), 1);
}

#[tokio::test]
async fn the_rate_limit_holds_and_refusals_send_nothing() {
    let s = setup(true).await;
    s.created(s.http_binding("stripe", json!({"max_calls_per_minute": 2}))).await;
    for _ in 0..2 {
        assert_eq!(s.execute("stripe", json!({"path": "/v1/x"})).await.status, 200);
    }
    let limited = s.execute("stripe", json!({"path": "/v1/x"})).await;
    assert_eq!(limited.status, 429, "{}", limited.text);
    assert_eq!(s.sent(), 2);
    s.app.clock.advance(time::Duration::seconds(61));
    let agent_token = s.app.agent_token(&s.agent).await;
    assert_eq!(s.execute_as(&s.agent.id, &agent_token, "stripe", json!({"path": "/v1/x"})).await.status, 200);
}

#[tokio::test]
async fn inline_credentials_are_injected_as_configured_and_rotated_by_humans_only() {
    let s = setup(true).await;
    let inline = "inline_credential_ABCDEFGH";
    let made = s
        .created(json!({
            "name": "header", "binding_type": "http",
            "config": {"base_url": s.base, "auth": {"type": "query", "name": "api_key"}},
            "guardrails": {"allowed_schemes": ["http"], "allow_private_hosts": ["127.0.0.1"]},
            "credential": {"value": inline},
            "vault_id": s.vault,
        }))
        .await;
    assert_eq!(made["credential_source_type"], "inline");
    assert_eq!(made["credential_vault_id"], s.vault.as_str(), "an inline binding lives in the vault it names");
    let done = s.execute("header", json!({"path": "/"})).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert!(s.seen.lock().unwrap()[0].1.contains(&format!("api_key={inline}")));
    assert_eq!(done.body["result"]["json"]["uri"], "/api/?api_key=[REDACTED]");
    let id = made["id"].as_str().unwrap();
    let path = format!("/v1/agents/{}/bindings/{id}/rotate-credential", s.agent.id);
    let renewed = "inline_credential_renewed_1";
    assert_eq!(s.app.post(&path, Some(&s.agent_token), json!({"credential": {"value": renewed}})).await.status, 403);
    let rotated = s.app.post(&path, Some(&s.owner.token), json!({"credential": {"value": renewed}})).await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    assert!(!rotated.text.contains(renewed));
    let done = s.execute("header", json!({"path": "/"})).await;
    assert!(s.seen.lock().unwrap()[1].1.contains(renewed) && !done.text.contains(renewed));
    // A vault_ref binding rotates by its secret.
    let pointed = s.created(s.http_binding("stripe", json!({}))).await;
    let path = format!("/v1/agents/{}/bindings/{}/rotate-credential", s.agent.id, pointed["id"].as_str().unwrap());
    assert_eq!(s.app.post(&path, Some(&s.owner.token), json!({"credential": "whatever-value-1"})).await.status, 409);
}

#[tokio::test]
async fn bad_bindings_are_refused_and_store_nothing() {
    let s = setup(true).await;
    let mut graphql = s.http_binding("g", json!({}));
    graphql["binding_type"] = json!("graphql");
    let refused = s.create(&s.owner.token, graphql).await;
    assert_eq!(refused.status, 400);
    assert!(refused.text.contains("supported: http, postgres"), "{}", refused.text);
    let mut misspelt = s.http_binding("m", json!({}));
    misspelt["guardrails"]["allowed_host"] = json!(["x"]);
    assert_eq!(s.create(&s.owner.token, misspelt).await.status, 400);
    let short = json!({"name": "s", "binding_type": "http", "config": {"base_url": s.base}, "credential": "short", "vault_id": s.vault});
    let refused = s.create(&s.owner.token, short).await;
    assert_eq!(refused.status, 400);
    assert!(!refused.text.contains("\"short\""));
    let unreadable = json!({"name": "u", "binding_type": "http", "config": {"base_url": "https://api.example.com"},
        "credential_source": {"type": "vault_ref", "vault_id": s.vault, "path": "no/such"}});
    assert_eq!(
        s.create(&s.owner.token, unreadable).await.status,
        201,
        "a pointer to a path not written yet is allowed"
    );
    assert_eq!(s.create(&s.owner.token, s.http_binding("u", json!({}))).await.status, 409, "one name per agent");
    let listed = s.app.get(&format!("/v1/agents/{}/bindings", s.agent.id), &s.owner.token).await;
    assert_eq!(listed.body["bindings"].as_array().unwrap().len(), 1, "{}", listed.text);
}

#[tokio::test]
async fn postgres_bindings_run_read_only_statements_under_a_timeout() {
    let Ok(url) = std::env::var("ONECLAW_TEST_DATABASE_URL") else {
        eprintln!("ONECLAW_TEST_DATABASE_URL is not set: the PostgreSQL binding test runs in CI's PostgreSQL step");
        return;
    };
    let url = reqwest::Url::parse(&url).unwrap();
    let s = setup(true).await;
    let create = |name: &str, guardrails: Value| {
        json!({
            "name": name, "binding_type": "postgres",
            "config": {"host": url.host_str().unwrap(), "port": url.port().unwrap_or(5432),
                       "database": url.path().trim_start_matches('/'), "user": url.username(), "sslmode": "disable"},
            "guardrails": guardrails,
            "credential": {"password": url.password().unwrap_or("not-asked-by-trust-auth")},
            "vault_id": s.vault,
        })
    };
    let private = json!(["127.0.0.1"]);
    s.created(create("db", json!({"allow_private_hosts": private, "allowed_statements": ["select", "insert"], "statement_timeout_ms": 300}))).await;
    let execute_path = format!("/v1/agents/{}/execute", s.agent.id);
    let run = |query: &str| {
        let body = json!({"binding": "db", "intent_type": "sql_query", "params": {"query": query, "params": [41]}});
        s.app.post(&execute_path, Some(&s.agent_token), body)
    };
    let selected = run("SELECT $1::int8 + 1 AS answer, 'x'::text AS t").await;
    assert_eq!(selected.status, 200, "{}", selected.text);
    assert_eq!(selected.body["result"]["columns"], json!(["answer", "t"]), "{}", selected.text);
    assert_eq!(selected.body["result"]["rows"], json!([[42, "x"]]));
    // The database itself refuses a write in the read-only transaction.
    let mut direct = <sqlx::PgConnection as sqlx::Connection>::connect(url.as_str()).await.unwrap();
    sqlx::query("CREATE TABLE IF NOT EXISTS intents_probe (a int)").execute(&mut direct).await.unwrap();
    let written = run("INSERT INTO public.intents_probe VALUES ($1)").await;
    assert_eq!(written.body["status"], "error", "{}", written.text);
    assert!(written.body["error"].as_str().unwrap().contains("25006"), "read-only transaction: {}", written.text);
    let refused = run("CREATE TEMP TABLE t AS SELECT $1::int AS a").await;
    assert_eq!(refused.status, 403, "a kind the binding does not allow: {}", refused.text);
    let two = run("SELECT $1::int; SELECT 2").await;
    assert_eq!(two.body["status"], "error", "one statement only: {}", two.text);
    let slow = run("SELECT pg_sleep(2), $1::int").await;
    assert_eq!(slow.body["status"], "error", "{}", slow.text);
    assert!(slow.body["error"].as_str().unwrap().contains("57014"), "statement timeout: {}", slow.text);

    // Rows stop at the binding's byte limit, as at its row limit.
    s.created(create("small", json!({"allow_private_hosts": private, "max_response_bytes": 200}))).await;
    let body = json!({"binding": "small", "intent_type": "sql_query",
                      "params": {"query": "SELECT g, repeat('x', 20) FROM generate_series(1, 1000) g"}});
    let capped = s.app.post(&execute_path, Some(&s.agent_token), body).await;
    assert_eq!(capped.status, 200, "{}", capped.text);
    assert_eq!(capped.body["result"]["truncated"], true, "{}", capped.text);
    let kept = capped.body["result"]["rows"].as_array().unwrap().len();
    assert!((1..20).contains(&kept), "{kept} rows kept under 200 bytes");

    // The default sslmode verifies the server's certificate: no TLS (or an untrusted one) is
    // no connection, and no password sent.
    let mut verified = create("verified", json!({"allow_private_hosts": private}));
    verified["config"].as_object_mut().unwrap().remove("sslmode");
    s.created(verified).await;
    let body = json!({"binding": "verified", "intent_type": "sql_query", "params": {"query": "SELECT 1"}});
    let unverified = s.app.post(&execute_path, Some(&s.agent_token), body).await;
    assert_eq!(unverified.body["status"], "error", "{}", unverified.text);
    assert_eq!(unverified.body["error"], "could not connect to the database", "{}", unverified.text);
}

#[tokio::test]
async fn a_manager_who_cannot_read_the_secret_cannot_send_it_elsewhere() {
    let s = setup(true).await;
    let made = s.created(s.http_binding("stripe", json!({}))).await;
    let path = format!("/v1/agents/{}/bindings/{}", s.agent.id, made["id"].as_str().unwrap());
    // An org admin manages every vault but reads no value without a policy.
    let admin = s.app.invite_and_join(&s.owner.token, "admin-intents@example.com", "admin").await;
    let (thief_seen, thief) = receiver().await;
    let patch = |body: Value| s.app.call(reqwest::Method::PATCH, &path, Some(&admin.token), Some(body));
    let redirect = json!({"config": {"base_url": thief}, "guardrails": {"allowed_schemes": ["http"], "allow_private_hosts": ["127.0.0.1"]}});
    assert_eq!(patch(redirect.clone()).await.status, 403, "the owner's credential cannot be sent to the admin's host");
    let mut repointed = redirect.clone();
    repointed["credential_source"] = json!({"type": "vault_ref", "vault_id": s.vault, "path": "stripe/key"});
    assert_eq!(patch(repointed).await.status, 403, "nor by pointing it again at a secret the admin may not read");
    assert_eq!(s.execute("stripe", json!({"path": "/v1/x"})).await.status, 200);
    assert_eq!(thief_seen.lock().unwrap().len(), 0);
    assert_eq!(s.sent(), 1, "the binding still goes where its owner said");

    // The admin, once granted read, makes a binding; when that grant is taken away the binding stops.
    let read = s
        .app
        .grant(&s.owner.token, &s.vault, ("user", &s.app.user_id(&admin.token).await), "stripe/*", &["read"], json!({}))
        .await;
    assert_eq!(read.status, 201, "{}", read.text);
    let mut own = s.http_binding("admins", json!({}));
    own["name"] = json!("admins");
    let created = s.create(&admin.token, own).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(s.execute("admins", json!({"path": "/v1/x"})).await.status, 200);
    let revoked = s
        .app
        .delete(&format!("/v1/vaults/{}/policies/{}", s.vault, read.body["id"].as_str().unwrap()), &s.owner.token)
        .await;
    assert_eq!(revoked.status, 204);
    let refused = s.execute("admins", json!({"path": "/v1/x"})).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(s.sent(), 2, "nothing sent once its maker may no longer read the key");
}
