//! The dashboard over HTTP, as a browser without JavaScript (and with htmx's header where a
//! page uses it): sign-in and cookies, a vault, a secret added and revealed on request (and
//! audited as a dashboard read), CSRF refusals, org isolation, sign-out ending the session,
//! and an expired access cookie renewed from the refresh cookie.

use oneclaw_testkit::{TestApp, spawn_app};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use std::collections::BTreeMap;

/// A browser's cookie jar and a client that does not follow redirects.
pub(crate) struct Browser<'a> {
    app: &'a TestApp,
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

pub(crate) struct Page {
    pub(crate) status: u16,
    pub(crate) location: Option<String>,
    pub(crate) set_cookies: Vec<String>,
    pub(crate) html: String,
}

impl<'a> Browser<'a> {
    pub(crate) fn new(app: &'a TestApp) -> Self {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { app, http, cookies: BTreeMap::new() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let response = request.header(COOKIE, self.cookie_header()).send().await.unwrap();
        let status = response.status().as_u16();
        let location = response.headers().get(LOCATION).map(|v| v.to_str().unwrap().to_owned());
        let set_cookies: Vec<String> =
            response.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        for cookie in &set_cookies {
            let pair = cookie.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        Page { status, location, set_cookies, html: response.text().await.unwrap() }
    }

    pub(crate) async fn get(&mut self, path: &str) -> Page {
        let request = self.http.get(format!("{}{path}", self.app.base_url));
        self.send(request).await
    }

    pub(crate) async fn post(&mut self, path: &str, form: &[(&str, &str)], htmx: bool) -> Page {
        let mut request = self.http.post(format!("{}{path}", self.app.base_url)).form(form);
        if htmx {
            request = request.header("HX-Request", "true");
        }
        self.send(request).await
    }

    pub(crate) async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        self.post("/signin", &[("email", email), ("password", password)], false).await
    }
}

pub(crate) fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + 19;
    html[at..at + 32].to_owned()
}

#[tokio::test]
async fn sign_in_add_and_reveal_a_secret_and_sign_out() {
    let app = spawn_app().await;
    let owner = app.signup("dash@example.com").await;
    let mut browser = Browser::new(&app);

    let away = browser.get("/dashboard").await;
    assert_eq!((away.status, away.location.as_deref()), (303, Some("/signin")));
    let wrong = browser.sign_in(&owner.email, "not the password").await;
    assert_eq!(wrong.status, 200);
    assert!(wrong.html.contains("role=\"alert\"") && wrong.html.contains("Invalid credentials"), "{}", wrong.html);

    let signed_in = browser.sign_in(&owner.email, &owner.password).await;
    assert_eq!((signed_in.status, signed_in.location.as_deref()), (303, Some("/dashboard")));
    for cookie in &signed_in.set_cookies {
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    }
    let home = browser.get("/dashboard").await;
    assert_eq!(home.status, 200);
    assert!(
        home.html.contains("Getting started") && home.html.contains("Create a vault"),
        "an empty org is shown the way"
    );
    assert!(home.html.contains("Recent activity") && home.html.contains("dash@example.com"));

    let vaults = browser.get("/vaults").await;
    let csrf = csrf_of(&vaults.html);
    let created = browser
        .post("/vaults", &[("csrf", &csrf), ("name", "web"), ("description", "made in the browser")], false)
        .await;
    assert_eq!(created.status, 303);
    let vault_page_path = created.location.unwrap();
    let added = browser
        .post(
            &format!("{vault_page_path}/secrets"),
            &[("csrf", &csrf), ("path", "db/password"), ("type", "password"), ("value", "s3cret-in-browser")],
            false,
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.html);
    assert_eq!(added.location.as_deref(), Some(format!("{vault_page_path}?folder=db/").as_str()), "back to its folder");
    // The path tree: the root holds the folder, the folder holds the secret.
    let root = browser.get(&vault_page_path).await;
    assert!(root.html.contains(&format!("href=\"{vault_page_path}?folder=db/\"><b>db/</b>")), "{}", root.html);
    assert!(root.html.contains("1 secret") && !root.html.contains("Reveal the value of db/password"));
    let vault_page = browser.get(&format!("{vault_page_path}?folder=db/")).await;
    assert!(vault_page.html.contains("<td><b>password</b></td>"), "{}", vault_page.html);
    assert!(vault_page.html.contains("Reveal the value of db/password") && vault_page.html.contains("aria-current"));
    assert!(!vault_page.html.contains("s3cret-in-browser"), "a value is never in the page until asked for");
    let not_a_folder = browser.get(&format!("{vault_page_path}?folder=../")).await;
    assert!(not_a_folder.html.contains("That is not a folder of this vault."), "{}", not_a_folder.html);

    let shown =
        browser.post(&format!("{vault_page_path}/reveal"), &[("csrf", &csrf), ("path", "db/password")], true).await;
    assert_eq!(shown.status, 200);
    assert!(shown.html.contains("s3cret-in-browser") && shown.html.contains("load delay:30s"), "{}", shown.html);
    let events = app.audit_events(&owner).await;
    assert!(
        events.iter().any(|e| e.action == "secret.read" && e.surface == "dashboard"),
        "the reveal is an audited read"
    );

    let bad = browser
        .post(&format!("{vault_page_path}/secrets"), &[("csrf", &csrf), ("path", "../x"), ("value", "v")], false)
        .await;
    assert_eq!(bad.status, 200);
    assert!(bad.html.contains("role=\"alert\""), "the error is shown next to the form");

    // Tables name who acted, not just "user".
    let who = format!("user {}", owner.email);
    assert!(browser.get("/audit").await.html.contains(&who), "the Audit Log names the actor");
    assert!(browser.get("/vaults").await.html.contains(&who), "the vault list names its creator");

    let out = browser.post("/signout", &[("csrf", &csrf)], false).await;
    assert_eq!((out.status, out.location.as_deref()), (303, Some("/signin")));
    assert_eq!(browser.get("/dashboard").await.status, 303, "signed out");
}

