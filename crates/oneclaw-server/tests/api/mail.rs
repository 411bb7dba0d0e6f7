//! Mail through a real SMTP server (aiosmtpd, see `oneclaw_testkit::smtp`): the tests read the
//! received messages and follow their links. Verification, password reset, invitations and
//! email change; an SMTP server that is down or refusing; tokens expired, used or forged.

use oneclaw_server::mail::SmtpSender;
use oneclaw_testkit::smtp::{SmtpSink, free_port, settings_for};
use oneclaw_testkit::{TestApp, spawn_app_with};
use serde_json::json;

async fn mail_app(smtp: oneclaw_server::config::SmtpSettings) -> TestApp {
    spawn_app_with(move |config| {
        config.smtp = Some(smtp);
        config.public_url = Some("https://vault.example.test".to_owned());
    })
    .await
}

/// Sends what is due now (the server's own worker does this every two seconds too).
async fn deliver(app: &TestApp) -> oneclaw_core::services::Delivery {
    let sender = SmtpSender::new(app.config.smtp.as_ref().unwrap()).unwrap();
    app.core.mail().deliver_due(&sender).await.unwrap()
}

/// The token at the end of a mailed link.
fn token_of(link: &str) -> String {
    link.rsplit('=').next().unwrap().to_owned()
}

