//! The web dashboard: server-rendered pages (maud) enhanced with htmx, every asset embedded in
//! the binary. Pages call the same core services as the REST API with the surface
//! `dashboard`, so policy, audit and metering are the API's own. Sessions and CSRF are in
//! `session.rs`, the page frame in `layout.rs`, the pages in `pages/`.

pub mod form;
mod layout;
pub(crate) mod pages;
pub mod session;

use crate::state::AppState;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use tower_http::set_header::SetResponseHeaderLayer;

const STYLE: &str = include_str!("../../assets/style.css");
const HTMX: &str = include_str!("../../assets/htmx-2.0.7.min.js");
const SCRIPT: &str = include_str!("../../assets/dashboard.js");
const FAVICON: &str = include_str!("../../assets/favicon.svg");

/// Scripts, styles and form posts only from this server; never framed. Pages hold revealed
/// secrets, so injected markup must not be able to run or send anything anywhere.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/dashboard") }))
        .route("/assets/style.css", get(|| async { ([(header::CONTENT_TYPE, "text/css")], STYLE).into_response() }))
        .route(
            "/assets/htmx.min.js",
            get(|| async { ([(header::CONTENT_TYPE, "text/javascript")], HTMX).into_response() }),
        )
        .route(
            "/assets/dashboard.js",
            get(|| async { ([(header::CONTENT_TYPE, "text/javascript")], SCRIPT).into_response() }),
        )
        // Browsers ask for /favicon.ico whatever the page says; an SVG answers both.
        .route("/favicon.ico", get(|| async { ([(header::CONTENT_TYPE, "image/svg+xml")], FAVICON).into_response() }))
        .route(
            "/assets/favicon.svg",
            get(|| async { ([(header::CONTENT_TYPE, "image/svg+xml")], FAVICON).into_response() }),
        )
        .route("/signin", get(pages::signin::show).post(pages::signin::submit))
        .route("/signup", get(pages::signin::show_signup).post(pages::signin::submit_signup))
        .route("/signin/code", post(pages::signin::submit_code))
        .route("/forgot-password", get(pages::account::show_forgot).post(pages::account::submit_forgot))
        .route("/reset-password", get(pages::account::show_reset).post(pages::account::submit_reset))
        .route("/verify-email", get(pages::account::show_verify).post(pages::account::submit_verify))
        .route("/verify-email/resend", post(pages::account::resend))
        .route("/verify-email/signin", post(pages::account::submit_verify_signin))
        .route("/security/email", get(pages::account::show_email_change).post(pages::account::submit_email_change))
        .route("/security/email/confirm", post(pages::account::confirm_email_change))
        .route("/signin/google", get(pages::google::start))
        .route("/signin/google/callback", get(pages::google::callback))
        .route("/security/totp/setup", post(pages::security::totp_setup))
        .route("/security/totp/confirm", post(pages::security::totp_confirm))
        .route("/security/totp/disable", post(pages::security::totp_disable))
        .route("/signout", post(pages::signin::sign_out))
        .route("/dashboard", get(pages::home::show))
        .route("/device", get(pages::device::show))
        .route("/device/approve", post(pages::device::approve))
        .route("/device/deny", post(pages::device::deny))
        .route("/vaults", get(pages::vaults::list).post(pages::vaults::create))
        .route("/vaults/{id}", get(pages::vaults::show))
        .route("/vaults/{id}/secrets", post(pages::vaults::put))
        .route("/vaults/{id}/reveal", post(pages::vaults::reveal))
        .route("/vaults/{id}/hide", get(pages::vaults::hide))
        .route("/vaults/{id}/delete", post(pages::vaults::delete))
        .route("/vaults/{id}/remove", post(pages::vaults::remove))
        .route("/vaults/{id}/generate", post(pages::vaults::generate))
        .route("/vaults/{id}/share", post(pages::vaults::share))
        .route("/vaults/{id}/versions", get(pages::vaults::versions))
        .route("/vaults/{id}/env", get(pages::environment::show).post(pages::environment::add))
        .route("/vaults/{id}/env/reveal", post(pages::environment::reveal))
        .route("/vaults/{id}/env/hide", get(pages::environment::hide))
        .route("/vaults/{id}/env/update", post(pages::environment::update))
        .route("/vaults/{id}/env/delete", post(pages::environment::delete))
        .route("/vaults/{id}/env/dotenv", post(pages::environment::reveal_dotenv))
        .route("/agents", get(pages::agents::list).post(pages::agents::create))
        .route("/agents/{id}", get(pages::agents::settings).post(pages::agents::save_settings))
        .route("/agents/{id}/toggle", post(pages::agents::toggle))
        .route("/agents/{id}/rotate", post(pages::agents::rotate))
        .route("/agents/{id}/bindings", post(pages::bindings::create))
        .route("/agents/{id}/bindings/{binding}/test", post(pages::bindings::test))
        .route("/agents/{id}/bindings/{binding}/delete", post(pages::bindings::delete))
        .route("/sharing", get(pages::sharing::show))
        .route("/approvals", get(pages::approvals::list))
        .route("/approvals/badge", get(pages::approvals::badge))
        .route("/approvals/quick", get(pages::approvals::quick_show).post(pages::approvals::quick_decide))
        .route("/approvals/{id}/decide", post(pages::approvals::decide))
        .route("/sharing/{vault}/policies", post(pages::sharing::grant))
        .route("/sharing/{vault}/policies/{policy}/revoke", post(pages::sharing::revoke_policy))
        .route("/sharing/links/{id}/revoke", post(pages::sharing::revoke_link))
        .route("/audit", get(pages::audit::list))
        .route("/security", get(pages::security::show))
        .route("/security/password", post(pages::security::password))
        .route("/security/ip-rules", post(pages::security::add_rule))
        .route("/security/ip-rules/{id}/delete", post(pages::security::delete_rule))
        .route("/api-keys", get(pages::keys::list).post(pages::keys::create))
        .route("/api-keys/{id}/revoke", post(pages::keys::revoke))
        .route("/billing", get(pages::billing::show))
        .route("/team", get(pages::team::list))
        .route("/team/invite", post(pages::team::invite))
        .route("/team/invites/{id}/revoke", post(pages::team::revoke_invite))
        .route("/team/{id}/role", post(pages::team::set_role))
        .route("/team/{id}/remove", post(pages::team::remove))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
}
