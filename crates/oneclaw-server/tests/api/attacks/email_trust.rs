//! Item 5: unverified emails were trusted. An `external_email` share opened for whoever signed
//! up with the address first, and a provider sign-in merged into a never-verified account.

use super::{in_minutes, secret_id};
use oneclaw_core::principal::{RequestMeta, Surface};
use oneclaw_testkit::spawn_app;
use serde_json::json;

#[tokio::test]
async fn an_external_email_share_does_not_open_for_someone_who_merely_signed_up_with_the_address() {
    let app = spawn_app().await;
    let owner = app.signup("sharer@example.com").await;
    let vault = app.create_vault(&owner.token, "v").await;
    let secret = secret_id(&app, &owner.token, &vault, "partner/key", "for-the-partner-only").await;
    let created = app
        .post(
            &format!("/v1/secrets/{secret}/share"),
            Some(&owner.token),
            json!({"recipient_type": "external_email", "email": "partner@example.org", "expires_at": in_minutes(&app, 60)}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let share = created.body["id"].as_str().unwrap().to_owned();

    // The attacker gets there first with the partner's address (never verified).
    let squatter = app.signup("partner@example.org").await;
    let opened = app.get(&format!("/v1/share/{share}"), &squatter.token).await;
    assert_eq!(opened.status, 404, "{}", opened.text);
    assert!(!opened.text.contains("for-the-partner-only"));
    let inbound = app.get("/v1/shares/inbound", &squatter.token).await;
    assert!(!inbound.text.contains(&share), "not even listed: {}", inbound.text);
}

#[tokio::test]
async fn a_provider_sign_in_does_not_merge_into_an_unverified_password_account() {
    let app = spawn_app().await;
    // The attacker pre-registers the victim's address with a password of their own.
    let planted = app.signup("victim@example.com").await;
    let meta = RequestMeta::internal(Surface::Api);
    let merged = app.core.auth().sign_in_federated(&meta, "victim@example.com", "google").await;
    assert!(
        matches!(merged, Err(oneclaw_core::Error::Conflict(_))),
        "the victim's Google sign-in must not land in the attacker's account: {merged:?}"
    );
    // The attacker's password still opens only the attacker's own account, as before.
    assert_eq!(app.get("/v1/auth/me", &planted.token).await.status, 200);
}
