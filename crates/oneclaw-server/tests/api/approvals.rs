//! Approvals (issue 18): a `require_approval` policy answers 403 `approval_required` with a
//! request a human decides; an approval lets exactly one use (or a window) of exactly that
//! request through, and every step is audited.

use oneclaw_testkit::{TestAgent, TestApp, spawn_app};
use serde_json::{Value, json};
use time::Duration;

struct Gated {
    app: TestApp,
    account: oneclaw_testkit::Account,
    owner: String,
    vault: String,
    agent: TestAgent,
    agent_token: String,
}

/// An owner, a vault with `db/password` and `db/other`, and an agent whose read of `db/*`
/// needs approval (`rule` is the `require_approval` value).
async fn gated(email: &str, rule: Value) -> Gated {
    let app = spawn_app().await;
    let account = app.signup(email).await;
    let owner = account.token.clone();
    let vault = app.create_vault(&owner, "prod").await;
    for path in ["db/password", "db/other"] {
        assert_eq!(app.put_secret(&owner, &vault, path, "s3cret-value").await.status, 201);
    }
    let agent = app.register_agent(&owner, "worker", json!({})).await;
    let granted = app
        .grant(
            &owner,
            &vault,
            ("agent", &agent.id),
            "db/*",
            &["read"],
            json!({"conditions": {"require_approval": rule}}),
        )
        .await;
    assert_eq!(granted.status, 201, "{}", granted.text);
    assert_eq!(granted.body["conditions"]["require_approval"], rule);
    let agent_token = app.agent_token(&agent).await;
    Gated { app, account, owner, vault, agent, agent_token }
}

impl Gated {
    async fn read(&self, path: &str) -> oneclaw_testkit::Response {
        self.app.get(&format!("/v1/vaults/{}/secrets/{path}", self.vault), &self.agent_token).await
    }

    /// Reads and expects 403 `approval_required`; returns the request id.
    async fn refused(&self, path: &str) -> String {
        let read = self.read(path).await;
        assert_eq!(read.status, 403, "{}", read.text);
        assert_eq!(read.body["type"], "approval_required", "{}", read.text);
        assert!(!read.text.contains("s3cret-value"));
        read.body["approval_request_id"].as_str().expect("the request id").to_owned()
    }

    async fn decide(&self, token: &str, id: &str, body: Value) -> oneclaw_testkit::Response {
        self.app.post(&format!("/v1/approvals/{id}/decide"), Some(token), body).await
    }

    /// After the clock moved past the tokens' lifetimes: fresh tokens for the owner and agent.
    async fn sign_in_again(&mut self) {
        let body = json!({"email": self.account.email, "password": self.account.password});
        let signed = self.app.post("/v1/auth/token", None, body).await;
        assert_eq!(signed.status, 200, "{}", signed.text);
        self.owner = signed.body["access_token"].as_str().unwrap().to_owned();
        self.account.token = self.owner.clone();
        self.agent_token = self.app.agent_token(&self.agent).await;
    }

    async fn actions(&self) -> Vec<String> {
        let newest_first = self.app.audit_events(&self.account).await;
        newest_first.into_iter().rev().map(|e| e.action).filter(|a| a.starts_with("approval.")).collect()
    }
}

