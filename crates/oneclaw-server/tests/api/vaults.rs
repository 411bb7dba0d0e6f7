use oneclaw_testkit::spawn_app;
use serde_json::json;

#[tokio::test]
async fn vaults_are_created_listed_fetched_and_deleted() {
    let app = spawn_app().await;
    let account = app.signup("vaults@example.com").await;
    let me = app.get("/v1/auth/me", &account.token).await;
    let created =
        app.post("/v1/vaults", Some(&account.token), json!({"name": "prod", "description": "production"})).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["name"], "prod");
    assert_eq!(created.body["description"], "production");
    assert_eq!(created.body["created_by"], me.body["id"]);
    assert_eq!(created.body["created_by_type"], "user");
    assert!(created.body["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(created.body.get("mpc_custody").is_none(), "MPC fields are omitted when off");

    let listed = app.get("/v1/vaults", &account.token).await;
    assert_eq!(listed.body["vaults"].as_array().unwrap().len(), 1);
    assert_eq!(app.get(&format!("/v1/vaults/{id}"), &account.token).await.body["id"], id.as_str());

    let deleted = app.delete(&format!("/v1/vaults/{id}"), &account.token).await;
    assert_eq!(deleted.status, 204);
    assert!(deleted.text.is_empty());
    assert_eq!(app.get(&format!("/v1/vaults/{id}"), &account.token).await.status, 404);
    assert_eq!(app.delete(&format!("/v1/vaults/{id}"), &account.token).await.status, 404);
}

#[tokio::test]
async fn deleting_a_vault_deletes_its_secrets() {
    let app = spawn_app().await;
    let account = app.signup("cascade@example.com").await;
    let vault = app.create_vault(&account.token, "gone").await;
    assert_eq!(app.put_secret(&account.token, &vault, "a/b", "v").await.status, 201);
    assert_eq!(app.delete(&format!("/v1/vaults/{vault}"), &account.token).await.status, 204);
    assert_eq!(app.get(&format!("/v1/vaults/{vault}/secrets/a/b"), &account.token).await.status, 404);
    // A new vault of the same name starts empty.
    let again = app.create_vault(&account.token, "gone").await;
    assert_eq!(app.get(&format!("/v1/vaults/{again}/secrets"), &account.token).await.body["secrets"], json!([]));
}

#[tokio::test]
async fn another_orgs_vaults_answer_404() {
    let app = spawn_app().await;
    let alice = app.signup("alice@example.com").await;
    let eve = app.signup("eve@example.com").await;
    let vault = app.create_vault(&alice.token, "private").await;
    assert_eq!(app.get(&format!("/v1/vaults/{vault}"), &eve.token).await.status, 404);
    assert_eq!(app.delete(&format!("/v1/vaults/{vault}"), &eve.token).await.status, 404);
    assert_eq!(app.get("/v1/vaults", &eve.token).await.body["vaults"], json!([]));
    assert_eq!(app.get(&format!("/v1/vaults/{vault}"), &alice.token).await.status, 200, "Eve changed nothing");
}

#[tokio::test]
async fn vault_input_is_validated() {
    let app = spawn_app().await;
    let account = app.signup("vinput@example.com").await;
    app.create_vault(&account.token, "dup").await;
    assert_eq!(app.post("/v1/vaults", Some(&account.token), json!({"name": "dup"})).await.status, 409);
    for body in
        [json!({"name": ""}), json!({"name": "   "}), json!({"name": "x".repeat(101)}), json!({}), json!({"name": 7})]
    {
        let response = app.post("/v1/vaults", Some(&account.token), body.clone()).await;
        assert_eq!(response.status, 400, "{body}: {}", response.text);
    }
    assert_eq!(app.get("/v1/vaults/not-a-uuid", &account.token).await.status, 400);
    assert_eq!(app.get("/v1/vaults", &account.token).await.body["vaults"].as_array().unwrap().len(), 1);
}
