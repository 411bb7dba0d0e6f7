//! The agent page's Bindings (issue 20) as a browser without JavaScript: an HTTP binding made
//! from a vault path, tested against a real receiver, its executions listed, and deleted; the
//! credential is never on the page.

use crate::dashboard::{Browser, csrf_of};
use oneclaw_testkit::spawn_app_with;
use serde_json::json;

#[tokio::test]
async fn an_agent_page_makes_tests_lists_and_deletes_bindings() {
    let credential = "sk_dashboard_binding_0123456789";
    let (seen, base) = crate::echo::authorization_echo().await;

    let app = spawn_app_with(|config| config.execute_allow_private = true).await;
    let owner = app.signup("dash-intents@example.com").await;
    let vault = app.create_vault(&owner.token, "apis").await;
    assert_eq!(app.put_secret(&owner.token, &vault, "stripe/key", credential).await.status, 201);
    let agent = app.register_agent(&owner.token, "payer", json!({})).await;
    let grant = app.grant(&owner.token, &vault, ("agent", &agent.id), "bindings/*", &["execute"], json!({})).await;
    assert_eq!(grant.status, 201);
    let mut browser = Browser::new(&app);
    browser.sign_in(&owner.email, &owner.password).await;
    let page_path = format!("/agents/{}", agent.id);

    let empty = browser.get(&page_path).await;
    assert_eq!(empty.status, 200);
    assert!(empty.html.contains("No bindings yet.") && empty.html.contains("Add an HTTP binding"), "{}", empty.html);
    let csrf = csrf_of(&empty.html);
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "stripe"),
        ("base_url", base.as_str()),
        ("vault", vault.as_str()),
        ("path", "stripe/key"),
        ("methods", "GET"),
        ("paths", "/api/"),
    ];
    // The dashboard's binding is https-only by default: this local receiver is refused ...
    let refused = browser.post(&format!("{page_path}/bindings"), &form, false).await;
    assert_eq!(refused.status, 200);
    assert!(refused.html.contains("allowed_schemes"), "{}", refused.html);
    // ... so the test receiver's binding is made over the API, with http and the private host.
    let body = json!({
        "name": "stripe", "binding_type": "http", "config": {"base_url": base},
        "guardrails": {"allowed_schemes": ["http"], "allow_private_hosts": ["127.0.0.1"]},
        "credential_source": {"type": "vault_ref", "vault_id": vault, "path": "stripe/key"},
    });
    let made = app.post(&format!("/v1/agents/{}/bindings", agent.id), Some(&owner.token), body).await;
    assert_eq!(made.status, 201, "{}", made.text);
    let id = made.body["id"].as_str().unwrap().to_owned();
    let agent_token = app.agent_token(&agent).await;
    let execute = json!({"binding": "stripe", "intent_type": "http_request", "params": {"path": "/x"}});
    assert_eq!(app.post(&format!("/v1/agents/{}/execute", agent.id), Some(&agent_token), execute).await.status, 200);

    let listed = browser.get(&page_path).await;
    assert!(listed.html.contains("stripe/key") && listed.html.contains(&base), "{}", listed.html);
    assert!(
        listed.html.contains("Recent executions") && listed.html.contains("GET 127.0.0.1/api/x"),
        "{}",
        listed.html
    );
    assert!(!listed.html.contains(credential), "the credential is never on the page");
    let tested = browser.post(&format!("{page_path}/bindings/{id}/test"), &[("csrf", csrf.as_str())], false).await;
    assert!(tested.html.contains("The service answered in"), "{}", tested.html);
    let deleted = browser.post(&format!("{page_path}/bindings/{id}/delete"), &[("csrf", csrf.as_str())], false).await;
    assert_eq!(deleted.status, 303);
    assert_eq!(deleted.location.as_deref(), Some(format!("{page_path}?done=binding-deleted").as_str()));
    let after = app.get(&format!("/v1/agents/{}/bindings", agent.id), &owner.token).await;
    assert_eq!(after.body["bindings"], json!([]));
    // The execute carried the credential; the connectivity test reached the service without it.
    assert_eq!(seen.lock().unwrap().as_slice(), [format!("Bearer {credential}"), String::new()]);
}