#[tokio::test]
async fn a_one_use_approval_lets_exactly_one_read_through() {
    let g = gated("approve-once@example.com", json!(true)).await;
    let id = g.refused("db/password").await;
    // Asking again while it is pending reuses the request.
    assert_eq!(g.refused("db/password").await, id);

    let shown = g.app.get(&format!("/v1/approvals/{id}"), &g.owner).await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert_eq!(shown.body["status"], "pending");
    assert_eq!(shown.body["agent_id"], g.agent.id.as_str());
    assert_eq!(shown.body["action"], "secret.read");
    assert_eq!(shown.body["summary"]["path"], "db/password");
    let listed = g.app.get("/v1/approvals?status=pending", &g.owner).await;
    assert_eq!(listed.body["approvals"].as_array().unwrap().len(), 1, "{}", listed.text);
    // The agent polls its own request.
    let polled = g.app.get(&format!("/v1/approvals/{id}"), &g.agent_token).await;
    assert_eq!(polled.body["status"], "pending");

    let approved = g.decide(&g.owner, &id, json!({"decision": "approve", "reason": "deploy"})).await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    assert_eq!(approved.body["status"], "approved");
    let read = g.read("db/password").await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["value"], "s3cret-value");
    // Used up: the next read asks again, with a new request.
    let again = g.refused("db/password").await;
    assert_ne!(again, id);
    assert_eq!(g.app.get(&format!("/v1/approvals/{id}"), &g.owner).await.body["status"], "approved");
    // Deciding twice is a conflict.
    assert_eq!(g.decide(&g.owner, &id, json!({"decision": "reject"})).await.status, 409);
    assert_eq!(
        g.actions().await,
        ["approval.requested", "approval.approved", "approval.used", "approval.requested"].map(String::from)
    );
}

#[tokio::test]
async fn an_approval_opens_only_the_path_it_names_and_a_rejection_keeps_it_shut() {
    let g = gated("approve-path@example.com", json!(true)).await;
    let id = g.refused("db/password").await;
    assert_eq!(g.decide(&g.owner, &id, json!({"decision": "approve"})).await.status, 200);
    // Approving db/password does not open db/other.
    let other = g.refused("db/other").await;
    assert_ne!(other, id);
    let rejected = g.decide(&g.owner, &other, json!({"decision": "reject", "reason": "not today"})).await;
    assert_eq!(rejected.body["status"], "rejected", "{}", rejected.text);
    assert_eq!(rejected.body["decision_reason"], "not today");
    // Rejected stays shut (a new request is opened), and the approved path still works once.
    assert_ne!(g.refused("db/other").await, other);
    assert_eq!(g.read("db/password").await.status, 200);
    // Writes are not gated by a read policy: the agent has no write at all.
    let write =
        g.app.put(&format!("/v1/vaults/{}/secrets/db/password", g.vault), &g.agent_token, json!({"value": "x"})).await;
    assert_eq!(write.status, 403, "{}", write.text);
    assert_ne!(write.body["type"], "approval_required");
}

#[tokio::test]
async fn a_request_expires_and_then_cannot_be_approved() {
    let mut g = gated("approve-expiry@example.com", json!(true)).await;
    let id = g.refused("db/password").await;
    g.app.clock.advance(Duration::minutes(16));
    g.sign_in_again().await;
    assert_eq!(g.app.get(&format!("/v1/approvals/{id}"), &g.owner).await.body["status"], "expired");
    let late = g.decide(&g.owner, &id, json!({"decision": "approve"})).await;
    assert_eq!(late.status, 409, "{}", late.text);
    // A fresh read opens a new request.
    assert_ne!(g.refused("db/password").await, id);
    assert!(g.actions().await.contains(&"approval.expired".to_owned()));
}

#[tokio::test]
async fn only_an_approver_decides_and_never_the_agent() {
    let g = gated("approve-who@example.com", json!(true)).await;
    let id = g.refused("db/password").await;
    // The agent cannot approve its own request.
    let own = g.decide(&g.agent_token, &id, json!({"decision": "approve"})).await;
    assert_eq!(own.status, 403, "{}", own.text);
    // A plain member who is neither the owner nor a named approver sees and decides nothing.
    let member = g.app.invite_and_join(&g.owner, "member-approve@example.com", "member").await;
    assert_eq!(g.app.get(&format!("/v1/approvals/{id}"), &member.token).await.status, 404);
    assert_eq!(g.decide(&member.token, &id, json!({"decision": "approve"})).await.status, 404);
    assert_eq!(g.app.get("/v1/approvals", &member.token).await.body["approvals"], json!([]));
    // Another org's owner does not find it.
    let stranger = g.app.signup("stranger-approve@example.com").await;
    assert_eq!(g.decide(&stranger.token, &id, json!({"decision": "approve"})).await.status, 404);
    // Bad input changes nothing.
    assert_eq!(g.decide(&g.owner, &id, json!({"decision": "maybe"})).await.status, 400);
    assert_eq!(g.decide(&g.owner, &id, json!({"decision": "approve", "window_seconds": 60})).await.status, 400);
    assert_eq!(g.app.get(&format!("/v1/approvals/{id}"), &g.owner).await.body["status"], "pending");
    assert_eq!(g.read("db/password").await.status, 403);
}

