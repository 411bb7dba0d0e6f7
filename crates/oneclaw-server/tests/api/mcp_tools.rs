//! The MCP tool layer against both implementations of its `VaultBackend` port: `HttpBackend`
//! (what `oneclaw mcp` uses, over this server's REST API) and `CoreBackend` (what `/mcp` uses,
//! in-process). Each is driven through a real rmcp client over an in-memory transport, so the
//! tool names, answers and `isError` results are exactly what an MCP client sees.

use oneclaw_core::principal::{RequestMeta, Surface};
use oneclaw_mcp::http_backend::{Credentials, HttpBackend};
use oneclaw_mcp::{AgentSession, VaultBackend, VaultTools};
use oneclaw_server::mcp::CoreBackend;
use oneclaw_testkit::{TestAgent, TestApp, spawn_app};
use oneclaw_types::SecretString;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use std::sync::Arc;

async fn connect(session: AgentSession) -> RunningService<RoleClient, ()> {
    let (server_io, client_io) = tokio::io::duplex(1 << 16);
    tokio::spawn(async move {
        if let Ok(running) = VaultTools::for_session(session).serve(server_io).await {
            let _ = running.waiting().await;
        }
    });
    ().serve(client_io).await.expect("MCP client connects")
}

async fn call(client: &RunningService<RoleClient, ()>, tool: &'static str, args: Value) -> CallToolResult {
    let Value::Object(args) = args else { panic!("arguments must be an object") };
    client.call_tool(CallToolRequestParams::new(tool).with_arguments(args)).await.expect("tools/call answered")
}

fn text(result: &CallToolResult) -> String {
    result.content.first().and_then(|c| c.as_text()).map(|t| t.text.clone()).unwrap_or_default()
}

struct Fixture {
    vault: String,
    agent: TestAgent,
    stranger: TestAgent,
}

async fn fixture(app: &TestApp, email: &str) -> (oneclaw_testkit::Account, Fixture) {
    let owner = app.signup(email).await;
    let vault = app.create_vault(&owner.token, "mcp").await;
    let put = app
        .put(
            &format!("/v1/vaults/{vault}/secrets/api-keys/stripe"),
            &owner.token,
            json!({"value": "sk_live_tool", "type": "api_key"}),
        )
        .await;
    assert_eq!(put.status, 201);
    let bundle = json!({"value": "A=1\n# c\nB=x=y\n", "type": "env_bundle"});
    assert_eq!(app.put(&format!("/v1/vaults/{vault}/secrets/env/app"), &owner.token, bundle).await.status, 201);
    let agent = app.register_agent(&owner.token, "tool-bot", json!({})).await;
    let granted =
        app.grant(&owner.token, &vault, ("agent", &agent.id), "**", &["read", "write", "delete"], json!({})).await;
    assert_eq!(granted.status, 201, "{}", granted.text);
    for (key, value, environments) in
        [("DB_URL", "postgres://prod", json!(["production"])), ("DB_URL", "postgres://preview", json!(["preview"]))]
    {
        let body = json!({"key": key, "value": value, "environments": environments});
        let created = app.post(&format!("/v1/vaults/{vault}/env-vars"), Some(&owner.token), body).await;
        assert_eq!(created.status, 201, "{}", created.text);
    }
    let branch = json!({"key": "DB_URL", "value": "postgres://feature", "git_branch": "feature/a&b"});
    assert_eq!(app.post(&format!("/v1/vaults/{vault}/env-vars"), Some(&owner.token), branch).await.status, 201);
    let stranger = app.register_agent(&owner.token, "no-policy", json!({})).await;
    (owner, Fixture { vault, agent, stranger })
}

async fn http_session(app: &TestApp, vault: &str, agent: &TestAgent) -> AgentSession {
    let credentials =
        Credentials::AgentKey { agent_id: Some(agent.id.clone()), api_key: SecretString::new(agent.key.clone()) };
    let backend: Arc<dyn VaultBackend> = Arc::new(HttpBackend::new(&app.base_url, credentials));
    AgentSession { backend, vault_id: vault.parse().unwrap() }
}

async fn core_session(app: &TestApp, vault: &str, agent: &TestAgent) -> AgentSession {
    let token = app.agent_token(agent).await;
    let meta = RequestMeta::internal(Surface::Mcp);
    let caller = app.core.auth().authenticate(&token, meta).await.unwrap();
    let backend: Arc<dyn VaultBackend> = Arc::new(CoreBackend::new(app.core.clone(), caller, "localhost".to_owned()));
    AgentSession { backend, vault_id: vault.parse().unwrap() }
}

