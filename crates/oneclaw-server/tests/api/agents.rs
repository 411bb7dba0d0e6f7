use oneclaw_testkit::spawn_app;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn agents_are_registered_listed_changed_and_deleted_by_humans() {
    let app = spawn_app().await;
    let alice = app.signup("agents@example.com").await;
    let vault = app.create_vault(&alice.token, "v").await;
    let created = app
        .post("/v1/agents", Some(&alice.token), json!({"name": "deployer", "description": "CI", "token_ttl_seconds": 600, "vault_ids": [vault], "scopes": ["deploy/**"], "shroud_enabled": false, "tx_max_value_eth": "1"}))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let key = created.body["api_key"].as_str().unwrap();
    assert!(key.starts_with("ocv_") && key.len() == 47);
    let agent = &created.body["agent"];
    let id = agent["id"].as_str().unwrap();
    assert_eq!(agent["name"], "deployer");
    assert_eq!(agent["is_active"], true);
    assert_eq!(agent["token_ttl_seconds"], 600);
    assert_eq!(agent["vault_ids"], json!([vault]));
    assert_eq!(agent["scopes"], json!(["deploy/**"]));
    assert_eq!(agent["shroud_enabled"], false);
    assert!(agent.get("created_by").is_none(), "AgentResponse has no creator field");

    let listed = app.get("/v1/agents", &alice.token).await;
    assert_eq!(listed.body["agents"].as_array().unwrap().len(), 1);
    assert!(!listed.text.contains(key));
    let patched = app
        .call(Method::PATCH, &format!("/v1/agents/{id}"), Some(&alice.token), Some(json!({"description": "CD"})))
        .await;
    assert_eq!(patched.body["description"], "CD");
    for bad in [
        json!({"token_ttl_seconds": 30}),
        json!({"vault_ids": [uuid::Uuid::new_v4()]}),
        json!({"name": ""}),
        json!({"expires_at": "2001-01-01T00:00:00Z"}),
    ] {
        let response =
            app.call(Method::PATCH, &format!("/v1/agents/{id}"), Some(&alice.token), Some(bad.clone())).await;
        assert_eq!(response.status, 400, "{bad}: {}", response.text);
    }
    assert_eq!(
        app.get(&format!("/v1/agents/{id}"), &alice.token).await.body["token_ttl_seconds"],
        600,
        "refused changes change nothing"
    );

    let eve = app.signup("eve-agents@example.com").await;
    assert_eq!(app.get(&format!("/v1/agents/{id}"), &eve.token).await.status, 404);
    assert_eq!(app.delete(&format!("/v1/agents/{id}"), &eve.token).await.status, 404);
    assert_eq!(app.delete(&format!("/v1/agents/{id}"), &alice.token).await.status, 204);
    assert_eq!(app.get(&format!("/v1/agents/{id}"), &alice.token).await.status, 404);
    assert_eq!(app.get("/v1/agents", &alice.token).await.body["agents"], json!([]));
    assert_eq!(
        app.post("/v1/auth/agent-token", None, json!({"api_key": key})).await.status,
        401,
        "deleted agents get no token"
    );
}

#[tokio::test]
async fn the_key_exchange_issues_scoped_tokens_and_echoes_only_for_key_only_clients() {
    let app = spawn_app().await;
    let alice = app.signup("exchange@example.com").await;
    let vault = app.create_vault(&alice.token, "v").await;
    let agent = app.register_agent(&alice.token, "a", json!({"vault_ids": [vault]})).await;
    app.grant(&alice.token, &vault, ("agent", &agent.id), "svc/*", &["read"], json!({})).await;

    let key_only = app.post("/v1/auth/agent-token", None, json!({"api_key": agent.key})).await;
    assert_eq!(key_only.status, 200, "{}", key_only.text);
    assert_eq!(key_only.body["expires_in"], 3600);
    assert_eq!(key_only.body["agent_id"], agent.id.as_str());
    assert_eq!(key_only.body["vault_ids"], json!([vault]));
    let claims = decode(key_only.body["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"], format!("agent:{}", agent.id));
    assert_eq!(claims["scopes"], json!(["svc/*"]), "scopes derive from the agent's policies");
    assert_eq!(claims["vault_ids"], json!([vault]));
    assert!(claims["org"].is_string() && claims["exp"].is_i64() && claims["jti"].is_string());

    let with_id = app.post("/v1/auth/agent-token", None, json!({"api_key": agent.key, "agent_id": agent.id})).await;
    assert_eq!(with_id.status, 200);
    assert!(with_id.body.get("agent_id").is_none() && with_id.body.get("vault_ids").is_none());
    let wrong_id =
        app.post("/v1/auth/agent-token", None, json!({"api_key": agent.key, "agent_id": uuid::Uuid::new_v4()})).await;
    assert_eq!(wrong_id.status, 401);
    let via_api_key_route = app.post("/v1/auth/api-key-token", None, json!({"api_key": agent.key})).await;
    assert_eq!(via_api_key_route.status, 200);
    assert_eq!(decode(via_api_key_route.body["access_token"].as_str().unwrap())["sub"], format!("agent:{}", agent.id));

    let token = app.agent_token(&agent).await;
    let me = app.get("/v1/agents/me", &token).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["created_by"], app.user_id(&alice.token).await.as_str());
    assert_eq!(app.get("/v1/agents/me", &alice.token).await.status, 403, "humans have no /agents/me");
    assert_eq!(app.get(&format!("/v1/agents/{}", agent.id), &token).await.status, 200, "an agent reads itself");
    assert_eq!(app.get("/v1/agents", &token).await.status, 403);
    assert_eq!(app.get("/v1/auth/api-keys", &token).await.status, 403);

    let bare = app.register_agent(&alice.token, "bare", json!({})).await;
    let bare_token = app.agent_token(&bare).await;
    assert_eq!(decode(&bare_token)["scopes"], json!([]), "no scopes and no policies: an empty ceiling");
}

