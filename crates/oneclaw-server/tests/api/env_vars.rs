//! Environment variables (issue 16): CRUD, `resolve` layering, environments, org-shared
//! variables, policy-limited agents, bad input, and values kept out of audit and secret calls.

use oneclaw_testkit::{TestApp, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

async fn create_var(app: &TestApp, token: &str, vault: &str, body: Value) -> oneclaw_testkit::Response {
    app.post(&format!("/v1/vaults/{vault}/env-vars"), Some(token), body).await
}

fn keys(body: &Value) -> Vec<String> {
    let mut keys: Vec<String> =
        body["env_vars"].as_array().unwrap().iter().map(|v| v["key"].as_str().unwrap().to_owned()).collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn variables_are_created_listed_read_updated_and_deleted() {
    let app = spawn_app().await;
    let alice = app.signup("env-crud@example.com").await;
    let vault = app.create_vault(&alice.token, "app").await;

    let created = create_var(
        &app,
        &alice.token,
        &vault,
        json!({"key": "DATABASE_URL", "value": "postgres://prod-value-1", "environments": ["production"], "sensitive": true, "comment": "main db"}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["key"], "DATABASE_URL");
    assert_eq!(created.body["environments"], json!(["production"]));
    assert_eq!(created.body["version"], 1);
    assert_eq!(created.body["sensitive"], true);
    assert!(created.body.get("value").is_none(), "a create answers no value: {}", created.text);
    let defaulted = create_var(&app, &alice.token, &vault, json!({"key": "LOG_LEVEL", "value": "info"})).await;
    assert_eq!(defaulted.status, 201, "{}", defaulted.text);
    assert_eq!(defaulted.body["environments"], json!(["production", "preview", "development"]));

    let listed = app.get(&format!("/v1/vaults/{vault}/env-vars"), &alice.token).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(keys(&listed.body), ["DATABASE_URL", "LOG_LEVEL"]);
    assert!(!listed.text.contains("prod-value-1") && !listed.text.contains("\"value\""), "lists carry no values");
    let only_dev = app.get(&format!("/v1/vaults/{vault}/env-vars?environment=development"), &alice.token).await;
    assert_eq!(keys(&only_dev.body), ["LOG_LEVEL"]);

    let read = app.get(&format!("/v1/vaults/{vault}/env-vars/DATABASE_URL?environment=production"), &alice.token).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["value"], "postgres://prod-value-1");

    let patched = app
        .call(
            Method::PATCH,
            &format!("/v1/vaults/{vault}/env-vars/DATABASE_URL?environment=production"),
            Some(&alice.token),
            Some(json!({"value": "postgres://prod-value-2", "comment": "rotated"})),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["version"], 2);
    assert_eq!(patched.body["comment"], "rotated");
    let read = app.get(&format!("/v1/vaults/{vault}/env-vars/DATABASE_URL"), &alice.token).await;
    assert_eq!(read.body["value"], "postgres://prod-value-2", "one variable of that key: no environment needed");

    // Taking LOG_LEVEL out of one environment keeps it in the others; the last one deletes it.
    let path = format!("/v1/vaults/{vault}/env-vars/LOG_LEVEL");
    assert_eq!(app.delete(&format!("{path}?environment=preview"), &alice.token).await.status, 204);
    let left = app.get(&format!("{path}?environment=production"), &alice.token).await;
    assert_eq!(left.body["environments"], json!(["production", "development"]), "{}", left.text);
    assert_eq!(app.get(&format!("{path}?environment=preview"), &alice.token).await.status, 404);
    assert_eq!(app.delete(&path, &alice.token).await.status, 204);
    assert_eq!(app.get(&path, &alice.token).await.status, 404);
    assert_eq!(app.delete(&path, &alice.token).await.status, 404);

    // The values live in the vault as secrets no secret call can name or list.
    let secrets = app.get(&format!("/v1/vaults/{vault}/secrets"), &alice.token).await;
    assert_eq!(secrets.body["secrets"], json!([]), "{}", secrets.text);
    let id = created.body["id"].as_str().unwrap();
    for raw in [format!("%40oneclaw/env/{id}"), format!("@oneclaw/env/{id}")] {
        let direct = app.get(&format!("/v1/vaults/{vault}/secrets/{raw}"), &alice.token).await;
        assert_eq!(direct.status, 400, "{raw}: {}", direct.text);
    }

    let events = app.audit_events(&alice).await;
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    for action in ["env_var.create", "env_var.read", "env_var.update", "env_var.delete", "env_var.list"] {
        assert!(actions.contains(&action), "{action} missing from {actions:?}");
    }
    let all = serde_json::to_string(&events.iter().map(|e| &e.details).collect::<Vec<_>>()).unwrap();
    assert!(!all.contains("prod-value"), "no value in any audit record");
}

#[tokio::test]
async fn resolve_layers_shared_then_vault_then_branch_override() {
    let app = spawn_app().await;
    let alice = app.signup("env-resolve@example.com").await;
    let vault = app.create_vault(&alice.token, "web").await;
    let other = app.create_vault(&alice.token, "other").await;

    let shared = app.post("/v1/org/env-vars", Some(&alice.token), json!({"key": "REGION", "value": "eu-west-1"})).await;
    assert_eq!(shared.status, 201, "{}", shared.text);
    let only_shared =
        app.post("/v1/org/env-vars", Some(&alice.token), json!({"key": "SENTRY_DSN", "value": "https://sentry"})).await;
    let unlinked = app.post("/v1/org/env-vars", Some(&alice.token), json!({"key": "UNLINKED", "value": "never"})).await;
    assert_eq!(unlinked.status, 201);
    for id in [&shared.body["id"], &only_shared.body["id"]] {
        let linked = app
            .post(
                &format!("/v1/org/env-vars/{}/link", id.as_str().unwrap()),
                Some(&alice.token),
                json!({"vault_id": vault}),
            )
            .await;
        assert_eq!(linked.status, 201, "{}", linked.text);
    }
    create_var(
        &app,
        &alice.token,
        &vault,
        json!({"key": "REGION", "value": "us-east-1", "environments": ["production"]}),
    )
    .await;
    create_var(
        &app,
        &alice.token,
        &vault,
        json!({"key": "API_URL", "value": "https://preview.api", "environments": ["preview"]}),
    )
    .await;
    let branch = create_var(
        &app,
        &alice.token,
        &vault,
        json!({"key": "API_URL", "value": "https://feature.api", "git_branch": "feature/login"}),
    )
    .await;
    assert_eq!(branch.status, 201, "{}", branch.text);
    assert_eq!(branch.body["environments"], json!(["preview"]), "an override is preview's");

    let resolve =
        async |query: &str| app.get(&format!("/v1/vaults/{vault}/env-vars/resolve?{query}"), &alice.token).await;
    let production = resolve("environment=production").await;
    assert_eq!(production.status, 200, "{}", production.text);
    assert_eq!(production.body["vars"], json!({"REGION": "us-east-1", "SENTRY_DSN": "https://sentry"}));
    assert_eq!(production.body["sources"], json!({"REGION": "vault", "SENTRY_DSN": "shared"}));
    assert_eq!(production.body["environment"], "production");

    let preview = resolve("environment=preview").await;
    assert_eq!(
        preview.body["vars"],
        json!({"API_URL": "https://preview.api", "REGION": "eu-west-1", "SENTRY_DSN": "https://sentry"})
    );
    assert_eq!(preview.body["sources"]["REGION"], "shared", "no vault REGION in preview: the shared one shows");

    let on_branch = resolve("environment=preview&git_branch=feature/login").await;
    assert_eq!(on_branch.body["vars"]["API_URL"], "https://feature.api");
    assert_eq!(on_branch.body["sources"]["API_URL"], "branch_override");
    assert_eq!(on_branch.body["git_branch"], "feature/login");
    let other_branch = resolve("environment=preview&git_branch=main").await;
    assert_eq!(other_branch.body["vars"]["API_URL"], "https://preview.api", "an override is for its branch only");

    let elsewhere = app.get(&format!("/v1/vaults/{other}/env-vars/resolve?environment=production"), &alice.token).await;
    assert_eq!(elsewhere.body["vars"], json!({}), "shared variables reach only the vaults they are linked to");

    // Unlinking takes the shared layer away; the org list shows the links.
    let id = only_shared.body["id"].as_str().unwrap();
    assert_eq!(app.delete(&format!("/v1/org/env-vars/{id}/links/{vault}"), &alice.token).await.status, 204);
    assert_eq!(app.delete(&format!("/v1/org/env-vars/{id}/links/{vault}"), &alice.token).await.status, 404);
    assert!(resolve("environment=production").await.body["vars"].get("SENTRY_DSN").is_none());
    let org = app.get("/v1/org/env-vars", &alice.token).await;
    let region = org.body["env_vars"].as_array().unwrap().iter().find(|v| v["key"] == "REGION").unwrap().clone();
    assert_eq!(region["linked_vaults"], json!([vault]));
    assert!(!org.text.contains("eu-west-1"), "org lists carry no values");

    // A new version of a shared value is what resolve sees next.
    let patched = app
        .call(Method::PATCH, "/v1/org/env-vars/REGION", Some(&alice.token), Some(json!({"value": "eu-central-1"})))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["version"], 2);
    assert_eq!(resolve("environment=preview").await.body["vars"]["REGION"], "eu-central-1");

    assert_eq!(resolve("").await.status, 400, "a human names the environment");
    assert_eq!(resolve("environment=staging").await.status, 404);
}

#[tokio::test]
async fn an_agent_resolves_and_reads_only_what_its_policies_allow() {
    let app = spawn_app().await;
    let alice = app.signup("env-agent@example.com").await;
    let vault = app.create_vault(&alice.token, "svc").await;
    for (key, value, env) in [
        ("DB_URL", "db-prod", "production"),
        ("DB_USER", "u", "production"),
        ("STRIPE_KEY", "sk", "production"),
        ("DB_URL", "db-dev", "development"),
    ] {
        let created =
            create_var(&app, &alice.token, &vault, json!({"key": key, "value": value, "environments": [env]})).await;
        assert_eq!(created.status, 201, "{}", created.text);
    }
    let agent = app.register_agent(&alice.token, "deployer", json!({})).await;
    let token = app.agent_token(&agent).await;
    let nothing = app.get(&format!("/v1/vaults/{vault}/env-vars/resolve?environment=production"), &token).await;
    assert_eq!(nothing.status, 403, "no policy, no vault: {}", nothing.text);

    let grant = app.grant(&alice.token, &vault, ("agent", &agent.id), "env/production/*", &["read"], json!({})).await;
    assert_eq!(grant.status, 201, "{}", grant.text);
    let deny = app
        .grant(
            &alice.token,
            &vault,
            ("agent", &agent.id),
            "env/production/STRIPE_KEY",
            &["read"],
            json!({"effect": "deny"}),
        )
        .await;
    assert_eq!(deny.status, 201, "{}", deny.text);
    let token = app.agent_token(&agent).await;
    let production = app.get(&format!("/v1/vaults/{vault}/env-vars/resolve?environment=production"), &token).await;
    assert_eq!(production.status, 200, "{}", production.text);
    assert_eq!(production.body["vars"], json!({"DB_URL": "db-prod", "DB_USER": "u"}), "STRIPE_KEY is withheld");
    let development = app.get(&format!("/v1/vaults/{vault}/env-vars/resolve?environment=development"), &token).await;
    assert_eq!(development.body["vars"], json!({}), "no grant in development");

    let stripe = app.get(&format!("/v1/vaults/{vault}/env-vars/STRIPE_KEY?environment=production"), &token).await;
    assert_eq!(stripe.status, 403, "{}", stripe.text);
    let db = app.get(&format!("/v1/vaults/{vault}/env-vars/DB_URL?environment=production"), &token).await;
    assert_eq!(db.body["value"], "db-prod");
    let listed = app.get(&format!("/v1/vaults/{vault}/env-vars"), &token).await;
    assert_eq!(keys(&listed.body), ["DB_URL", "DB_USER"], "a list shows what the agent may read");
    let write =
        create_var(&app, &token, &vault, json!({"key": "DB_HOST", "value": "x", "environments": ["production"]})).await;
    assert_eq!(write.status, 403, "read-only grant: {}", write.text);
    let patch = app
        .call(
            Method::PATCH,
            &format!("/v1/vaults/{vault}/env-vars/DB_URL?environment=production"),
            Some(&token),
            Some(json!({"value": "evil"})),
        )
        .await;
    assert_eq!(patch.status, 403);
    assert_eq!(
        app.delete(&format!("/v1/vaults/{vault}/env-vars/DB_URL?environment=production"), &token).await.status,
        403
    );
    assert_eq!(app.get("/v1/org/env-vars", &token).await.status, 403, "org-shared variables are for admins");

    let events = app.audit_events(&alice).await;
    let resolved = events.iter().find(|e| {
        e.action == "env_var.resolve" && e.details["environment"] == "production" && e.details["withheld"] == 1
    });
    assert!(resolved.is_some(), "the resolve is recorded with what was withheld");
}

#[tokio::test]
async fn a_tagged_agent_resolves_its_environment_without_naming_it() {
    let app = spawn_app().await;
    let alice = app.signup("env-tag@example.com").await;
    let vault = app.create_vault(&alice.token, "svc").await;
    create_var(&app, &alice.token, &vault, json!({"key": "MODE", "value": "live", "environments": ["production"]}))
        .await;
    create_var(&app, &alice.token, &vault, json!({"key": "MODE", "value": "test", "environments": ["preview"]})).await;
    let agent = app.register_agent(&alice.token, "prod-bot", json!({"environment": "production"})).await;
    app.grant(&alice.token, &vault, ("agent", &agent.id), "env/**", &["read"], json!({})).await;
    let shown = app.get(&format!("/v1/agents/{}", agent.id), &alice.token).await;
    assert_eq!(shown.body["environment"], "production", "{}", shown.text);
    let token = app.agent_token(&agent).await;

    let resolved = app.get(&format!("/v1/vaults/{vault}/env-vars/resolve"), &token).await;
    assert_eq!(resolved.status, 200, "{}", resolved.text);
    assert_eq!(resolved.body["environment"], "production");
    assert_eq!(resolved.body["vars"], json!({"MODE": "live"}));
    let other = app.get(&format!("/v1/vaults/{vault}/env-vars/resolve?environment=preview"), &token).await;
    assert_eq!(other.status, 403, "a tagged agent keeps to its environment: {}", other.text);
    let read = app.get(&format!("/v1/vaults/{vault}/env-vars/MODE"), &token).await;
    assert_eq!(read.body["value"], "live", "{}", read.text);
    assert_eq!(app.get(&format!("/v1/vaults/{vault}/env-vars/MODE?environment=preview"), &token).await.status, 403);

    let bad = app.post("/v1/agents", Some(&alice.token), json!({"name": "x", "environment": "Prod!"})).await;
    assert_eq!(bad.status, 400, "{}", bad.text);
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let alice = app.signup("env-bad@example.com").await;
    let vault = app.create_vault(&alice.token, "v").await;
    let first =
        create_var(&app, &alice.token, &vault, json!({"key": "TOKEN", "value": "a", "environments": ["production"]}))
            .await;
    assert_eq!(first.status, 201);

    for (body, status) in [
        (json!({"key": "1BAD", "value": "x"}), 400),
        (json!({"key": "BAD-KEY", "value": "x"}), 400),
        (json!({"key": "A".repeat(257), "value": "x"}), 400),
        (json!({"key": "", "value": "x"}), 400),
        (json!({"key": "resolve", "value": "x"}), 400),
        (json!({"key": "OK", "value": "x", "environments": []}), 400),
        (json!({"key": "OK", "value": "x", "environments": ["Prod"]}), 400),
        (json!({"key": "OK", "value": "x", "environments": ["staging"]}), 404),
        (json!({"key": "OK", "value": "x", "git_branch": "a b"}), 400),
        (json!({"key": "OK", "value": "x", "git_branch": "main", "environments": ["production"]}), 400),
        (json!({"key": "TOKEN", "value": "b", "environments": ["production"]}), 409),
        (json!({"key": "TOKEN", "value": "b", "environments": ["development", "production"]}), 409),
        (json!({"key": "OK"}), 400),
    ] {
        let response = create_var(&app, &alice.token, &vault, body.clone()).await;
        assert_eq!(response.status, status, "{body}: {}", response.text);
    }
    let huge = app
        .call_bytes(
            Method::POST,
            &format!("/v1/vaults/{vault}/env-vars"),
            Some(&alice.token),
            serde_json::to_vec(&json!({"key": "BIG", "value": "x".repeat(2 * 1024 * 1024)})).unwrap(),
        )
        .await;
    assert_eq!(huge.status, 413, "{}", huge.text);
    let moved = app
        .call(
            Method::PATCH,
            &format!("/v1/vaults/{vault}/env-vars/TOKEN"),
            Some(&alice.token),
            Some(json!({"environments": ["nowhere"]})),
        )
        .await;
    assert_eq!(moved.status, 404);

    let listed = app.get(&format!("/v1/vaults/{vault}/env-vars"), &alice.token).await;
    assert_eq!(keys(&listed.body), ["TOKEN"], "nothing refused was stored: {}", listed.text);
    assert_eq!(listed.body["env_vars"][0]["environments"], json!(["production"]));
    let read = app.get(&format!("/v1/vaults/{vault}/env-vars/TOKEN"), &alice.token).await;
    assert_eq!((read.body["value"].as_str(), read.body["version"].as_i64()), (Some("a"), Some(1)));
    let secrets = app.get(&format!("/v1/vaults/{vault}/secrets"), &alice.token).await;
    assert_eq!(secrets.body["secrets"], json!([]));
}

#[tokio::test]
async fn environments_are_listed_created_copied_and_deleted() {
    let app = spawn_app().await;
    let alice = app.signup("env-envs@example.com").await;
    let vault = app.create_vault(&alice.token, "v").await;
    let listed = app.get(&format!("/v1/vaults/{vault}/environments"), &alice.token).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let slugs = |body: &Value| {
        body["environments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["slug"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(slugs(&listed.body), ["production", "preview", "development"]);
    assert!(listed.body["environments"].as_array().unwrap().iter().all(|e| e["is_builtin"] == true));
    let again = app.get(&format!("/v1/vaults/{vault}/environments"), &alice.token).await;
    assert_eq!(listed.body["environments"][0]["id"], again.body["environments"][0]["id"], "built-in ids are stable");

    create_var(
        &app,
        &alice.token,
        &vault,
        json!({"key": "URL", "value": "https://prod", "environments": ["production"]}),
    )
    .await;
    let staging = app
        .post(
            &format!("/v1/vaults/{vault}/environments"),
            Some(&alice.token),
            json!({"slug": "staging", "description": "pre-prod", "copy_from": "production"}),
        )
        .await;
    assert_eq!(staging.status, 201, "{}", staging.text);
    assert_eq!(staging.body["copied_from"], "production");
    let resolved = app.get(&format!("/v1/vaults/{vault}/env-vars/resolve?environment=staging"), &alice.token).await;
    assert_eq!(resolved.body["vars"], json!({"URL": "https://prod"}), "{}", resolved.text);
    assert_eq!(
        slugs(&app.get(&format!("/v1/vaults/{vault}/environments"), &alice.token).await.body),
        ["production", "preview", "development", "staging"]
    );

    for (body, status) in [
        (json!({"slug": "staging"}), 409),
        (json!({"slug": "production"}), 409),
        (json!({"slug": "Bad_Slug"}), 400),
        (json!({"slug": "x"}), 400),
        (json!({"slug": "qa", "copy_from": "nowhere"}), 404),
    ] {
        let response = app.post(&format!("/v1/vaults/{vault}/environments"), Some(&alice.token), body.clone()).await;
        assert_eq!(response.status, status, "{body}: {}", response.text);
    }
    let in_use = app.delete(&format!("/v1/vaults/{vault}/environments/staging"), &alice.token).await;
    assert_eq!(in_use.status, 409, "{}", in_use.text);
    assert_eq!(app.delete(&format!("/v1/vaults/{vault}/environments/production"), &alice.token).await.status, 400);
    assert_eq!(app.delete(&format!("/v1/vaults/{vault}/environments/nowhere"), &alice.token).await.status, 404);
    assert_eq!(
        app.delete(&format!("/v1/vaults/{vault}/env-vars/URL?environment=staging"), &alice.token).await.status,
        204
    );
    assert_eq!(app.delete(&format!("/v1/vaults/{vault}/environments/staging"), &alice.token).await.status, 204);
    let production = app.get(&format!("/v1/vaults/{vault}/env-vars/URL"), &alice.token).await;
    assert_eq!(production.body["environments"], json!(["production"]), "{}", production.text);
}

#[tokio::test]
async fn org_shared_variables_are_for_admins_of_the_org() {
    let app = spawn_app().await;
    let alice = app.signup("env-admin@example.com").await;
    let member = app.invite_and_join(&alice.token, "env-member@example.com", "member").await;
    let mallory = app.signup("env-mallory@example.com").await;
    let theirs = app.create_vault(&mallory.token, "theirs").await;
    let created =
        app.post("/v1/org/env-vars", Some(&alice.token), json!({"key": "SHARED", "value": "s3cr3t-shared"})).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_str().unwrap();

    assert_eq!(app.get("/v1/org/env-vars", &member.token).await.status, 403);
    assert_eq!(app.post("/v1/org/env-vars", Some(&member.token), json!({"key": "X", "value": "y"})).await.status, 403);
    assert_eq!(app.delete(&format!("/v1/org/env-vars/{id}"), &member.token).await.status, 403);
    let cross = app.post(&format!("/v1/org/env-vars/{id}/link"), Some(&alice.token), json!({"vault_id": theirs})).await;
    assert_eq!(cross.status, 404, "another org's vault is not found: {}", cross.text);
    assert_eq!(
        app.get("/v1/org/env-vars", &mallory.token).await.body["env_vars"],
        json!([]),
        "orgs see only their own"
    );
    assert_eq!(app.delete(&format!("/v1/org/env-vars/{id}"), &mallory.token).await.status, 404);
    let dup = app
        .post(
            "/v1/org/env-vars",
            Some(&alice.token),
            json!({"key": "SHARED", "value": "again", "environments": ["preview"]}),
        )
        .await;
    assert_eq!(dup.status, 409, "{}", dup.text);

    assert_eq!(app.delete(&format!("/v1/org/env-vars/{id}"), &alice.token).await.status, 204);
    assert_eq!(app.get("/v1/org/env-vars", &alice.token).await.body["env_vars"], json!([]));
    let events = app.audit_events(&alice).await;
    let all = serde_json::to_string(&events.iter().map(|e| &e.details).collect::<Vec<_>>()).unwrap();
    assert!(!all.contains("s3cr3t-shared"));
}

#[tokio::test]
async fn a_variables_hidden_secret_cannot_be_shared_even_by_its_id() {
    let app = spawn_app().await;
    let alice = app.signup("env-share@example.com").await;
    let vault = app.create_vault(&alice.token, "v").await;
    let created = create_var(&app, &alice.token, &vault, json!({"key": "K", "value": "never-shared"})).await;
    let id: uuid::Uuid = created.body["id"].as_str().unwrap().parse().unwrap();
    // The id of the secret holding the value is in no answer; an attacker who guessed it anyway:
    let var = app
        .core
        .deps()
        .store
        .env_var(oneclaw_core::ids::OrgId(uuid::Uuid::nil()), oneclaw_core::ids::EnvVarId(id))
        .await
        .unwrap();
    assert!(var.is_none(), "variables are found only within their org");
    let vaults =
        app.core.deps().store.vault_by_id(oneclaw_core::ids::VaultId(vault.parse().unwrap())).await.unwrap().unwrap();
    let var = app.core.deps().store.env_var(vaults.org_id, oneclaw_core::ids::EnvVarId(id)).await.unwrap().unwrap();
    let secret = var.secret_id.unwrap();
    let shared = app
        .post(&format!("/v1/secrets/{secret}/share"), Some(&alice.token), json!({"recipient_type": "anyone_with_link"}))
        .await;
    assert!(shared.status >= 400 && !shared.text.contains("never-shared"), "{}", shared.text);
    assert!(shared.body.get("share_url").is_none());
}

/// Red-team findings (issue 16): moving a variable into an environment the caller may read
/// needed only write; a tagged agent could move another environment's variable into its own;
/// and a refusal told whether a key existed.
#[tokio::test]
async fn write_alone_never_reveals_a_value_and_refusals_reveal_no_existence() {
    let app = spawn_app().await;
    let alice = app.signup("env-move@example.com").await;
    let vault = app.create_vault(&alice.token, "v").await;
    for (key, env) in [("SECRET", "production"), ("API_KEY", "production"), ("PREV_ONLY", "preview")] {
        let body = json!({"key": key, "value": format!("{key}-value"), "environments": [env]});
        assert_eq!(create_var(&app, &alice.token, &vault, body).await.status, 201);
    }
    let agent = app.register_agent(&alice.token, "mover", json!({})).await;
    app.grant(&alice.token, &vault, ("agent", &agent.id), "env/**", &["read", "write", "delete"], json!({})).await;
    let deny = json!({"effect": "deny"});
    app.grant(&alice.token, &vault, ("agent", &agent.id), "env/production/SECRET", &["read"], deny).await;
    let token = app.agent_token(&agent).await;
    let path = |key: &str, env: &str| format!("/v1/vaults/{vault}/env-vars/{key}?environment={env}");

    let moved = app
        .call(
            Method::PATCH,
            &path("SECRET", "production"),
            Some(&token),
            Some(json!({"environments": ["production", "development"]})),
        )
        .await;
    assert_eq!(moved.status, 403, "adding an environment needs read where the variable is: {}", moved.text);
    assert_eq!(app.get(&path("SECRET", "development"), &token).await.status, 404);
    let resolved = app.get(&format!("/v1/vaults/{vault}/env-vars/resolve?environment=development"), &token).await;
    assert!(!resolved.text.contains("SECRET-value"));
    // Adding an environment takes read where the variable is, even with a new value (one rule,
    // simpler to reason about than "unless the value changes too").
    let rewritten = app
        .call(
            Method::PATCH,
            &path("SECRET", "production"),
            Some(&token),
            Some(json!({"value": "mine", "environments": ["production", "development"]})),
        )
        .await;
    assert_eq!(rewritten.status, 403, "{}", rewritten.text);

    // The same answer for a key that exists and one that does not, when the caller may not read it.
    let narrow = app.register_agent(&alice.token, "narrow", json!({})).await;
    app.grant(&alice.token, &vault, ("agent", &narrow.id), "env/development/*", &["read"], json!({})).await;
    let narrow_token = app.agent_token(&narrow).await;
    for key in ["PREV_ONLY", "NOPE_NOT_THERE"] {
        let read = app.get(&path(key, "preview"), &narrow_token).await;
        assert_eq!(read.status, 403, "{key}: {}", read.text);
        let patch =
            app.call(Method::PATCH, &path(key, "preview"), Some(&narrow_token), Some(json!({"value": "x"}))).await;
        assert_eq!(patch.status, 403, "{key}");
        assert_eq!(app.delete(&path(key, "preview"), &narrow_token).await.status, 403, "{key}");
        let unnamed = app.get(&format!("/v1/vaults/{vault}/env-vars/{key}"), &narrow_token).await;
        assert_eq!(unnamed.status, 404, "{key}: {}", unnamed.text);
    }

    // A tagged agent cannot move another environment's variable into its own.
    let tagged = app.register_agent(&alice.token, "prod-only", json!({"environment": "production"})).await;
    app.grant(&alice.token, &vault, ("agent", &tagged.id), "env/**", &["read", "write", "delete"], json!({})).await;
    let tagged_token = app.agent_token(&tagged).await;
    let moved = app
        .call(
            Method::PATCH,
            &path("PREV_ONLY", "preview"),
            Some(&tagged_token),
            Some(json!({"environments": ["preview", "production"]})),
        )
        .await;
    assert_eq!(moved.status, 403, "{}", moved.text);
    let resolved = app.get(&format!("/v1/vaults/{vault}/env-vars/resolve"), &tagged_token).await;
    assert!(!resolved.text.contains("PREV_ONLY-value"), "{}", resolved.text);
    let listed = app.get(&format!("/v1/vaults/{vault}/env-vars"), &tagged_token).await;
    assert_eq!(keys(&listed.body), ["API_KEY", "SECRET"], "a tagged agent lists its own environment only");
    let elsewhere =
        create_var(&app, &tagged_token, &vault, json!({"key": "X", "value": "y", "environments": ["preview"]})).await;
    assert_eq!(elsewhere.status, 403);
}

#[tokio::test]
async fn environments_and_variables_racing_keep_the_rules() {
    let app = spawn_app().await;
    let alice = app.signup("env-race@example.com").await;
    let vault = app.create_vault(&alice.token, "v").await;
    for round in 0..4 {
        let slug = format!("race-{round}");
        let made =
            app.post(&format!("/v1/vaults/{vault}/environments"), Some(&alice.token), json!({"slug": slug})).await;
        assert_eq!(made.status, 201, "{}", made.text);
        let key = format!("ORPHAN_{round}");
        let environment = format!("/v1/vaults/{vault}/environments/{slug}");
        let (deleted, created) = tokio::join!(
            app.delete(&environment, &alice.token),
            create_var(&app, &alice.token, &vault, json!({"key": key, "value": "x", "environments": [slug]})),
        );
        let listed = app.get(&format!("/v1/vaults/{vault}/environments"), &alice.token).await;
        let exists = listed.text.contains(&format!("\"{slug}\""));
        match (deleted.status, created.status) {
            (204, 404) => assert!(!exists),
            (409, 201) => assert!(exists),
            other => panic!(
                "round {round}: delete and create both went through or both failed: {other:?} {} {}",
                deleted.text, created.text
            ),
        }
    }
    // The custom-environment limit holds under a burst.
    for n in 0..45 {
        let made = app
            .post(&format!("/v1/vaults/{vault}/environments"), Some(&alice.token), json!({"slug": format!("e{n:02}")}))
            .await;
        assert_eq!(made.status, 201, "{}", made.text);
    }
    let existing = app.get(&format!("/v1/vaults/{vault}/environments"), &alice.token).await.body["environments"]
        .as_array()
        .unwrap()
        .len()
        - 3;
    let mut burst = tokio::task::JoinSet::new();
    for n in 0..12 {
        let request = app
            .http
            .post(format!("{}/v1/vaults/{vault}/environments", app.base_url))
            .bearer_auth(&alice.token)
            .json(&json!({"slug": format!("burst-{n}")}));
        burst.spawn(async move { request.send().await.unwrap().status().as_u16() });
    }
    let answers = burst.join_all().await;
    let made = answers.iter().filter(|status| **status == 201).count();
    assert_eq!(existing + made, 50, "exactly up to the limit: {answers:?}");
}