#[tokio::test]
async fn sign_up_mails_a_link_that_verifies_the_address() {
    let Some(sink) = SmtpSink::start() else { return };
    let app = mail_app(sink.settings()).await;
    let (email, password) = ("verify-me@example.com", "verify-me-password");
    let signed_up = app.post("/v1/auth/signup", None, json!({"email": email, "password": password})).await;
    assert_eq!(signed_up.status, 200, "{}", signed_up.text);
    assert!(signed_up.body.get("access_token").is_none(), "nobody is signed in by sign-up while mail is on");
    // Until the address is confirmed the account does not sign in (answered like a wrong
    // password). Signing up again (the first mail was lost) mails a fresh link.
    let early = app.post("/v1/auth/token", None, json!({"email": email, "password": password})).await;
    assert_eq!((early.status, early.body["detail"].as_str()), (401, Some("Invalid credentials")));
    let again = app.post("/v1/auth/signup", None, json!({"email": email, "password": "whatever-was-typed"})).await;
    assert_eq!(again.status, 200, "{}", again.text);
    deliver(&app).await;
    let mails = sink.wait_for(email, 2).await;
    let links: Vec<String> = mails.iter().filter_map(|m| m.link("/verify-email?token=")).collect();
    assert_eq!(links.len(), 2);
    for link in &links {
        assert!(link.starts_with("https://vault.example.test/verify-email?token=ocm_"), "{link}");
    }
    assert!(mails[0].html.contains(&links[0]) && mails[0].text.contains("48 hours"));

    let forged = app.post("/v1/auth/verify-email", None, json!({"token": "ocm_forged", "password": password})).await;
    assert_eq!(forged.status, 400);
    // The mailbox alone confirms nothing (red team): not without the password or the session,
    // not with a wrong password, not from another account's session.
    for link in &links {
        let anonymous = app.post("/v1/auth/verify-email", None, json!({"token": token_of(link)})).await;
        assert_eq!(anonymous.status, 401);
        let wrong = app
            .post("/v1/auth/verify-email", None, json!({"token": token_of(link), "password": "not-it-at-all"}))
            .await;
        // 401 for the live link, 400 for the one the second sign-up retired.
        assert!(matches!(wrong.status, 400 | 401), "{}", wrong.text);
    }
    let stranger = app.signup("stranger@example.com").await;
    for link in &links {
        let other = app.post("/v1/auth/verify-email", Some(&stranger.token), json!({"token": token_of(link)})).await;
        assert_eq!(other.status, 400);
    }
    // The second sign-up retired the first link; the newest confirms and signs in.
    let answers: Vec<_> = {
        let mut answers = Vec::new();
        for link in &links {
            let body = json!({"token": token_of(link), "password": password});
            answers.push(app.post("/v1/auth/verify-email", None, body).await);
        }
        answers
    };
    let verified: Vec<_> = answers.iter().filter(|a| a.status == 200).collect();
    assert_eq!(verified.len(), 1, "exactly one link works: {:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());
    let token = verified[0].body["access_token"].as_str().expect("confirming signs in").to_owned();
    assert_eq!(app.get("/v1/auth/me", &token).await.body["email_verified"], true);
    for link in &links {
        let again =
            app.post("/v1/auth/verify-email", None, json!({"token": token_of(link), "password": password})).await;
        assert_eq!(again.status, 400, "a link works once");
    }
    let now = app.post("/v1/auth/token", None, json!({"email": email, "password": password})).await;
    assert_eq!(now.status, 200, "{}", now.text);
    let user = oneclaw_testkit::Account { email: email.to_owned(), password: password.to_owned(), token };
    let events = app.audit_events(&user).await;
    assert!(events.iter().any(|e| e.action == "user.email_verified"));
    for link in &links {
        assert!(events.iter().all(|e| !e.details.to_string().contains(&token_of(link))), "no token in the audit log");
    }
}

#[tokio::test]
async fn a_forgotten_password_is_reset_by_mail_and_every_old_way_in_ends() {
    let Some(sink) = SmtpSink::start() else { return };
    let app = mail_app(sink.settings()).await;
    let user = app.signup("forgetful@example.com").await;
    let login = app.post("/v1/auth/token", None, json!({"email": user.email, "password": user.password})).await;
    let refresh = login.body["refresh_token"].as_str().unwrap().to_owned();

    let known = app.post("/v1/auth/forgot-password", None, json!({"email": "Forgetful@example.com"})).await;
    let unknown = app.post("/v1/auth/forgot-password", None, json!({"email": "nobody@example.com"})).await;
    assert_eq!((known.status, &known.text), (unknown.status, &unknown.text), "the same answer either way");
    assert_eq!(known.status, 200);
    deliver(&app).await;
    let mails = sink.wait_for("forgetful@example.com", 2).await;
    assert!(sink.to("nobody@example.com").is_empty());
    let reset = mails.iter().find_map(|m| m.link("/reset-password?token=")).expect("a reset link");

    let weak =
        app.post("/v1/auth/reset-password", None, json!({"token": token_of(&reset), "new_password": "short"})).await;
    assert_eq!(weak.status, 400, "the sign-up rules apply");
    let done = app
        .post(
            "/v1/auth/reset-password",
            None,
            json!({"token": token_of(&reset), "new_password": "a whole new password"}),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(app.get("/v1/auth/me", &user.token).await.status, 401, "old tokens end");
    let renewed = app.post("/v1/auth/refresh", None, json!({"refresh_token": refresh})).await;
    assert_eq!(renewed.status, 401, "old sessions end");
    let old = app.post("/v1/auth/token", None, json!({"email": user.email, "password": user.password})).await;
    assert_eq!(old.status, 401);
    let new = app.post("/v1/auth/token", None, json!({"email": user.email, "password": "a whole new password"})).await;
    assert_eq!(new.status, 200, "{}", new.text);
    let reused = app
        .post(
            "/v1/auth/reset-password",
            None,
            json!({"token": token_of(&reset), "new_password": "another new password"}),
        )
        .await;
    assert_eq!(reused.status, 400, "a reset link works once");

    // An hour later a fresh link has expired, and changes nothing.
    app.post("/v1/auth/forgot-password", None, json!({"email": user.email})).await;
    deliver(&app).await;
    let late = sink.wait_for("forgetful@example.com", 3).await;
    let late = late.iter().filter_map(|m| m.link("/reset-password?token=")).find(|l| *l != reset).unwrap();
    app.clock.advance(time::Duration::minutes(61));
    let expired = app
        .post("/v1/auth/reset-password", None, json!({"token": token_of(&late), "new_password": "too late now!"}))
        .await;
    assert_eq!(expired.status, 400);
    let still =
        app.post("/v1/auth/token", None, json!({"email": user.email, "password": "a whole new password"})).await;
    assert_eq!(still.status, 200);
}

#[tokio::test]
async fn an_invitation_arrives_and_its_link_joins_the_org() {
    let Some(sink) = SmtpSink::start() else { return };
    let app = mail_app(sink.settings()).await;
    let owner = app.signup("inviter@example.com").await;
    // 1claw's route: the invitation goes by mail, and the answer is its schema, no token.
    let invited =
        app.post("/v1/org/invite", Some(&owner.token), json!({"email": "newcomer@example.com", "role": "admin"})).await;
    assert_eq!(invited.status, 200, "{}", invited.text);
    let mut fields: Vec<&String> = invited.body.as_object().unwrap().keys().collect();
    fields.sort();
    assert_eq!(fields, ["email", "message"], "1claw's InviteMemberResponse and nothing else: {}", invited.text);
    deliver(&app).await;
    let mail = &sink.wait_for("newcomer@example.com", 1).await[0];
    let link = mail.link("/signup?invite=").expect("an invitation link");
    assert!(mail.text.contains("inviter@example.com") && mail.text.contains("as admin"), "{}", mail.text);
    let joined = app.signup_invited("newcomer@example.com", &token_of(&link)).await;
    assert_eq!(app.get("/v1/auth/me", &joined.token).await.body["role"], "admin");
    let members = app.get("/v1/org/members", &owner.token).await;
    assert!(members.text.contains("newcomer@example.com"));
}

#[tokio::test]
async fn a_new_address_counts_once_its_code_comes_back_and_the_old_one_is_told() {
    let Some(sink) = SmtpSink::start() else { return };
    let app = mail_app(sink.settings()).await;
    let user = app.signup("old-address@example.com").await;
    let taken = app.signup("taken@example.com").await;
    // A taken address is answered like any other (the answer tells nobody who has an
    // account), and nothing is mailed to it.
    let conflict = app.post("/v1/auth/change-email", Some(&user.token), json!({"new_email": taken.email})).await;
    assert_eq!(conflict.status, 200, "{}", conflict.text);
    let asked =
        app.post("/v1/auth/change-email", Some(&user.token), json!({"new_email": "New-Address@example.com"})).await;
    assert_eq!(asked.status, 200, "{}", asked.text);
    assert_eq!(asked.body["expires_in_seconds"], 600);
    deliver(&app).await;
    let mail = &sink.wait_for("new-address@example.com", 1).await[0];
    let code: String = mail.text.chars().filter(char::is_ascii_digit).take(6).collect();
    assert_eq!(code.len(), 6, "{}", mail.text);
    let wrong = app.post("/v1/auth/verify-email-change", Some(&user.token), json!({"code": "000000x"})).await;
    assert_eq!(wrong.status, 400);
    assert_eq!(app.get("/v1/auth/me", &user.token).await.body["email"], "old-address@example.com", "not yet");
    let done = app.post("/v1/auth/verify-email-change", Some(&user.token), json!({"code": code})).await;
    assert_eq!(done.status, 200, "{}", done.text);
    let me = app.get("/v1/auth/me", &user.token).await;
    assert_eq!(
        (me.body["email"].as_str(), me.body["email_verified"].as_bool()),
        (Some("new-address@example.com"), Some(true))
    );
    let login =
        app.post("/v1/auth/token", None, json!({"email": "new-address@example.com", "password": user.password})).await;
    assert_eq!(login.status, 200);
    deliver(&app).await;
    let notice = sink.wait_for("old-address@example.com", 2).await;
    assert!(notice.iter().any(|m| m.text.contains("changed to new-address@example.com")));
    assert!(
        sink.to("taken@example.com").iter().all(|m| !m.subject.contains("new email")),
        "no code to a taken address"
    );
}

#[tokio::test]
async fn an_smtp_server_that_is_down_loses_nothing_and_sends_once_it_is_back() {
    let port = free_port();
    let app = mail_app(settings_for(port)).await;
    let user = app.signup("patient@example.com").await;
    assert!(!user.token.is_empty(), "sign-up answers while SMTP is down");
    let first = deliver(&app).await;
    assert_eq!((first.sent, first.retrying), (0, 1), "{first:?}");
    let Some(sink) = SmtpSink::start_on(port, "accept") else { return };
    assert_eq!(deliver(&app).await.sent, 0, "waits out its backoff");
    app.clock.advance(time::Duration::seconds(10));
    assert_eq!(deliver(&app).await.sent, 1);
    let received = sink.wait_for("patient@example.com", 1).await;
    app.clock.advance(time::Duration::minutes(10));
    assert_eq!(deliver(&app).await, oneclaw_core::services::Delivery::default(), "nothing sent twice");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(sink.to("patient@example.com").len(), 1);
    let status = app.core.mail().status(10).await.unwrap();
    assert!(status[0].sent_at.is_some() && status[0].sealed.is_empty(), "sent, and its sealed links dropped");
    assert!(received[0].message_id.contains(&status[0].id.to_string()), "the outbox id is the Message-ID");
}

#[tokio::test]
async fn an_smtp_server_that_refuses_is_retried_then_the_mail_is_marked_failed() {
    let port = free_port();
    let Some(_sink) = SmtpSink::start_on(port, "refuse") else { return };
    let app = mail_app(settings_for(port)).await;
    app.signup("refused@example.com").await;
    let mut reports = Vec::new();
    for _ in 0..3 {
        reports.push(deliver(&app).await);
        app.clock.advance(time::Duration::minutes(6));
    }
    assert_eq!((reports[0].retrying, reports[1].retrying, reports[2].failed), (1, 1, 1), "{reports:?}");
    let status = app.core.mail().status(10).await.unwrap();
    assert!(status[0].failed_at.is_some(), "{:?}", status[0]);
    assert!(status[0].last_error.as_deref().unwrap_or_default().contains("550"), "{:?}", status[0].last_error);
    assert_eq!(deliver(&app).await, oneclaw_core::services::Delivery::default(), "a failed mail is not retried");
}

#[tokio::test]
async fn a_reset_takes_the_account_back_from_whoever_signed_up_with_the_address_first() {
    let Some(sink) = SmtpSink::start() else { return };
    let app = mail_app(sink.settings()).await;
    // Eve signs up with the victim's address and leaves herself an API key (red team).
    let eve = app.signup("victim@corp.example").await;
    let key = app.post("/v1/auth/api-keys", Some(&eve.token), json!({"name": "backdoor"})).await;
    let key = key.body["api_key"].as_str().unwrap().to_owned();
    deliver(&app).await;
    let verify = sink.wait_for("victim@corp.example", 1).await[0].link("/verify-email?token=").unwrap();

    // The owner of the mailbox recovers the account.
    app.post("/v1/auth/forgot-password", None, json!({"email": "victim@corp.example"})).await;
    deliver(&app).await;
    let reset =
        sink.wait_for("victim@corp.example", 2).await.iter().find_map(|m| m.link("/reset-password?token=")).unwrap();
    let done = app
        .post(
            "/v1/auth/reset-password",
            None,
            json!({"token": token_of(&reset), "new_password": "the owner's password"}),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    let exchanged = app.post("/v1/auth/api-key-token", None, json!({"api_key": key})).await;
    assert_eq!(exchanged.status, 401, "the squatter's key ends with the reset: {}", exchanged.text);
    let login = app
        .post("/v1/auth/token", None, json!({"email": "victim@corp.example", "password": "the owner's password"}))
        .await;
    let owner = login.body["access_token"].as_str().unwrap().to_owned();
    let stale = app.post("/v1/auth/verify-email", Some(&owner), json!({"token": token_of(&verify)})).await;
    assert_eq!(stale.status, 400, "links mailed before the reset are dead");
}
