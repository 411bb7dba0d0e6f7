use oneclaw_testkit::spawn_app;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn policies_are_created_listed_updated_and_deleted() {
    let app = spawn_app().await;
    let alice = app.signup("policies@example.com").await;
    let vault = app.create_vault(&alice.token, "v").await;
    app.put_secret(&alice.token, &vault, "api/key", "v").await;
    let agent = app.register_agent(&alice.token, "a", json!({})).await;
    let created = app
        .grant(&alice.token, &vault, ("agent", &agent.id), "api/*", &["read", "read"], json!({"conditions": {"ip_allowlist": ["127.0.0.1"]}, "priority": 5, "policy_schema_version": 1, "attribute_conditions": {}}))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let policy = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["permissions"], json!(["read"]));
    assert_eq!(created.body["conditions"], json!({"ip_allowlist": ["127.0.0.1"]}));
    assert!(created.body.get("effect").is_none(), "allow is the default; a strict client has no effect field");
    assert_eq!(created.body["priority"], 5);
    assert_eq!(created.body["policy_schema_version"], 1, "a version other than the default is said");
    assert_eq!(created.body["created_by_type"], "user");
    assert_eq!(created.body["vault_id"], vault.as_str());

    let token = app.agent_token(&agent).await;
    assert_eq!(app.get(&format!("/v1/vaults/{vault}/secrets/api/key"), &token).await.status, 200);
    let listed = app.get(&format!("/v1/vaults/{vault}/policies"), &alice.token).await;
    assert_eq!(listed.body["policies"].as_array().unwrap().len(), 1);

    let updated = app
        .call(
            Method::PUT,
            &format!("/v1/vaults/{vault}/policies/{policy}"),
            Some(&alice.token),
            Some(json!({"permissions": ["write"], "secret_path_pattern": "ignored/**"})),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(updated.body["permissions"], json!(["write"]));
    assert_eq!(updated.body["secret_path_pattern"], "api/*", "pattern and principal are fixed");
    assert_eq!(
        app.get(&format!("/v1/vaults/{vault}/secrets/api/key"), &token).await.status,
        403,
        "read was taken away"
    );

    assert_eq!(app.delete(&format!("/v1/vaults/{vault}/policies/{policy}"), &alice.token).await.status, 204);
    assert_eq!(app.delete(&format!("/v1/vaults/{vault}/policies/{policy}"), &alice.token).await.status, 404);
    assert_eq!(app.get(&format!("/v1/vaults/{vault}/policies"), &alice.token).await.body["policies"], json!([]));
}

#[tokio::test]
async fn bad_policies_are_refused_with_the_field_named() {
    let app = spawn_app().await;
    let alice = app.signup("bad-policies@example.com").await;
    let vault = app.create_vault(&alice.token, "v").await;
    let agent = app.register_agent(&alice.token, "a", json!({})).await;
    let outsider = app.signup("outsider-policies@example.com").await;
    let outsider_id = app.user_id(&outsider.token).await;
    let base = |extra: serde_json::Value| {
        let mut body = json!({"principal_type": "agent", "principal_id": agent.id, "secret_path_pattern": "**", "permissions": ["read"]});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    for (extra, field) in [
        (json!({"conditions": {"environment_in": ["prod"]}}), "conditions"),
        (json!({"conditions": {"time_window": {"after": "9am"}}}), "conditions"),
        (json!({"conditions": {"ip_allowlist": ["not-an-ip"]}}), "conditions"),
        (json!({"secret_path_pattern": "api-*"}), "secret_path_pattern"),
        (json!({"secret_path_pattern": "a/../b"}), "secret_path_pattern"),
        (json!({"secret_path_pattern": "/a"}), "secret_path_pattern"),
        (json!({"permissions": []}), "permissions"),
        (json!({"permissions": ["admin"]}), "permissions"),
        (json!({"principal_type": "robot"}), "principal_type"),
        (json!({"principal_id": "nope"}), "principal_id"),
        (json!({"principal_type": "user", "principal_id": outsider_id}), "principal_id"),
        (json!({"effect": "maybe"}), "effect"),
        (json!({"priority": -1}), "priority"),
        (json!({"expires_at": "2001-01-01T00:00:00Z"}), "expires_at"),
    ] {
        let response = app.post(&format!("/v1/vaults/{vault}/policies"), Some(&alice.token), base(extra.clone())).await;
        assert_eq!(response.status, 400, "{extra}: {}", response.text);
        assert!(response.body["fields"][field].is_string(), "{extra}: {}", response.text);
    }
    assert_eq!(
        app.get(&format!("/v1/vaults/{vault}/policies"), &alice.token).await.body["policies"],
        json!([]),
        "nothing was stored"
    );
}