#[tokio::test]
async fn a_named_approver_may_open_a_window_up_to_the_policys_limit() {
    let app_owner_email = "approve-window@example.com";
    let mut g = gated(app_owner_email, json!({"max_window_seconds": 600})).await;
    let approver = g.app.invite_and_join(&g.owner, "approver-window@example.com", "member").await;
    let approver_id = g.app.user_id(&approver.token).await;
    // The policy names the approver.
    let policies = g.app.get(&format!("/v1/vaults/{}/policies", g.vault), &g.owner).await;
    let policy = policies.body["policies"][0]["id"].as_str().unwrap().to_owned();
    let rule = json!({"max_window_seconds": 600, "approvers": [approver_id]});
    let updated = g
        .app
        .put(
            &format!("/v1/vaults/{}/policies/{policy}", g.vault),
            &g.owner,
            json!({"conditions": {"require_approval": rule}}),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    let id = g.refused("db/password").await;
    let too_long = g.decide(&approver.token, &id, json!({"decision": "approve", "window_seconds": 601})).await;
    assert_eq!(too_long.status, 400, "{}", too_long.text);
    let approved = g.decide(&approver.token, &id, json!({"decision": "approve", "window_seconds": 300})).await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    for _ in 0..3 {
        assert_eq!(g.read("db/password").await.status, 200);
    }
    g.app.clock.advance(Duration::seconds(301));
    g.sign_in_again().await;
    assert_eq!(g.read("db/password").await.status, 403, "the window closed");
}

#[tokio::test]
async fn an_agent_asks_polls_and_cancels_its_own_request() {
    let g = gated("approve-agent@example.com", json!(true)).await;
    let asked = g
        .app
        .post(
            "/v1/approvals/request",
            Some(&g.agent_token),
            json!({"action": "policy_change", "target_type": "vault", "target_id": g.vault, "summary": "grant write on db/*", "reason": "migration"}),
        )
        .await;
    assert_eq!(asked.status, 202, "{}", asked.text);
    let id = asked.body["id"].as_str().unwrap().to_owned();
    assert_eq!(asked.body["status"], "pending");
    assert_eq!(
        asked.body["summary"],
        json!({"text": "grant write on db/*"}),
        "a string summary becomes the spec's object"
    );
    // Humans do not file agent requests; bad bodies change nothing.
    let by_human = g
        .app
        .post(
            "/v1/approvals/request",
            Some(&g.owner),
            json!({"action": "a", "target_type": "t", "target_id": "i", "summary": {}}),
        )
        .await;
    assert_eq!(by_human.status, 403);
    let bad = g
        .app
        .post(
            "/v1/approvals/request",
            Some(&g.agent_token),
            json!({"action": "", "target_type": "t", "target_id": "i", "summary": {}}),
        )
        .await;
    assert_eq!(bad.status, 400);
    let cancelled = g.app.post(&format!("/v1/approvals/{id}/cancel"), Some(&g.agent_token), json!({})).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(cancelled.body["status"], "rejected");
    // Cancelling again returns the decision unchanged; approving it now is a conflict.
    let again = g.app.post(&format!("/v1/approvals/{id}/cancel"), Some(&g.agent_token), json!({})).await;
    assert_eq!(again.body["status"], "rejected");
    assert_eq!(g.decide(&g.owner, &id, json!({"decision": "approve"})).await.status, 409);
}

#[tokio::test]
async fn unknown_require_approval_keys_are_refused() {
    let app = spawn_app().await;
    let owner = app.signup("approve-bad-rule@example.com").await.token;
    let vault = app.create_vault(&owner, "v").await;
    let agent = app.register_agent(&owner, "a", json!({})).await;
    for rule in [
        json!({"approvers": ["not-a-uuid"]}),
        json!({"max_window_seconds": 90000}),
        json!({"permissions": ["admin"]}),
        json!({"whenever": true}),
        json!("yes"),
    ] {
        let made = app
            .grant(
                &owner,
                &vault,
                ("agent", &agent.id),
                "**",
                &["read"],
                json!({"conditions": {"require_approval": rule}}),
            )
            .await;
        assert_eq!(made.status, 400, "{rule}: {}", made.text);
    }
    assert_eq!(app.get(&format!("/v1/vaults/{vault}/policies"), &owner).await.body["policies"], json!([]));
}

#[tokio::test]
async fn two_reads_racing_for_one_approval_get_one_value() {
    let g = gated("approve-race@example.com", json!(true)).await;
    let id = g.refused("db/password").await;
    assert_eq!(g.decide(&g.owner, &id, json!({"decision": "approve"})).await.status, 200);
    let (first, second) = tokio::join!(g.read("db/password"), g.read("db/password"));
    let mut statuses = [first.status, second.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 403], "{} / {}", first.text, second.text);
    let used = g.actions().await.iter().filter(|a| *a == "approval.used").count();
    assert_eq!(used, 1);
}

