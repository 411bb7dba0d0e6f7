//! The authorization table: every (caller × resource × operation) case with its expected status.
//! One scenario is built, then every row is tried; the test prints how many cases it checked
//! and lists every case that did not hold.

use oneclaw_testkit::{TestApp, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

struct Case {
    name: String,
    token: String,
    method: Method,
    path: String,
    body: Option<Value>,
    expect: u16,
}

fn hhmm(at: time::OffsetDateTime) -> String {
    format!("{:02}:{:02}", at.hour(), at.minute())
}

#[tokio::test]
async fn every_caller_resource_operation_case_holds() {
    let app = spawn_app().await;

    // Org A: an owner, an admin, a member.
    let alice = app.signup("alice-authz@example.com").await;
    let adam = app.invite_and_join(&alice.token, "adam-authz@example.com", "admin").await;
    let mia = app.invite_and_join(&alice.token, "mia-authz@example.com", "member").await;
    let mia_id = app.user_id(&mia.token).await;
    let vault = app.create_vault(&alice.token, "human-vault").await;
    for path in ["prod/db", "dev/db"] {
        assert_eq!(app.put_secret(&alice.token, &vault, path, "v").await.status, 201);
    }
    assert_eq!(app.grant(&alice.token, &vault, ("user", &mia_id), "dev/**", &["read"], json!({})).await.status, 201);

    // Agents of org A, each in one situation.
    let agent = |name: &'static str| {
        let app = &app;
        let token = alice.token.clone();
        async move { app.register_agent(&token, name, json!({})).await }
    };
    let reader = agent("reader").await;
    let nobody = agent("no-policy").await;
    let builder = agent("builder").await;
    let disabled = agent("disabled").await;
    let rotated = agent("rotated").await;
    let expiring = agent("expiring").await;
    let denied = agent("denied").await;
    let ip_out = agent("ip-outside").await;
    let ip_in = agent("ip-inside").await;
    let in_hours = agent("in-hours").await;
    let off_hours = agent("off-hours").await;
    let scoped = app.register_agent(&alice.token, "scoped", json!({"scopes": ["dev/*"]})).await;
    let writer = agent("writer").await;
    let pinned = agent("pinned").await;

    let soon = (app.clock.now_utc() + time::Duration::minutes(30))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let now = app.clock.now_utc();
    let grants: Vec<(&oneclaw_testkit::TestAgent, &str, Vec<&str>, Value)> = vec![
        (&reader, "dev/**", vec!["read"], json!({})),
        (&disabled, "**", vec!["read"], json!({})),
        (&rotated, "**", vec!["read"], json!({})),
        (&expiring, "**", vec!["read"], json!({"expires_at": soon})),
        (&denied, "**", vec!["read"], json!({})),
        (&denied, "prod/*", vec!["read"], json!({"effect": "deny"})),
        (&ip_out, "**", vec!["read"], json!({"conditions": {"ip_allowlist": ["10.0.0.0/8", "2001:db8::/32"]}})),
        (&ip_in, "**", vec!["read"], json!({"conditions": {"ip_allowlist": ["127.0.0.1", "::1"]}})),
        (
            &in_hours,
            "**",
            vec!["read"],
            json!({"conditions": {"time_window": {"after": hhmm(now - time::Duration::hours(1)), "before": hhmm(now + time::Duration::hours(1)), "timezone": "UTC"}}}),
        ),
        (
            &off_hours,
            "**",
            vec!["read"],
            json!({"conditions": {"time_window": {"after": hhmm(now + time::Duration::hours(2)), "before": hhmm(now + time::Duration::hours(3))}}}),
        ),
        (&scoped, "**", vec!["read"], json!({})),
        (&writer, "dev/**", vec!["read", "write"], json!({})),
        (&pinned, "**", vec!["read"], json!({})),
    ];
    for (who, pattern, permissions, extra) in grants {
        let response = app.grant(&alice.token, &vault, ("agent", &who.id), pattern, &permissions, extra).await;
        assert_eq!(response.status, 201, "{}", response.text);
    }
    let reader_t = app.agent_token(&reader).await;
    let nobody_t = app.agent_token(&nobody).await;
    let builder_t = app.agent_token(&builder).await;
    let disabled_t = app.agent_token(&disabled).await;
    let rotated_t = app.agent_token(&rotated).await;
    let expiring_t = app.agent_token(&expiring).await;
    let denied_t = app.agent_token(&denied).await;
    let ip_out_t = app.agent_token(&ip_out).await;
    let ip_in_t = app.agent_token(&ip_in).await;
    let in_hours_t = app.agent_token(&in_hours).await;
    let off_hours_t = app.agent_token(&off_hours).await;
    let scoped_t = app.agent_token(&scoped).await;
    let writer_t = app.agent_token(&writer).await;

    // A vault of the builder agent: its human creator (Alice) gets full access at once.
    let agent_vault = app.create_vault(&builder_t, "agent-vault").await;
    assert_eq!(app.put_secret(&builder_t, &agent_vault, "mine", "agent-made").await.status, 201);
    // A token pinned to the agent's own (empty) vault list of one other vault.
    let other_vault = app.create_vault(&alice.token, "other").await;
    app.put_secret(&alice.token, &other_vault, "x", "v").await;
    assert_eq!(
        app.grant(&alice.token, &other_vault, ("agent", &pinned.id), "**", &["read"], json!({})).await.status,
        201
    );
    assert_eq!(
        app.call(
            Method::PATCH,
            &format!("/v1/agents/{}", pinned.id),
            Some(&alice.token),
            Some(json!({"vault_ids": [other_vault]}))
        )
        .await
        .status,
        200
    );
    let pinned_t = app.agent_token(&pinned).await;

    // Changes after the tokens were issued.
    assert_eq!(
        app.call(
            Method::PATCH,
            &format!("/v1/agents/{}", disabled.id),
            Some(&alice.token),
            Some(json!({"is_active": false}))
        )
        .await
        .status,
        200
    );
    assert_eq!(
        app.call(Method::POST, &format!("/v1/agents/{}/rotate-key", rotated.id), Some(&alice.token), None).await.status,
        200
    );
    app.clock.advance(time::Duration::minutes(31));
    let expiring_t2 = expiring_t.clone();
    // Human tokens live 15 minutes: sign the humans in again after the clock moved.
    let relogin = |account: &oneclaw_testkit::Account| {
        let body = json!({"email": account.email, "password": account.password});
        let app = &app;
        async move { app.post("/v1/auth/token", None, body).await.body["access_token"].as_str().unwrap().to_owned() }
    };
    let alice = oneclaw_testkit::Account { token: relogin(&alice).await, ..alice.clone() };
    let adam = oneclaw_testkit::Account { token: relogin(&adam).await, ..adam.clone() };
    let mia = oneclaw_testkit::Account { token: relogin(&mia).await, ..mia.clone() };

    // Org B.
    let bob = app.signup("bob-authz@example.com").await;
    let bob_agent = app.register_agent(&bob.token, "outsider", json!({})).await;
    let bob_agent_t = app.agent_token(&bob_agent).await;

    let v = |path: &str| format!("/v1/vaults/{vault}/secrets/{path}");
    let mut cases: Vec<Case> = Vec::new();
    let mut add = |name: &str, token: &str, method: Method, path: String, body: Option<Value>, expect: u16| {
        cases.push(Case { name: name.to_owned(), token: token.to_owned(), method, path, body, expect });
    };
    let put = || Some(json!({"value": "new"}));

    // Humans of org A.
    add("owner reads", &alice.token, Method::GET, v("prod/db"), None, 200);
    add("owner writes", &alice.token, Method::PUT, v("prod/new"), put(), 201);
    add("owner lists", &alice.token, Method::GET, format!("/v1/vaults/{vault}/secrets"), None, 200);
    add("owner manages policies", &alice.token, Method::GET, format!("/v1/vaults/{vault}/policies"), None, 200);
    add("member reads granted path", &mia.token, Method::GET, v("dev/db"), None, 200);
    add("member reads ungranted path", &mia.token, Method::GET, v("prod/db"), None, 403);
    add("member writes read-only path", &mia.token, Method::PUT, v("dev/db"), put(), 403);
    add("member cannot manage policies", &mia.token, Method::GET, format!("/v1/vaults/{vault}/policies"), None, 403);
    add("member cannot delete the vault", &mia.token, Method::DELETE, format!("/v1/vaults/{vault}"), None, 403);
    add("admin sees the vault", &adam.token, Method::GET, format!("/v1/vaults/{vault}"), None, 200);
    add("admin manages policies", &adam.token, Method::GET, format!("/v1/vaults/{vault}/policies"), None, 200);
    add("admin reads no value without a policy", &adam.token, Method::GET, v("prod/db"), None, 403);
    add(
        "human creator reads the agent's vault",
        &alice.token,
        Method::GET,
        format!("/v1/vaults/{agent_vault}/secrets/mine"),
        None,
        200,
    );
    add(
        "human creator writes the agent's vault",
        &alice.token,
        Method::PUT,
        format!("/v1/vaults/{agent_vault}/secrets/mine"),
        put(),
        201,
    );
    add(
        "other member cannot read the agent's vault",
        &mia.token,
        Method::GET,
        format!("/v1/vaults/{agent_vault}/secrets/mine"),
        None,
        403,
    );

    // Agents of org A.
    add("agent with policy reads", &reader_t, Method::GET, v("dev/db"), None, 200);
    add("agent with policy outside its glob", &reader_t, Method::GET, v("prod/db"), None, 403);
    add("agent with read cannot write", &reader_t, Method::PUT, v("dev/db"), put(), 403);
    add("agent with read cannot delete", &reader_t, Method::DELETE, v("dev/db"), None, 403);
    add("agent with write writes", &writer_t, Method::PUT, v("dev/db"), put(), 201);
    add(
        "agent with write rotates",
        &writer_t,
        Method::POST,
        format!("/v1/vaults/{vault}/secret-rotate/dev/db"),
        Some(json!({})),
        201,
    );
    add("agent with write cannot touch other paths", &writer_t, Method::PUT, v("prod/db"), put(), 403);
    add("agent without policy reads", &nobody_t, Method::GET, v("dev/db"), None, 403);
    add("agent without policy lists", &nobody_t, Method::GET, format!("/v1/vaults/{vault}/secrets"), None, 403);
    add(
        "agent on a human's vault manages policies",
        &reader_t,
        Method::POST,
        format!("/v1/vaults/{vault}/policies"),
        Some(
            json!({"principal_type": "agent", "principal_id": reader.id, "secret_path_pattern": "**", "permissions": ["read"]}),
        ),
        403,
    );
    add(
        "agent reads its own vault",
        &builder_t,
        Method::GET,
        format!("/v1/vaults/{agent_vault}/secrets/mine"),
        None,
        200,
    );
    add(
        "agent manages policies on its own vault",
        &builder_t,
        Method::POST,
        format!("/v1/vaults/{agent_vault}/policies"),
        Some(
            json!({"principal_type": "agent", "principal_id": reader.id, "secret_path_pattern": "**", "permissions": ["read"]}),
        ),
        201,
    );
    add(
        "agent cannot register agents",
        &builder_t,
        Method::POST,
        "/v1/agents".to_owned(),
        Some(json!({"name": "child"})),
        403,
    );
    add("disabled agent's token", &disabled_t, Method::GET, v("dev/db"), None, 401);
    add("rotated key's old token", &rotated_t, Method::GET, v("dev/db"), None, 401);
    add("expired policy", &expiring_t2, Method::GET, v("dev/db"), None, 403);
    add("deny over allow: denied path", &denied_t, Method::GET, v("prod/db"), None, 403);
    add("deny over allow: other path", &denied_t, Method::GET, v("dev/db"), None, 200);
    add("IP outside the allowlist", &ip_out_t, Method::GET, v("dev/db"), None, 403);
    add("IP inside the allowlist", &ip_in_t, Method::GET, v("dev/db"), None, 200);
    add("inside the time window", &in_hours_t, Method::GET, v("dev/db"), None, 200);
    add("outside the time window", &off_hours_t, Method::GET, v("dev/db"), None, 403);
    add("scope ceiling allows", &scoped_t, Method::GET, v("dev/db"), None, 200);
    add("scope ceiling refuses", &scoped_t, Method::GET, v("prod/db"), None, 403);
    add("token vault_ids exclude the vault", &pinned_t, Method::GET, v("dev/db"), None, 403);
    add(
        "token vault_ids include the vault",
        &pinned_t,
        Method::GET,
        format!("/v1/vaults/{other_vault}/secrets/x"),
        None,
        200,
    );

    // Tricks that must not carry a reader of dev/** to prod/db.
    add("encoded traversal", &reader_t, Method::GET, v("dev%2F..%2Fprod%2Fdb"), None, 400);
    add("doubled slash", &reader_t, Method::GET, v("dev//db"), None, 400);
    add("case trick", &reader_t, Method::GET, v("DEV/db"), None, 403);
    add("encoded slash reaches the same path", &reader_t, Method::GET, v("dev%2Fdb"), None, 200);

    // Another org: always 404.
    for (who, t) in [("user of another org", &bob.token), ("agent of another org", &bob_agent_t)] {
        add(&format!("{who} reads"), t, Method::GET, v("dev/db"), None, 404);
        add(&format!("{who} writes"), t, Method::PUT, v("dev/db"), put(), 404);
        add(&format!("{who} lists"), t, Method::GET, format!("/v1/vaults/{vault}/secrets"), None, 404);
        add(&format!("{who} gets the vault"), t, Method::GET, format!("/v1/vaults/{vault}"), None, 404);
        add(&format!("{who} manages policies"), t, Method::GET, format!("/v1/vaults/{vault}/policies"), None, 404);
        add(&format!("{who} deletes the vault"), t, Method::DELETE, format!("/v1/vaults/{vault}"), None, 404);
    }

    let failures = run(&app, &cases).await;
    println!("authorization table: {} cases, {} held", cases.len(), cases.len() - failures.len());
    assert!(failures.is_empty(), "cases that did not hold:\n{}", failures.join("\n"));
    assert!(cases.len() >= 50, "the table should stay exhaustive ({} cases)", cases.len());
}

async fn run(app: &TestApp, cases: &[Case]) -> Vec<String> {
    let mut failures = Vec::new();
    for case in cases {
        let response = app.call(case.method.clone(), &case.path, Some(&case.token), case.body.clone()).await;
        if response.status != case.expect {
            failures.push(format!(
                "  {}: expected {}, got {} ({})",
                case.name, case.expect, response.status, response.text
            ));
        }
    }
    failures
}