/// The same checks for either backend.
async fn tools_behave(
    app: &TestApp,
    owner: &oneclaw_testkit::Account,
    f: &Fixture,
    agent: AgentSession,
    stranger: AgentSession,
) {
    let client = connect(agent).await;
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), 18, "{:?}", tools.iter().map(|t| t.name.clone()).collect::<Vec<_>>());

    let listed = text(&call(&client, "list_env_vars", json!({"environment": "preview"})).await);
    assert!(
        listed.starts_with("Found 2 variable(s):") && listed.contains("- DB_URL  (environments: preview, version: 1)"),
        "{listed}"
    );
    assert!(listed.contains("branch: feature/a&b") && !listed.contains("postgres://"), "{listed}");
    let resolved = call(&client, "resolve_env", json!({"environment": "production"})).await;
    assert_eq!(
        (resolved.is_error, text(&resolved)),
        (Some(false), "{\n  \"DB_URL\": \"postgres://prod\"\n}".to_owned())
    );
    let on_branch =
        text(&call(&client, "resolve_env", json!({"environment": "preview", "git_branch": "feature/a&b"})).await);
    assert!(on_branch.contains("postgres://feature"), "the branch reaches the server intact: {on_branch}");
    let unnamed = call(&client, "resolve_env", json!({})).await;
    assert_eq!(unnamed.is_error, Some(true), "an untagged agent names the environment: {}", text(&unnamed));
    let unknown = call(&client, "resolve_env", json!({"environment": "nowhere"})).await;
    assert_eq!(unknown.is_error, Some(true));

    let got = call(&client, "get_secret", json!({"path": "api-keys/stripe"})).await;
    assert_eq!(got.is_error, Some(false));
    assert_eq!(text(&got), r#"{"path":"api-keys/stripe","type":"api_key","version":1,"value":"sk_live_tool"}"#);
    let missing = call(&client, "get_secret", json!({"path": "api-keys/none"})).await;
    assert_eq!((missing.is_error, text(&missing)), (Some(true), "No secret found at path 'api-keys/none'.".to_owned()));

    let listing = text(&call(&client, "list_secrets", json!({})).await);
    assert!(listing.starts_with("Found 2 secret(s):") && !listing.contains("sk_live"), "{listing}");
    let bundle: Value =
        serde_json::from_str(&text(&call(&client, "get_env_bundle", json!({"path": "env/app"})).await)).unwrap();
    assert_eq!(bundle, json!({"A": "1", "B": "x=y"}));

    let stored = call(&client, "put_secret", json!({"path": "once", "value": "v", "max_access_count": 1})).await;
    assert_eq!(text(&stored), "Secret stored at 'once' (version 1, type: api_key).");
    assert_eq!(call(&client, "get_secret", json!({"path": "once"})).await.is_error, Some(false));
    let used_up = call(&client, "get_secret", json!({"path": "once"})).await;
    assert_eq!(text(&used_up), "Secret at path 'once' is expired or has exceeded its maximum access count.");

    let bad_args = call(&client, "put_secret", json!({"path": "x"})).await;
    assert_eq!(bad_args.is_error, Some(true), "missing value is an isError result, not a protocol error");
    let foreign = call(
        &client,
        "grant_access",
        json!({"vault_id": f.vault, "principal_type": "agent", "principal_id": f.stranger.id}),
    )
    .await;
    assert!(text(&foreign).starts_with("Access denied:"), "{}", text(&foreign));

    let denied = connect(stranger).await;
    let refused = call(&denied, "get_secret", json!({"path": "api-keys/stripe"})).await;
    assert_eq!(refused.is_error, Some(true));
    assert!(text(&refused).starts_with("Access denied:") && !text(&refused).contains("sk_live"), "{}", text(&refused));
    let env_refused = call(&denied, "resolve_env", json!({"environment": "production"})).await;
    assert_eq!(env_refused.is_error, Some(true));
    assert!(text(&env_refused).starts_with("Access denied:") && !text(&env_refused).contains("postgres://"));

    let events = app.audit_events(owner).await;
    let reads: Vec<_> = events
        .iter()
        .filter(|e| e.action == "secret.read" && e.actor_id.map(|id| id.to_string()) == Some(f.agent.id.clone()))
        .collect();
    assert!(!reads.is_empty() && reads.iter().all(|e| e.surface == "mcp"), "{reads:?}");
}