#[tokio::test]
async fn forms_without_the_csrf_token_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let owner = app.signup("csrf@example.com").await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&owner.email, &owner.password).await;
    for form in [vec![("name", "sneaky")], vec![("name", "sneaky"), ("csrf", "0123456789abcdef0123456789abcdef")]] {
        let refused = browser.post("/vaults", &form, false).await;
        assert_eq!(refused.status, 403, "{}", refused.html);
    }
    assert_eq!(app.get("/v1/vaults", &owner.token).await.body["vaults"].as_array().map(Vec::len), Some(0));
    // Every form a signed-in person posts is refused without the token, before anything runs.
    let id = uuid::Uuid::new_v4();
    for route in [
        "/verify-email/resend".to_owned(),
        "/security/email".to_owned(),
        "/security/email/confirm".to_owned(),
        "/security/totp/setup".to_owned(),
        "/security/totp/confirm".to_owned(),
        "/security/totp/disable".to_owned(),
        "/signout".to_owned(),
        format!("/vaults/{id}/secrets"),
        format!("/vaults/{id}/reveal"),
        format!("/vaults/{id}/delete"),
        format!("/vaults/{id}/remove"),
        format!("/vaults/{id}/generate"),
        format!("/vaults/{id}/share"),
        format!("/vaults/{id}/env"),
        format!("/vaults/{id}/env/reveal"),
        format!("/vaults/{id}/env/update"),
        format!("/vaults/{id}/env/delete"),
        format!("/vaults/{id}/env/dotenv"),
        "/device/approve".to_owned(),
        "/device/deny".to_owned(),
        "/agents".to_owned(),
        format!("/agents/{id}"),
        format!("/agents/{id}/toggle"),
        format!("/agents/{id}/rotate"),
        format!("/agents/{id}/bindings"),
        format!("/agents/{id}/bindings/{id}/test"),
        format!("/agents/{id}/bindings/{id}/delete"),
        format!("/sharing/{id}/policies"),
        format!("/sharing/{id}/policies/{id}/revoke"),
        format!("/sharing/links/{id}/revoke"),
        "/security/password".to_owned(),
        "/security/ip-rules".to_owned(),
        format!("/security/ip-rules/{id}/delete"),
        "/api-keys".to_owned(),
        format!("/api-keys/{id}/revoke"),
        "/team/invite".to_owned(),
        format!("/team/invites/{id}/revoke"),
        format!("/team/{id}/role"),
        format!("/team/{id}/remove"),
    ] {
        let refused = browser.post(&route, &[("name", "sneaky"), ("csrf", "forged")], false).await;
        assert_eq!(refused.status, 403, "{route}: {}", refused.html);
    }
    assert_eq!(browser.get("/dashboard").await.status, 200, "still signed in: the sign-out form was refused too");
}

