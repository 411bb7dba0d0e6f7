//! Item 13, "accounts can be enumerated through sign-up": sign-up answered 409 for an address
//! that has an account and 200 with a token for a new one, so anyone could test addresses.
//! With mail on, every way of asking now answers a taken address like a new one: sign-up (with
//! or without an invitation), signing in right after it (a new account signs in only once its
//! address is confirmed, with the mailed link and its password), and moving an account to the
//! address. The red team's second pass found the last three; the fourth finding, a squatter who
//! signed up with someone else's address, now can do nothing with the account.

use oneclaw_server::mail::SmtpSender;
use oneclaw_testkit::smtp::SmtpSink;
use oneclaw_testkit::{TestApp, spawn_app_with};
use serde_json::{Value, json};

async fn mail_app(sink: &SmtpSink) -> TestApp {
    let smtp = sink.settings();
    spawn_app_with(move |config| {
        config.smtp = Some(smtp);
        config.public_url = Some("https://vault.example.test".to_owned());
    })
    .await
}

/// An answer with what differs between any two requests (its id, the address it names) blanked.
fn shape(response: &oneclaw_testkit::Response) -> (u16, Value) {
    let mut body = response.body.clone();
    if let Some(body) = body.as_object_mut() {
        body.remove("request_id");
        for field in ["email", "new_email"] {
            if body.contains_key(field) {
                body.insert(field.to_owned(), json!("<address>"));
            }
        }
    }
    (response.status, body)
}

#[tokio::test]
async fn sign_up_answers_a_taken_address_like_a_new_one_and_tells_its_owner() {
    let Some(sink) = SmtpSink::start() else { return };
    let app = mail_app(&sink).await;
    let victim = app.signup("ceo@victim.example").await;

    let probe = |email: &'static str| {
        let app = &app;
        async move { app.post("/v1/auth/signup", None, json!({"email": email, "password": "attacker-password-1"})).await }
    };
    let taken = probe("ceo@victim.example").await;
    let fresh = probe("nobody@victim.example").await;
    assert_eq!(taken.status, 200, "{}", taken.text);
    assert_eq!(shape(&taken), shape(&fresh), "nothing tells the two apart");
    assert!(taken.body.get("access_token").is_none() && fresh.body.get("access_token").is_none());

    // Signing in with the password just chosen does not tell them apart either (red team B1):
    // the new account waits for its address to be confirmed.
    let on_taken = app
        .post("/v1/auth/token", None, json!({"email": "ceo@victim.example", "password": "attacker-password-1"}))
        .await;
    let on_fresh = app
        .post("/v1/auth/token", None, json!({"email": "nobody@victim.example", "password": "attacker-password-1"}))
        .await;
    assert_eq!(on_taken.status, 401);
    assert_eq!(shape(&on_taken), shape(&on_fresh));
    let own = app.post("/v1/auth/token", None, json!({"email": victim.email, "password": victim.password})).await;
    assert_eq!(own.status, 200, "the owner's own password still works");

    // The owner is told; the new address gets its confirmation link.
    let sender = SmtpSender::new(app.config.smtp.as_ref().unwrap()).unwrap();
    app.core.mail().deliver_due(&sender).await.unwrap();
    let notices = sink.wait_for("ceo@victim.example", 2).await;
    assert!(notices.iter().any(|m| m.text.contains("already has one")), "the owner hears of it");
    assert!(sink.wait_for("nobody@victim.example", 1).await[0].link("/verify-email?token=").is_some());

    // The dashboard's sign-up answers alike too.
    let mut pages = Vec::new();
    for email in ["ceo@victim.example", "other@victim.example"] {
        let page = app
            .http
            .post(format!("{}/signup", app.base_url))
            .form(&[("email", email), ("password", "attacker-password-1")])
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        pages.push(page.text().await.unwrap().replace(email, "<address>"));
    }
    assert!(pages[0].contains("Check your mail"), "{}", pages[0]);
    assert_eq!(pages[0], pages[1]);
}

/// Red team B2: an attacker invites the address into their own org and signs up with the
/// token they were shown: a taken address answered 409, a new one signed in.
#[tokio::test]
async fn an_invitation_the_attacker_made_tells_nothing_either() {
    let Some(sink) = SmtpSink::start() else { return };
    let app = mail_app(&sink).await;
    app.signup("cfo@victim.example").await;
    let attacker = app.signup("attacker@evil.example").await;
    let mut answers = Vec::new();
    for email in ["cfo@victim.example", "intern@victim.example"] {
        let token = app.invite(&attacker.token, email, "member").await;
        let body = json!({"email": email, "password": "attacker-password-1", "invite_token": token});
        answers.push(app.post("/v1/auth/signup", None, body).await);
    }
    assert_eq!(answers[0].status, 200, "{}", answers[0].text);
    assert_eq!(shape(&answers[0]), shape(&answers[1]));
    assert!(answers[1].body.get("access_token").is_none(), "an invited sign-up confirms its address first");
    // The invited newcomer joined the org, and signs in once the mailed link and password say so.
    let sender = SmtpSender::new(app.config.smtp.as_ref().unwrap()).unwrap();
    app.core.mail().deliver_due(&sender).await.unwrap();
    let confirm = sink.wait_for("intern@victim.example", 2).await;
    let link = confirm.iter().find_map(|m| m.link("/verify-email?token=")).expect("a confirmation link");
    let token = link.rsplit('=').next().unwrap();
    let joined =
        app.post("/v1/auth/verify-email", None, json!({"token": token, "password": "attacker-password-1"})).await;
    assert_eq!(joined.status, 200, "{}", joined.text);
    let members = app.get("/v1/org/members", &attacker.token).await;
    assert!(members.text.contains("intern@victim.example") && !members.text.contains("cfo@victim.example"));
}