#[tokio::test]
async fn disabling_or_rotating_stops_live_tokens_at_once() {
    let app = spawn_app().await;
    let alice = app.signup("revoke-agent@example.com").await;
    let agent = app.register_agent(&alice.token, "a", json!({"token_ttl_seconds": 300})).await;
    let token = app.agent_token(&agent).await;
    assert_eq!(decode(&token)["exp"].as_i64().unwrap() - decode(&token)["iat"].as_i64().unwrap(), 300);
    assert_eq!(app.get("/v1/agents/me", &token).await.status, 200);

    app.call(Method::PATCH, &format!("/v1/agents/{}", agent.id), Some(&alice.token), Some(json!({"is_active": false})))
        .await;
    assert_eq!(app.get("/v1/agents/me", &token).await.status, 401);
    assert_eq!(app.post("/v1/auth/agent-token", None, json!({"api_key": agent.key})).await.status, 401);
    app.call(Method::PATCH, &format!("/v1/agents/{}", agent.id), Some(&alice.token), Some(json!({"is_active": true})))
        .await;
    assert_eq!(app.get("/v1/agents/me", &token).await.status, 401, "re-enabling does not revive old tokens");
    let fresh = app.agent_token(&agent).await;
    assert_eq!(app.get("/v1/agents/me", &fresh).await.status, 200);

    let rotated =
        app.call(Method::POST, &format!("/v1/agents/{}/rotate-key", agent.id), Some(&alice.token), None).await;
    assert_eq!(rotated.status, 200);
    let new_key = rotated.body["api_key"].as_str().unwrap();
    assert_ne!(new_key, agent.key);
    assert_eq!(app.get("/v1/agents/me", &fresh).await.status, 401);
    assert_eq!(app.post("/v1/auth/agent-token", None, json!({"api_key": agent.key})).await.status, 401);
    assert_eq!(app.post("/v1/auth/agent-token", None, json!({"api_key": new_key})).await.status, 200);

    let expiring = app
        .register_agent(
            &alice.token,
            "temp",
            json!({"expires_at": rfc3339(app.clock.now_utc() + time::Duration::minutes(10))}),
        )
        .await;
    let token = app.agent_token(&expiring).await;
    assert!(
        decode(&token)["exp"].as_i64().unwrap() <= app.clock.now_utc().unix_timestamp() + 600,
        "tokens end with the agent"
    );
    app.clock.advance(time::Duration::minutes(11));
    assert_eq!(app.post("/v1/auth/agent-token", None, json!({"api_key": expiring.key})).await.status, 401);
}

#[tokio::test]
async fn agents_create_vaults_their_creator_can_use() {
    let app = spawn_app().await;
    let alice = app.signup("agent-vaults@example.com").await;
    let agent = app.register_agent(&alice.token, "builder", json!({})).await;
    let token = app.agent_token(&agent).await;
    let vault = app.post("/v1/vaults", Some(&token), json!({"name": "made-by-agent"})).await;
    assert_eq!(vault.status, 201);
    assert_eq!(vault.body["created_by_type"], "agent");
    assert_eq!(vault.body["created_by"], agent.id.as_str());
    let id = vault.body["id"].as_str().unwrap();
    let stored = app.put_secret(&token, id, "k", "agent-value").await;
    assert_eq!(stored.status, 201);
    let listed = app.get("/v1/vaults", &alice.token).await;
    assert!(listed.body["vaults"].as_array().unwrap().iter().any(|v| v["id"] == id), "visible to the human creator");
    let read = app.get(&format!("/v1/vaults/{id}/secrets/k"), &alice.token).await;
    assert_eq!(read.body["value"], "agent-value");
    assert_eq!(read.body["created_by"], format!("agent:{}", agent.id));
}

fn decode(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339).unwrap()
}