#[tokio::test]
async fn a_session_of_another_org_sees_nothing_of_this_one() {
    let app = spawn_app().await;
    let owner = app.signup("mine@example.com").await;
    let vault = app.create_vault(&owner.token, "private").await;
    app.put_secret(&owner.token, &vault, "k", "not-yours").await;
    let stranger = app.signup("theirs@example.com").await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&stranger.email, &stranger.password).await;
    let list = browser.get("/vaults").await;
    assert!(!list.html.contains("private"));
    let other = browser.get(&format!("/vaults/{vault}")).await;
    assert_eq!(other.status, 404);
    let csrf = csrf_of(&list.html);
    let reveal = browser.post(&format!("/vaults/{vault}/reveal"), &[("csrf", &csrf), ("path", "k")], true).await;
    assert!(!reveal.html.contains("not-yours"));
}

#[tokio::test]
async fn an_expired_access_cookie_is_renewed_from_the_refresh_cookie() {
    let app = spawn_app().await;
    let owner = app.signup("renew@example.com").await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&owner.email, &owner.password).await;
    let before = browser.cookies.get("oc_access").cloned();
    app.clock.advance(time::Duration::minutes(20));
    let page = browser.get("/dashboard").await;
    assert_eq!(page.status, 200);
    assert_ne!(browser.cookies.get("oc_access").cloned(), before, "a new access cookie was set");
}

#[tokio::test]
async fn totp_enrolment_shows_a_qr_code_of_the_otpauth_link() {
    let app = spawn_app().await;
    let owner = app.signup("qr@example.com").await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&owner.email, &owner.password).await;
    let csrf = csrf_of(&browser.get("/security").await.html);
    let page = browser.post("/security/totp/setup", &[("csrf", &csrf)], false).await;
    let link_at = page.html.find("href=\"otpauth://").expect("the otpauth link") + 6;
    let link = page.html[link_at..].split('"').next().unwrap().replace("&amp;", "&");
    assert!(link.contains("secret=") && link.contains("qr%40example.com"), "{link}");
    // The page's QR code is the one that encodes exactly that link.
    let expected = qrcode::QrCode::new(link.as_bytes())
        .unwrap()
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(192, 192)
        .build();
    let expected_svg = expected.split_once("?>").unwrap().1;
    assert!(page.html.contains(&format!("<figure class=\"qr\">{expected_svg}")), "{}", page.html);
}

