//! Pages for an account's email: "forgot password" and the reset page its mail links to, the
//! verification page, the "not verified yet" banner with "send again", and the email change
//! under Security. Links only ever show a button: mail scanners open links, and a GET must
//! spend no token.

use super::common::words;
use crate::dashboard::form::Posted;
use crate::dashboard::layout::{bare, csrf_field, error};
use crate::dashboard::session::{self, Session};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Form;
use axum::extract::{FromRequest, Query, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use maud::{Markup, html};
use oneclaw_types::SecretString;
use serde::Deserialize;

const CROSS_SITE: &str = "This form was sent from another site; open this page here and try again.";

fn panel(title: &str, content: Markup) -> Markup {
    bare(title, html! { main.signin { div.panel { h1 { (title) } (content) } } })
}

fn forgot_form(notice: Option<&str>, problem: Option<&str>) -> Markup {
    panel(
        "Forgot your password?",
        html! {
            (error(problem))
            @if let Some(notice) = notice { p.ok role="status" { (notice) } }
            form method="post" action="/forgot-password" {
                label for="email" { "Email" }
                input id="email" name="email" type="email" autocomplete="username" required;
                p { button type="submit" { "Send me a reset link" } }
            }
            p { a href="/signin" { "Back to sign-in" } }
        },
    )
}

pub async fn show_forgot() -> Markup {
    forgot_form(None, None)
}

#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
}