#[tokio::test]
async fn the_tools_over_the_rest_backend() {
    let app = spawn_app().await;
    let (owner, f) = fixture(&app, "mcp-http@example.com").await;
    let agent = http_session(&app, &f.vault, &f.agent).await;
    let stranger = http_session(&app, &f.vault, &f.stranger).await;
    tools_behave(&app, &owner, &f, agent, stranger).await;
}

#[tokio::test]
async fn the_tools_over_the_in_process_backend() {
    let app = spawn_app().await;
    let (owner, f) = fixture(&app, "mcp-core@example.com").await;
    let agent = core_session(&app, &f.vault, &f.agent).await;
    let stranger = core_session(&app, &f.vault, &f.stranger).await;
    tools_behave(&app, &owner, &f, agent, stranger).await;
}

#[tokio::test]
async fn a_bad_agent_key_stops_the_stdio_server_before_it_serves() {
    let app = spawn_app().await;
    let backend = HttpBackend::new(
        &app.base_url,
        Credentials::AgentKey { agent_id: None, api_key: SecretString::new("ocv_not_a_real_key".to_owned()) },
    );
    let err = backend.sign_in().await.unwrap_err();
    assert_eq!(err.kind, oneclaw_mcp::ErrorCode::Unauthenticated, "{err}");
}

#[tokio::test]
async fn past_the_allowance_mcp_tools_spend_credits_or_answer_402_as_is_error() {
    let app = oneclaw_testkit::spawn_app_with(|config| config.billing = true).await;
    let (owner, f) = fixture(&app, "mcp-quota@example.com").await;
    let token = app.agent_token(&f.agent).await;
    let meta = RequestMeta::internal(Surface::Mcp);
    let mut caller = app.core.auth().authenticate(&token, meta).await.unwrap();
    // What /mcp admission hands a request past the allowance: no payment offered.
    caller.charge = oneclaw_core::ports::Charge::metered(true, None, "POST", "/mcp", None);
    let org = caller.org_id();
    let backend = CoreBackend::new(app.core.clone(), caller, "localhost".to_owned());
    let client = connect(AgentSession { backend: Arc::new(backend), vault_id: f.vault.parse().unwrap() }).await;

    let refused = call(&client, "get_secret", json!({"path": "api-keys/stripe"})).await;
    assert_eq!(refused.is_error, Some(true));
    assert!(text(&refused).starts_with("Quota exhausted. Ask your human"), "{}", text(&refused));
    assert!(!text(&refused).contains("sk_live"));
    let listing = call(&client, "list_secrets", json!({})).await;
    assert_eq!(listing.is_error, Some(false), "listing is free");

    let cli = RequestMeta::internal(Surface::Cli);
    app.core.billing().grant_credits(org, 2_000, "test", &cli).await.unwrap();
    let paid = call(&client, "get_secret", json!({"path": "api-keys/stripe"})).await;
    assert_eq!(paid.is_error, Some(false), "{}", text(&paid));
    let balance = app.get("/v1/billing/credits/balance", &owner.token).await;
    assert_eq!(balance.body["balance_usd"], "0.001");
}

