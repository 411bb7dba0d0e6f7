use oneclaw_testkit::spawn_app;
use reqwest::Method;
use serde_json::json;

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339).unwrap()
}

#[tokio::test]
async fn every_put_is_a_new_version_and_reads_return_the_latest() {
    let app = spawn_app().await;
    let account = app.signup("secrets@example.com").await;
    let vault = app.create_vault(&account.token, "v").await;
    let first = app
        .put(
            &format!("/v1/vaults/{vault}/secrets/api-keys/stripe"),
            &account.token,
            json!({"value": "one", "type": "api_key", "metadata": {"env": "prod"}}),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.body["version"], 1);
    assert_eq!(first.body["type"], "api_key");
    assert_eq!(first.body["metadata"], json!({"env": "prod"}));
    assert!(first.body.get("value").is_none(), "a PUT never echoes the value");
    let second = app.put_secret(&account.token, &vault, "api-keys/stripe", "two").await;
    assert_eq!(second.status, 201);
    assert_eq!(second.body["version"], 2);
    assert_eq!(second.body["type"], "generic", "type defaults to generic");
    assert_eq!(second.body["id"], first.body["id"], "the secret id is stable per path");

    let read = app.get(&format!("/v1/vaults/{vault}/secrets/api-keys/stripe"), &account.token).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["value"], "two");
    assert_eq!(read.body["version"], 2);
    let me = app.get("/v1/auth/me", &account.token).await;
    assert_eq!(read.body["created_by"], format!("user:{}", me.body["id"].as_str().unwrap()));

    let v1 = app.get(&format!("/v1/vaults/{vault}/secret-version/api-keys/stripe/1"), &account.token).await;
    assert_eq!(v1.status, 200);
    assert_eq!(v1.body["value"], "one");
    assert_eq!(v1.body["metadata"], json!({"env": "prod"}));
    assert_eq!(
        app.get(&format!("/v1/vaults/{vault}/secret-version/api-keys/stripe/3"), &account.token).await.status,
        404
    );

    let versions = app.get(&format!("/v1/vaults/{vault}/secret-versions/api-keys/stripe"), &account.token).await;
    assert_eq!(versions.status, 200);
    let list = versions.body["versions"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["version"], 1);
    assert!(list[0].get("is_disabled").is_none(), "an enabled version says nothing (strict clients)");
    assert!(list.iter().all(|v| v.get("value").is_none()), "version lists never carry values");
}

#[tokio::test]
async fn paths_are_decoded_once_whatever_the_client_encoding() {
    let app = spawn_app().await;
    let account = app.signup("paths@example.com").await;
    let vault = app.create_vault(&account.token, "v").await;
    // The Go SDK escapes the whole path as one segment.
    assert_eq!(app.put_secret(&account.token, &vault, "db%2Fcredentials", "x").await.status, 201);
    let plain = app.get(&format!("/v1/vaults/{vault}/secrets/db/credentials"), &account.token).await;
    assert_eq!(plain.status, 200);
    assert_eq!(plain.body["path"], "db/credentials");
    let upper = app.get(&format!("/v1/vaults/{vault}/secrets/db%2fcredentials"), &account.token).await;
    assert_eq!(upper.body["value"], "x");
    let double = app.get(&format!("/v1/vaults/{vault}/secrets/db%252Fcredentials"), &account.token).await;
    assert_eq!(double.status, 400, "double encoding is not a separator");
    let versions = app.get(&format!("/v1/vaults/{vault}/secret-version/db%2Fcredentials/1"), &account.token).await;
    assert_eq!(versions.body["value"], "x");
}