pub async fn submit_forgot(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if session::cross_site(&parts) {
        return forgot_form(None, Some(CROSS_SITE)).into_response();
    }
    let Ok(Form(form)) = Form::<EmailForm>::from_request(Request::from_parts(parts.clone(), body), &state).await else {
        return forgot_form(None, Some("Enter your email address.")).into_response();
    };
    let meta = session::meta(&parts);
    match state.core.accounts().forgot_password(&meta, &form.email).await {
        Ok(()) => forgot_form(
            Some("If an account with a password uses this address, a reset link is on its way; it works for one hour."),
            None,
        )
        .into_response(),
        Err(err) => forgot_form(None, Some(ApiError::from(err).detail())).into_response(),
    }
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

fn reset_form(token: &str, problem: Option<&str>) -> Markup {
    panel(
        "Choose a new password",
        html! {
            (error(problem))
            form method="post" action="/reset-password" {
                input type="hidden" name="token" value=(token);
                label for="new-password" { "New password" }
                input id="new-password" name="new_password" type="password" autocomplete="new-password" required minlength="8";
                p { button type="submit" { "Set the new password" } }
            }
            p { "Every session of the account is signed out." }
        },
    )
}

pub async fn show_reset(Query(query): Query<TokenQuery>) -> Markup {
    reset_form(&query.token, None)
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    new_password: String,
}

pub async fn submit_reset(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if session::cross_site(&parts) {
        return reset_form("", Some(CROSS_SITE)).into_response();
    }
    let Ok(Form(form)) = Form::<ResetForm>::from_request(Request::from_parts(parts.clone(), body), &state).await else {
        return reset_form("", Some("Open the link from the mail again.")).into_response();
    };
    let meta = session::meta(&parts);
    let token = SecretString::new(form.token.clone());
    match state.core.accounts().reset_password(&meta, &token, &SecretString::new(form.new_password)).await {
        Ok(()) => panel(
            "Password updated",
            html! { p role="status" { "Your password is changed and every session was signed out." } p { a href="/signin" { "Sign in" } } },
        )
        .into_response(),
        Err(err) => reset_form(&form.token, Some(ApiError::from(err).detail())).into_response(),
    }
}

fn verify_form(session: Option<&Session>, token: &str, problem: Option<&str>) -> Markup {
    panel(
        "Confirm your email address",
        html! {
            (error(problem))
            @match session {
                Some(session) => {
                    form method="post" action="/verify-email" {
                        (csrf_field(&session.csrf))
                        input type="hidden" name="token" value=(token);
                        p { button type="submit" { "Confirm my address" } }
                    }
                }
                // The mailbox alone confirms nothing: the account's password (or its session) must
                // go with it.
                None => {
                    p { "Enter the password of the account this address belongs to; confirming signs you in." }
                    form method="post" action="/verify-email/signin" {
                        input type="hidden" name="token" value=(token);
                        label for="password" { "Password" }
                        input id="password" name="password" type="password" autocomplete="current-password" required;
                        p { button type="submit" { "Confirm my address" } }
                    }
                }
            }
        },
    )
}

pub async fn show_verify(
    session: Result<Session, <Session as axum::extract::FromRequestParts<AppState>>::Rejection>,
    Query(query): Query<TokenQuery>,
) -> Response {
    match session {
        Ok(session) => {
            let page = verify_form(Some(&session), &query.token, None);
            (session.jar, page).into_response()
        }
        Err(_) => verify_form(None, &query.token, None).into_response(),
    }
}

#[derive(Deserialize)]
pub struct VerifyForm {
    #[serde(default)]
    token: String,
}

pub async fn submit_verify(State(state): State<AppState>, Posted { session, form }: Posted<VerifyForm>) -> Response {
    match state.core.accounts().verify_email(&session.caller, &SecretString::new(form.token.clone())).await {
        Ok(()) => (session.jar, Redirect::to("/dashboard")).into_response(),
        Err(err) => {
            let page = verify_form(Some(&session), &form.token, Some(&words(err)));
            (session.jar, page).into_response()
        }
    }
}

#[derive(Deserialize)]
pub struct VerifySignInForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

/// Confirms a new account's address with its password, and signs it in.
pub async fn submit_verify_signin(State(state): State<AppState>, jar: CookieJar, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let request = Request::from_parts(parts.clone(), body);
    if session::cross_site(&parts) {
        return verify_form(None, "", Some(CROSS_SITE)).into_response();
    }
    let Ok(Form(form)) = Form::<VerifySignInForm>::from_request(request, &state).await else {
        return verify_form(None, "", Some("Enter the account's password.")).into_response();
    };
    let meta = session::meta(&parts);
    let (token, password) = (SecretString::new(form.token.clone()), SecretString::new(form.password));
    match state.core.auth().verify_and_sign_in(&meta, &token, &password).await {
        Err(err) => verify_form(None, &form.token, Some(&words(err))).into_response(),
        outcome => super::signin::sign_in_with(&state, jar, outcome, &parts, super::signin::Arrival::FromThisSite),
    }
}

/// The "not verified yet" banner (Dashboard and Security).
pub fn unverified_banner(csrf: &str) -> Markup {
    html! {
        section.panel role="status" aria-labelledby="unverified" {
            h2 id="unverified" { "Confirm your email address" }
            p { "Until you open the link we mailed you, nothing that trusts an email address (shares sent to it) applies to this account." }
            form method="post" action="/verify-email/resend" {
                (csrf_field(csrf))
                button.quiet type="submit" { "Send the link again" }
            }
        }
    }
}

pub async fn resend(State(state): State<AppState>, Posted { session, .. }: Posted) -> Response {
    match state.core.accounts().resend_verification(&session.caller).await {
        Ok(()) => (session.jar, Redirect::to("/dashboard?sent=1")).into_response(),
        Err(err) => (
            session.jar,
            panel(
                "Confirm your email address",
                html! { (error(Some(&words(err)))) p { a href="/dashboard" { "Back" } } },
            ),
        )
            .into_response(),
    }
}

fn email_change_page(session: &Session, step_code: Option<&str>, problem: Option<&str>) -> Markup {
    panel(
        "Change your email address",
        html! {
            (error(problem))
            @match step_code {
                None => {
                    form method="post" action="/security/email" {
                        (csrf_field(&session.csrf))
                        label for="new-email" { "New address" }
                        input id="new-email" name="new_email" type="email" required;
                        p { button type="submit" { "Send a code to the new address" } }
                    }
                }
                Some(new_email) => {
                    p role="status" { "We sent a six-digit code to " (new_email) "; it works for ten minutes." }
                    form method="post" action="/security/email/confirm" {
                        (csrf_field(&session.csrf))
                        label for="email-code" { "Code" }
                        input id="email-code" name="code" inputmode="numeric" autocomplete="one-time-code" required;
                        p { button type="submit" { "Confirm the new address" } }
                    }
                }
            }
            p { a href="/security" { "Back to Security" } }
        },
    )
}

pub async fn show_email_change(session: Session) -> Response {
    let page = email_change_page(&session, None, None);
    (session.jar, page).into_response()
}

#[derive(Deserialize)]
pub struct NewEmailForm {
    #[serde(default)]
    new_email: String,
}

pub async fn submit_email_change(
    State(state): State<AppState>,
    Posted { session, form }: Posted<NewEmailForm>,
) -> Response {
    let page = match state.core.accounts().change_email(&session.caller, &form.new_email).await {
        Ok((new_email, _)) => email_change_page(&session, Some(&new_email), None),
        Err(err) => email_change_page(&session, None, Some(&words(err))),
    };
    (session.jar, page).into_response()
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

pub async fn confirm_email_change(
    State(state): State<AppState>,
    Posted { session, form }: Posted<CodeForm>,
) -> Response {
    match state.core.accounts().verify_email_change(&session.caller, &form.code).await {
        Ok(_) => (session.jar, Redirect::to("/security")).into_response(),
        Err(err) => {
            let page = email_change_page(&session, Some("your new address"), Some(&words(err)));
            (session.jar, page).into_response()
        }
    }
}