/// With mail on, the vault's owner is mailed a one-click link: opening it decides nothing (mail
/// scanners follow links), its Approve button decides as the owner, once.
#[tokio::test]
async fn an_approver_is_mailed_a_link_that_decides_once_and_only_by_its_button() {
    use oneclaw_testkit::smtp::SmtpSink;
    let Some(sink) = SmtpSink::start() else { return };
    let smtp = sink.settings();
    let app = oneclaw_testkit::spawn_app_with(move |config| {
        config.smtp = Some(smtp);
        config.public_url = Some("https://vault.example.test".to_owned());
    })
    .await;
    let owner = app.signup("approve-mail@example.com").await;
    let vault = app.create_vault(&owner.token, "prod").await;
    assert_eq!(app.put_secret(&owner.token, &vault, "db/password", "mailed-gate").await.status, 201);
    let agent = app.register_agent(&owner.token, "mailer-bot", json!({})).await;
    let rule = json!({"conditions": {"require_approval": true}});
    assert_eq!(app.grant(&owner.token, &vault, ("agent", &agent.id), "db/*", &["read"], rule).await.status, 201);
    let agent_token = app.agent_token(&agent).await;
    let path = format!("/v1/vaults/{vault}/secrets/db/password");
    let asked = app.get(&path, &agent_token).await;
    assert_eq!(asked.status, 403, "{}", asked.text);
    let id = asked.body["approval_request_id"].as_str().unwrap().to_owned();

    let sender = oneclaw_server::mail::SmtpSender::new(app.config.smtp.as_ref().unwrap()).unwrap();
    app.core.mail().deliver_due(&sender).await.unwrap();
    let link = sink
        .wait_for(&owner.email, 1)
        .await
        .iter()
        .find_map(|mail| mail.link("/approvals/quick?token="))
        .expect("an approval mail with a link");
    assert!(link.starts_with("https://vault.example.test/approvals/quick?token=oca_"), "{link}");
    let token = link.rsplit('=').next().unwrap().to_owned();

    // 1claw's GET link and the page it leads to decide nothing.
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let spec_link = client
        .get(format!("{}/v1/approvals/quick-decide?token={token}&decision=approved", app.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(spec_link.status(), 303);
    assert_eq!(spec_link.headers()["location"], format!("/approvals/quick?token={token}").as_str());
    let page = client.get(format!("{}/approvals/quick?token={token}", app.base_url)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Approve"));
    assert_eq!(app.get(&format!("/v1/approvals/{id}"), &owner.token).await.body["status"], "pending");

    let post = |decision: &'static str| {
        let (client, url, token) = (client.clone(), format!("{}/approvals/quick", app.base_url), token.clone());
        async move { client.post(url).form(&[("token", token.as_str()), ("decision", decision)]).send().await.unwrap() }
    };
    let decided = post("approve").await;
    assert_eq!(decided.status(), 200);
    assert!(decided.text().await.unwrap().contains("Approved"));
    let shown = app.get(&format!("/v1/approvals/{id}"), &owner.token).await;
    assert_eq!(shown.body["status"], "approved");
    assert_eq!(shown.body["decided_by"], app.user_id(&owner.token).await.as_str());
    assert_eq!(app.get(&path, &agent_token).await.body["value"], "mailed-gate");
    // The link works once; a forged one decides nothing.
    assert!(post("reject").await.text().await.unwrap().contains("Not decided"));
    let forged = client
        .post(format!("{}/approvals/quick", app.base_url))
        .form(&[("token", "oca_forged"), ("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert!(forged.text().await.unwrap().contains("Not decided"));
}

/// Red team: an approval belongs to the policy that asked for it and lasts only as long as that
/// policy allows now; a negative window is refused; an agent cannot flood requests.
#[tokio::test]
async fn an_approval_dies_with_its_policy_or_its_narrowed_window_and_requests_are_capped() {
    let rule = json!({"max_window_seconds": 600});
    let g = gated("approve-redteam@example.com", rule.clone()).await;
    let id = g.refused("db/password").await;
    assert_eq!(g.decide(&g.owner, &id, json!({"decision": "approve", "window_seconds": -1})).await.status, 400);
    assert_eq!(g.decide(&g.owner, &id, json!({"decision": "approve", "window_seconds": 600})).await.status, 200);
    assert_eq!(g.read("db/password").await.status, 200);

    // Narrowed to 60 s: 120 s after the decision the 600 s window no longer counts.
    let policies = g.app.get(&format!("/v1/vaults/{}/policies", g.vault), &g.owner).await;
    let policy = policies.body["policies"][0]["id"].as_str().unwrap().to_owned();
    let narrowed = json!({"conditions": {"require_approval": {"max_window_seconds": 60}}});
    assert_eq!(g.app.put(&format!("/v1/vaults/{}/policies/{policy}", g.vault), &g.owner, narrowed).await.status, 200);
    g.app.clock.advance(Duration::seconds(120));
    assert_eq!(g.read("db/password").await.body["type"], "approval_required");

    // A fresh window, then the policy is deleted and a new one made: the new one asks again.
    let again = g.refused("db/password").await;
    assert_eq!(g.decide(&g.owner, &again, json!({"decision": "approve", "window_seconds": 60})).await.status, 200);
    assert_eq!(g.app.delete(&format!("/v1/vaults/{}/policies/{policy}", g.vault), &g.owner).await.status, 204);
    let regranted = g
        .app
        .grant(
            &g.owner,
            &g.vault,
            ("agent", &g.agent.id),
            "db/*",
            &["read"],
            json!({"conditions": {"require_approval": rule}}),
        )
        .await;
    assert_eq!(regranted.status, 201);
    let fresh_token = g.app.agent_token(&g.agent).await;
    let read = g.app.get(&format!("/v1/vaults/{}/secrets/db/password", g.vault), &fresh_token).await;
    assert_eq!(read.body["type"], "approval_required", "{}", read.text);

    // At most 20 waiting requests per requester: the 21st path is refused with 429.
    for i in 0..19 {
        let made = g
            .app
            .post(
                "/v1/approvals/request",
                Some(&fresh_token),
                json!({"action": "a", "target_type": "t", "target_id": format!("i{i}"), "summary": {}}),
            )
            .await;
        assert_eq!(made.status, 202, "{i}: {}", made.text);
    }
    let flood = g.app.get(&format!("/v1/vaults/{}/secrets/db/other", g.vault), &fresh_token).await;
    assert_eq!(flood.status, 429, "{}", flood.text);
}