/// Issue 18: `get_secret` under an approval policy says approval is required and names the
/// request; `check_approval` follows it; once approved, the retry reads the value once.
async fn approval_flow(app: &TestApp, over_rest: bool) {
    let owner =
        app.signup(if over_rest { "mcp-approve-rest@example.com" } else { "mcp-approve-core@example.com" }).await;
    let vault = app.create_vault(&owner.token, "gated").await;
    assert_eq!(app.put_secret(&owner.token, &vault, "db/password", "pw-behind-approval").await.status, 201);
    let agent = app.register_agent(&owner.token, "gated-bot", json!({})).await;
    let rule = json!({"conditions": {"require_approval": true}});
    assert_eq!(app.grant(&owner.token, &vault, ("agent", &agent.id), "db/*", &["read"], rule).await.status, 201);
    let session =
        if over_rest { http_session(app, &vault, &agent).await } else { core_session(app, &vault, &agent).await };
    let client = connect(session).await;

    let asked = call(&client, "get_secret", json!({"path": "db/password"})).await;
    assert_eq!(asked.is_error, Some(true));
    let words = text(&asked);
    assert!(words.starts_with("Approval required:"), "{words}");
    assert!(words.contains("check_approval") && words.contains("/approvals"), "{words}");
    assert!(!words.contains("pw-behind-approval"));
    let listed = app.get("/v1/approvals?status=pending", &owner.token).await;
    let id = listed.body["approvals"][0]["id"].as_str().expect("a pending request").to_owned();
    assert!(words.contains(&id), "{words}");

    let pending = text(&call(&client, "check_approval", json!({"approval_id": id})).await);
    assert!(pending.contains(": pending."), "{pending}");
    let decided =
        app.post(&format!("/v1/approvals/{id}/decide"), Some(&owner.token), json!({"decision": "approve"})).await;
    assert_eq!(decided.status, 200, "{}", decided.text);
    let approved = text(&call(&client, "check_approval", json!({"approval_id": id})).await);
    assert!(approved.contains(": approved.") && approved.contains("retry"), "{approved}");
    let read = call(&client, "get_secret", json!({"path": "db/password"})).await;
    assert_ne!(read.is_error, Some(true), "{}", text(&read));
    assert!(text(&read).contains("pw-behind-approval"));
    let again = call(&client, "get_secret", json!({"path": "db/password"})).await;
    assert!(text(&again).starts_with("Approval required:"), "one use only: {}", text(&again));
    let bad = call(&client, "check_approval", json!({"approval_id": "nope"})).await;
    assert_eq!(bad.is_error, Some(true));
}

#[tokio::test]
async fn approval_required_and_check_approval_over_both_backends() {
    let app = spawn_app().await;
    approval_flow(&app, true).await;
    approval_flow(&app, false).await;
}

/// Issue 20: `list_bindings` shows the agent's bindings without their credentials, and
/// `execute_intent` makes the call through one: the receiver gets the credential, the agent's
/// text has it redacted.
async fn intent_flow(app: &TestApp, over_rest: bool) {
    let credential = "sk_mcp_intent_0123456789";
    let (seen, base) = crate::echo::authorization_echo().await;

    let owner = app.signup(if over_rest { "mcp-intent-rest@example.com" } else { "mcp-intent-core@example.com" }).await;
    let vault = app.create_vault(&owner.token, "apis").await;
    assert_eq!(app.put_secret(&owner.token, &vault, "stripe/key", credential).await.status, 201);
    let agent = app.register_agent(&owner.token, "intent-bot", json!({})).await;
    let grant = app.grant(&owner.token, &vault, ("agent", &agent.id), "bindings/*", &["execute"], json!({})).await;
    assert_eq!(grant.status, 201);
    let binding = json!({
        "name": "stripe", "binding_type": "http", "config": {"base_url": base},
        "guardrails": {"allowed_schemes": ["http"], "allow_private_hosts": ["127.0.0.1"]},
        "credential_source": {"type": "vault_ref", "vault_id": vault, "path": "stripe/key"},
    });
    let made = app.post(&format!("/v1/agents/{}/bindings", agent.id), Some(&owner.token), binding).await;
    assert_eq!(made.status, 201, "{}", made.text);
    let session =
        if over_rest { http_session(app, &vault, &agent).await } else { core_session(app, &vault, &agent).await };
    let client = connect(session).await;

    let listed = text(&call(&client, "list_bindings", json!({})).await);
    assert!(listed.contains("stripe (http,") && !listed.contains(credential), "{listed}");
    let done = call(&client, "execute_intent", json!({"binding": "stripe", "params": {"path": "/charges"}})).await;
    assert_ne!(done.is_error, Some(true), "{}", text(&done));
    let words = text(&done);
    assert!(words.contains("Bearer [REDACTED]") && !words.contains(credential), "{words}");
    assert_eq!(seen.lock().unwrap().as_slice(), [format!("Bearer {credential}")]);
    let refused = call(&client, "execute_intent", json!({"binding": "stripe", "params": {"method": "DELETE"}})).await;
    assert_eq!(refused.is_error, Some(true), "{}", text(&refused));
    assert_eq!(seen.lock().unwrap().len(), 1, "a refused call sends nothing");
}

#[tokio::test]
async fn list_bindings_and_execute_intent_over_both_backends() {
    let app = oneclaw_testkit::spawn_app_with(|config| config.execute_allow_private = true).await;
    intent_flow(&app, true).await;
    intent_flow(&app, false).await;
}