#[tokio::test]
async fn lists_show_metadata_only_and_filter_by_prefix() {
    let app = spawn_app().await;
    let account = app.signup("list@example.com").await;
    let vault = app.create_vault(&account.token, "v").await;
    for (path, value) in [
        ("api-keys/stripe", "SECRET_A"),
        ("api-keys/openai", "SECRET_B"),
        ("db/main", "SECRET_C"),
        ("api-keysx", "SECRET_D"),
    ] {
        app.put_secret(&account.token, &vault, path, value).await;
    }
    app.put_secret(&account.token, &vault, "db/main", "SECRET_C2").await;
    let all = app.get(&format!("/v1/vaults/{vault}/secrets"), &account.token).await;
    assert_eq!(all.status, 200);
    let paths: Vec<&str> =
        all.body["secrets"].as_array().unwrap().iter().map(|s| s["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["api-keys/openai", "api-keys/stripe", "api-keysx", "db/main"]);
    assert!(!all.text.contains("SECRET_"), "lists never carry values");
    assert_eq!(all.body["secrets"][3]["version"], 2);
    assert!(all.body["secrets"][0].get("is_disabled").is_none());

    let prefixed = app.get(&format!("/v1/vaults/{vault}/secrets?prefix=api-keys/"), &account.token).await;
    let paths: Vec<&str> =
        prefixed.body["secrets"].as_array().unwrap().iter().map(|s| s["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["api-keys/openai", "api-keys/stripe"]);
    let underscore = app.get(&format!("/v1/vaults/{vault}/secrets?prefix=api_keys"), &account.token).await;
    assert_eq!(underscore.body["secrets"], json!([]), "'_' is literal, not a wildcard");
    assert_eq!(app.get(&format!("/v1/vaults/{vault}/secrets?prefix=../"), &account.token).await.status, 400);
}

#[tokio::test]
async fn delete_is_soft_and_a_later_put_revives_the_path() {
    let app = spawn_app().await;
    let account = app.signup("delete@example.com").await;
    let vault = app.create_vault(&account.token, "v").await;
    app.put_secret(&account.token, &vault, "tmp/token", "old").await;
    let deleted = app.delete(&format!("/v1/vaults/{vault}/secrets/tmp/token"), &account.token).await;
    assert_eq!(deleted.status, 204);
    assert!(deleted.text.is_empty());
    assert_eq!(app.get(&format!("/v1/vaults/{vault}/secrets/tmp/token"), &account.token).await.status, 410);
    assert_eq!(app.get(&format!("/v1/vaults/{vault}/secret-version/tmp/token/1"), &account.token).await.status, 410);
    assert_eq!(app.get(&format!("/v1/vaults/{vault}/secrets"), &account.token).await.body["secrets"], json!([]));
    assert_eq!(app.delete(&format!("/v1/vaults/{vault}/secrets/tmp/token"), &account.token).await.status, 404);
    assert_eq!(app.delete(&format!("/v1/vaults/{vault}/secrets/never/was"), &account.token).await.status, 404);

    let revived = app.put_secret(&account.token, &vault, "tmp/token", "new").await;
    assert_eq!(revived.body["version"], 2);
    assert_eq!(app.get(&format!("/v1/vaults/{vault}/secrets/tmp/token"), &account.token).await.body["value"], "new");
    assert_eq!(
        app.get(&format!("/v1/vaults/{vault}/secret-version/tmp/token/1"), &account.token).await.status,
        410,
        "versions deleted before the revival stay unreadable"
    );
}

#[tokio::test]
async fn expiry_access_limits_and_disabled_versions_answer_410() {
    let app = spawn_app().await;
    let account = app.signup("limits@example.com").await;
    let vault = app.create_vault(&account.token, "v").await;
    let soon = rfc3339(app.clock.now_utc() + time::Duration::minutes(5));
    let put = app
        .put(&format!("/v1/vaults/{vault}/secrets/expiring"), &account.token, json!({"value": "x", "expires_at": soon}))
        .await;
    assert_eq!(put.status, 201, "{}", put.text);
    assert!(put.body["expires_at"].is_string());
    assert_eq!(app.get(&format!("/v1/vaults/{vault}/secrets/expiring"), &account.token).await.status, 200);
    app.clock.advance(time::Duration::minutes(6));
    let expired = app.get(&format!("/v1/vaults/{vault}/secrets/expiring"), &account.token).await;
    assert_eq!(expired.status, 410);
    assert!(expired.detail().contains("expired"));

    app.put(&format!("/v1/vaults/{vault}/secrets/once"), &account.token, json!({"value": "y", "max_access_count": 2}))
        .await;
    assert_eq!(app.get(&format!("/v1/vaults/{vault}/secrets/once"), &account.token).await.status, 200);
    assert_eq!(app.get(&format!("/v1/vaults/{vault}/secrets/once"), &account.token).await.status, 200);
    let used_up = app.get(&format!("/v1/vaults/{vault}/secrets/once"), &account.token).await;
    assert_eq!(used_up.status, 410);
    assert!(used_up.detail().contains("maximum access count"));

    app.put_secret(&account.token, &vault, "versions", "v1").await;
    app.put_secret(&account.token, &vault, "versions", "v2").await;
    let disabled = app
        .call(
            Method::POST,
            &format!("/v1/vaults/{vault}/secret-version-disable/versions/1"),
            Some(&account.token),
            None,
        )
        .await;
    assert_eq!(disabled.status, 204);
    assert_eq!(app.get(&format!("/v1/vaults/{vault}/secret-version/versions/1"), &account.token).await.status, 410);
    assert_eq!(app.get(&format!("/v1/vaults/{vault}/secrets/versions"), &account.token).await.body["value"], "v2");
    let listed = app.get(&format!("/v1/vaults/{vault}/secret-versions/versions"), &account.token).await;
    assert_eq!(listed.body["versions"][0]["is_disabled"], true);
    assert!(listed.body["versions"][1].get("is_disabled").is_none());
    let missing = app
        .call(
            Method::POST,
            &format!("/v1/vaults/{vault}/secret-version-disable/versions/9"),
            Some(&account.token),
            None,
        )
        .await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn rotation_generates_a_value_server_side() {
    let app = spawn_app().await;
    let account = app.signup("rotate@example.com").await;
    let vault = app.create_vault(&account.token, "v").await;
    app.put(
        &format!("/v1/vaults/{vault}/secrets/db/pw"),
        &account.token,
        json!({"value": "initial", "type": "password", "metadata": {"owner": "ops"}}),
    )
    .await;

    let rotated = app.post(&format!("/v1/vaults/{vault}/secret-rotate/db/pw"), Some(&account.token), json!({})).await;
    assert_eq!(rotated.status, 201, "{}", rotated.text);
    assert_eq!(rotated.body["version"], 2);
    assert_eq!(rotated.body["type"], "password", "type carries over");
    assert_eq!(rotated.body["metadata"], json!({"owner": "ops"}));
    assert!(rotated.body.get("value").is_none());
    let value = app.get(&format!("/v1/vaults/{vault}/secrets/db/pw"), &account.token).await.body["value"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(value.len(), 32);
    assert!(value.chars().all(|c| c.is_ascii_hexdigit()));

    let custom = app
        .post(
            &format!("/v1/vaults/{vault}/secret-rotate/db/pw"),
            Some(&account.token),
            json!({"length": 48, "charset": "alphanumeric", "type": "api_key"}),
        )
        .await;
    assert_eq!(custom.body["type"], "api_key");
    let value = app.get(&format!("/v1/vaults/{vault}/secrets/db/pw"), &account.token).await.body["value"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(value.len(), 48);
    assert!(value.chars().all(|c| c.is_ascii_alphanumeric()));

    // The Python SDK posts an empty object; a bare POST with no body works too.
    let bare = app
        .call_bytes(Method::POST, &format!("/v1/vaults/{vault}/secret-rotate/db/pw"), Some(&account.token), Vec::new())
        .await;
    assert_eq!(bare.status, 201, "{}", bare.text);

    for bad in [json!({"charset": "emoji"}), json!({"length": 3}), json!({"length": 100000}), json!({"length": -1})] {
        let response =
            app.post(&format!("/v1/vaults/{vault}/secret-rotate/db/pw"), Some(&account.token), bad.clone()).await;
        assert_eq!(response.status, 400, "{bad}: {}", response.text);
    }
    assert_eq!(
        app.post(&format!("/v1/vaults/{vault}/secret-rotate/no/such"), Some(&account.token), json!({})).await.status,
        404
    );
    let versions = app.get(&format!("/v1/vaults/{vault}/secret-versions/db/pw"), &account.token).await;
    assert_eq!(versions.body["versions"].as_array().unwrap().len(), 4, "refused rotations add no version");
}

#[tokio::test]
async fn another_orgs_secrets_answer_404_and_stay_intact() {
    let app = spawn_app().await;
    let alice = app.signup("alice-s@example.com").await;
    let eve = app.signup("eve-s@example.com").await;
    let vault = app.create_vault(&alice.token, "v").await;
    app.put_secret(&alice.token, &vault, "k", "alice-value").await;
    let base = format!("/v1/vaults/{vault}");
    assert_eq!(app.get(&format!("{base}/secrets/k"), &eve.token).await.status, 404);
    assert_eq!(app.get(&format!("{base}/secrets"), &eve.token).await.status, 404);
    assert_eq!(app.put_secret(&eve.token, &vault, "k", "eve-value").await.status, 404);
    assert_eq!(app.delete(&format!("{base}/secrets/k"), &eve.token).await.status, 404);
    assert_eq!(app.post(&format!("{base}/secret-rotate/k"), Some(&eve.token), json!({})).await.status, 404);
    assert_eq!(app.get(&format!("{base}/secret-versions/k"), &eve.token).await.status, 404);
    let read = app.get(&format!("{base}/secrets/k"), &alice.token).await;
    assert_eq!(read.body["value"], "alice-value");
    assert_eq!(read.body["version"], 1);
}
