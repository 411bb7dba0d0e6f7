//! Item 13, "accounts can be enumerated through sign-up": sign-up answered 409 for an address
//! that has an account and 200 with a token for a new one, so anyone could test addresses.
//! With mail on, both now get the same answer ("check your mail"), the new account its
//! confirmation link and the owner of the taken address a notice; nobody is signed in by it.

use oneclaw_server::mail::SmtpSender;
use oneclaw_testkit::smtp::SmtpSink;
use oneclaw_testkit::spawn_app_with;
use serde_json::json;

#[tokio::test]
async fn sign_up_answers_a_taken_address_like_a_new_one_and_tells_its_owner() {
    let Some(sink) = SmtpSink::start() else { return };
    let smtp = sink.settings();
    let app = spawn_app_with(move |config| {
        config.smtp = Some(smtp);
        config.public_url = Some("https://vault.example.test".to_owned());
    })
    .await;
    let victim = app.signup("ceo@victim.example").await;

    let probe = |email: &'static str| {
        let app = &app;
        async move { app.post("/v1/auth/signup", None, json!({"email": email, "password": "attacker-password-1"})).await }
    };
    let taken = probe("ceo@victim.example").await;
    let fresh = probe("nobody@victim.example").await;
    assert_eq!((taken.status, fresh.status), (200, 200), "{} / {}", taken.text, fresh.text);
    // The same body but for the address it names: nothing tells the two apart.
    let shape = |body: &serde_json::Value| {
        let mut body = body.clone();
        body["email"] = json!("<address>");
        body
    };
    assert_eq!(shape(&taken.body), shape(&fresh.body));
    assert!(taken.body.get("access_token").is_none() && fresh.body.get("access_token").is_none());

    // The attacker's password opened nothing on the victim's account; the victim's still works.
    let hijack = app
        .post("/v1/auth/token", None, json!({"email": "ceo@victim.example", "password": "attacker-password-1"}))
        .await;
    assert_eq!(hijack.status, 401);
    let own = app.post("/v1/auth/token", None, json!({"email": victim.email, "password": victim.password})).await;
    assert_eq!(own.status, 200);

    // The owner is told; the new address gets its confirmation link and can sign in.
    let sender = SmtpSender::new(app.config.smtp.as_ref().unwrap()).unwrap();
    app.core.mail().deliver_due(&sender).await.unwrap();
    let notices = sink.wait_for("ceo@victim.example", 2).await;
    assert!(notices.iter().any(|m| m.text.contains("already has one")), "the owner hears of it");
    let confirm = &sink.wait_for("nobody@victim.example", 1).await[0];
    assert!(confirm.link("/verify-email?token=").is_some());
    let newcomer = app
        .post("/v1/auth/token", None, json!({"email": "nobody@victim.example", "password": "attacker-password-1"}))
        .await;
    assert_eq!(newcomer.status, 200, "{}", newcomer.text);

    // The dashboard's sign-up answers alike too.
    for email in ["ceo@victim.example", "other@victim.example"] {
        let page = app
            .http
            .post(format!("{}/signup", app.base_url))
            .form(&[("email", email), ("password", "attacker-password-1")])
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let text = page.text().await.unwrap();
        assert!(text.contains("Check your mail"), "{text}");
    }
}