/// Red team B3 and B4: moving an account to an address answered 409 when it was taken, and
/// the per-account limit let five throwaway accounts mail one address fifty codes.
#[tokio::test]
async fn moving_to_an_address_tells_nothing_and_cannot_mail_bomb_it() {
    let Some(sink) = SmtpSink::start() else { return };
    let app = mail_app(&sink).await;
    app.signup("taken@victim.example").await;
    let prober = app.signup("prober@evil.example").await;
    let taken =
        app.post("/v1/auth/change-email", Some(&prober.token), json!({"new_email": "taken@victim.example"})).await;
    let free =
        app.post("/v1/auth/change-email", Some(&prober.token), json!({"new_email": "free@victim.example"})).await;
    assert_eq!(taken.status, 200, "{}", taken.text);
    assert_eq!(shape(&taken), shape(&free));

    let mut sent_by = Vec::new();
    for n in 0..3 {
        let bomber = app.signup(&format!("bomber{n}@evil.example")).await;
        for _ in 0..5 {
            let asked = app
                .post("/v1/auth/change-email", Some(&bomber.token), json!({"new_email": "bomb@target.example"}))
                .await;
            assert_eq!(asked.status, 200, "{}", asked.text);
        }
        sent_by.push(bomber);
    }
    let sender = SmtpSender::new(app.config.smtp.as_ref().unwrap()).unwrap();
    app.core.mail().deliver_due(&sender).await.unwrap();
    let bombs = sink.wait_for("bomb@target.example", 10).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(sink.to("bomb@target.example").len(), 10, "ten codes an address per 15 minutes, from any accounts");
    assert!(bombs.iter().all(|m| m.subject.contains("new email")));
    assert!(sink.to("taken@victim.example").iter().all(|m| !m.subject.contains("new email")));
}

/// Red team B5: whoever signed up first with someone else's address invited accomplices as
/// owners and registered agents, and kept them after the real owner reset the password. With
/// mail on, that account cannot sign in before the address is confirmed, so it does nothing.
#[tokio::test]
async fn a_squatter_cannot_use_an_account_made_with_someone_elses_address() {
    let Some(sink) = SmtpSink::start() else { return };
    let app = mail_app(&sink).await;
    let signed_up =
        app.post("/v1/auth/signup", None, json!({"email": "ceo@corp.example", "password": "squatter-pass-1"})).await;
    assert_eq!(signed_up.status, 200);
    for _ in 0..3 {
        let attempt =
            app.post("/v1/auth/token", None, json!({"email": "ceo@corp.example", "password": "squatter-pass-1"})).await;
        assert_eq!(attempt.status, 401, "{}", attempt.text);
    }
    // No session, so no API key, invitation, agent or TOTP enrolment: nothing to keep. The
    // owner of the mailbox takes the address with a password reset, and signs in.
    let forgot = app.post("/v1/auth/forgot-password", None, json!({"email": "ceo@corp.example"})).await;
    assert_eq!(forgot.status, 200, "{}", forgot.text);
    let sender = SmtpSender::new(app.config.smtp.as_ref().unwrap()).unwrap();
    app.core.mail().deliver_due(&sender).await.unwrap();
    let mails = sink.wait_for("ceo@corp.example", 2).await;
    let link = mails.iter().find_map(|m| m.link("/reset-password?token=")).expect("a reset link");
    let reset = app
        .post(
            "/v1/auth/reset-password",
            None,
            json!({"token": link.rsplit('=').next().unwrap(), "new_password": "the-real-owner-1"}),
        )
        .await;
    assert_eq!(reset.status, 200, "{}", reset.text);
    let owner =
        app.post("/v1/auth/token", None, json!({"email": "ceo@corp.example", "password": "the-real-owner-1"})).await;
    assert_eq!(owner.status, 200, "{}", owner.text);
    let squatter =
        app.post("/v1/auth/token", None, json!({"email": "ceo@corp.example", "password": "squatter-pass-1"})).await;
    assert_eq!(squatter.status, 401);
}