#[tokio::test]
async fn an_agents_vault_binding_and_token_lifetime_are_edited_in_its_settings() {
    let app = spawn_app().await;
    let owner = app.signup("agent-settings@example.com").await;
    let (first, second) = (app.create_vault(&owner.token, "one").await, app.create_vault(&owner.token, "two").await);
    let agent = app.register_agent(&owner.token, "editable", serde_json::json!({})).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&owner.email, &owner.password).await;

    let list = browser.get("/agents").await;
    assert!(list.html.contains(&format!("href=\"/agents/{}\"", agent.id)), "a settings link per agent");
    let form = browser.get(&format!("/agents/{}", agent.id)).await;
    assert!(form.html.contains(&format!("value=\"{first}\"")) && form.html.contains(&format!("value=\"{second}\"")));
    let csrf = csrf_of(&form.html);
    let path = format!("/agents/{}", agent.id);
    let saved =
        browser.post(&path, &[("csrf", &csrf), ("vault", &first), ("vault", &second), ("ttl", "900")], false).await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    let stored = app.get(&format!("/v1/agents/{}", agent.id), &owner.token).await;
    let mut bound: Vec<String> =
        stored.body["vault_ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    bound.sort();
    let mut expected = vec![first.clone(), second.clone()];
    expected.sort();
    assert_eq!((bound, stored.body["token_ttl_seconds"].as_i64()), (expected, Some(900)), "{}", stored.text);
    let shown = browser.get(&path).await;
    assert!(shown.html.contains("value=\"900\"") && shown.html.matches(" checked>").count() == 2, "{}", shown.html);

    // Bad input is explained and changes nothing.
    let stranger = app.signup("agent-settings-other@example.com").await;
    let foreign = app.create_vault(&stranger.token, "theirs").await;
    for (fields, words) in [
        (vec![("ttl", "soon")], "whole number of seconds"),
        (vec![("ttl", "30")], "between 61 and 86400"),
        (vec![("vault", foreign.as_str())], "is not a vault of this org"),
        (vec![("vault", "not-a-uuid")], "not a vault id"),
    ] {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(fields);
        let refused = browser.post(&path, &form, false).await;
        assert!(refused.status == 200 && refused.html.contains(words), "{words}: {}", refused.html);
    }
    let unchanged = app.get(&format!("/v1/agents/{}", agent.id), &owner.token).await;
    assert_eq!(unchanged.body["token_ttl_seconds"], 900);
    assert_eq!(unchanged.body["vault_ids"].as_array().unwrap().len(), 2);

    // The MCP configuration of a new key points at this server, as the browser reached it.
    let registered = browser.post("/agents", &[("csrf", &csrf), ("name", "fresh")], false).await;
    assert!(
        registered.html.contains(&format!("&quot;ONECLAW_BASE_URL&quot;: &quot;{}&quot;", app.base_url)),
        "{}",
        registered.html
    );
}

#[tokio::test]
async fn google_sign_in_is_offered_only_when_a_provider_is_configured_and_the_favicon_answers() {
    let plain = spawn_app().await;
    let page = Browser::new(&plain).get("/signin").await;
    assert_eq!(page.status, 200);
    assert!(!page.html.contains("/signin/google"), "no provider, no Google button");
    let wrong = Browser::new(&plain).sign_in("nobody@example.com", "some password").await;
    assert!(!wrong.html.contains("/signin/google") && wrong.html.contains("nobody@example.com"), "the email stays");

    let with_provider = oneclaw_testkit::spawn_app_with(|config| {
        config.oidc_client_id = Some("client".to_owned());
        config.oidc_issuer = "https://accounts.example.com".to_owned();
    })
    .await;
    assert!(Browser::new(&with_provider).get("/signin").await.html.contains("/signin/google"));

    let icon = plain.http.get(format!("{}/favicon.ico", plain.base_url)).send().await.unwrap();
    assert_eq!(icon.status(), 200);
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
    assert!(icon.text().await.unwrap().starts_with("<svg"));
}

#[tokio::test]
async fn a_plain_member_can_neither_delete_anothers_vault_nor_remove_anyone_from_the_dashboard() {
    let app = spawn_app().await;
    let owner = app.signup("dash-owner@example.com").await;
    let vault = app.create_vault(&owner.token, "owners").await;
    let member = app.invite_and_join(&owner.token, "dash-member@example.com", "member").await;
    let owner_id = app.user_id(&owner.token).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&member.email, &member.password).await;
    let csrf = csrf_of(&browser.get("/vaults").await.html);

    let refused = browser.post(&format!("/vaults/{vault}/remove"), &[("csrf", &csrf)], false).await;
    assert_ne!(refused.status, 303, "no redirect as if deleted: {}", refused.html);
    assert_eq!(app.get(&format!("/v1/vaults/{vault}"), &owner.token).await.status, 200, "the vault is still there");

    let refused = browser.post(&format!("/team/{owner_id}/remove"), &[("csrf", &csrf)], false).await;
    assert!(refused.html.contains("role=\"alert\""), "the refusal is shown: {}", refused.html);
    assert_eq!(app.get("/v1/auth/me", &owner.token).await.status, 200, "the owner is still a member");
}
