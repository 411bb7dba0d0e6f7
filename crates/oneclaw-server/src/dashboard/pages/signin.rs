//! Sign in (email and password) and sign out.

use crate::dashboard::form::Posted;
use crate::dashboard::layout::{bare, error, moving_on};
use crate::dashboard::session::{self, cleared, with_tokens};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Form;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use maud::{Markup, html};
use oneclaw_core::services::{LoginOutcome, SignupOutcome};
use oneclaw_types::SecretString;
use serde::Deserialize;

/// The sign-in page; "Sign in with Google" only when an identity provider is configured.
pub(super) fn form(state: &AppState, email: &str, problem: Option<&str>) -> Markup {
    let google = state.oidc.is_some();
    bare(
        "Sign in",
        html! {
            main.signin {
                div.panel {
                    h1 { "Sign in to oneclaw" }
                    (error(problem))
                    form method="post" action="/signin" {
                        label for="email" { "Email" }
                        input id="email" name="email" type="email" autocomplete="username" required value=(email);
                        label for="password" { "Password" }
                        input id="password" name="password" type="password" autocomplete="current-password" required;
                        p { button type="submit" { "Sign in" } }
                    }
                    p { a href="/forgot-password" { "Forgot password?" } }
                    @if google {
                        p { a href="/signin/google" { "Sign in with Google" } }
                    }
                    p { "New here? " a href="/signup" { "Create an account" } }
                }
            }
        },
    )
}

pub async fn show(State(state): State<AppState>) -> Markup {
    form(&state, "", None)
}

#[derive(Deserialize)]
pub struct Credentials {
    email: String,
    password: String,
    /// On sign-up: the token of an invitation (from the invite link's `?invite=`).
    #[serde(default)]
    invite_token: Option<String>,
}

const CROSS_SITE: &str = "This form was sent from another site; open this page here and sign in again.";

const UNCONFIRMED_OR_WRONG: &str =
    "Wrong email or password. A new account first confirms its address with the link we mailed.";

/// Checks the password (the same login as the API, surface `dashboard`) and sets the cookies.
pub async fn submit(State(state): State<AppState>, jar: CookieJar, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let request = Request::from_parts(parts.clone(), body);
    if session::cross_site(&parts) {
        return form(&state, "", Some(CROSS_SITE)).into_response();
    }
    let Ok(Form(credentials)) = Form::<Credentials>::from_request(request, &state).await else {
        return form(&state, "", Some("Enter an email and a password.")).into_response();
    };
    let meta = session::meta(&parts);
    let password = SecretString::new(credentials.password);
    match state.core.auth().login(&meta, credentials.email.trim(), &password).await {
        // The same words for every failed sign-in, with the one step a new account may be missing.
        Err(oneclaw_core::Error::Unauthenticated(_)) if state.core.mail().enabled() => {
            form(&state, &credentials.email, Some(UNCONFIRMED_OR_WRONG)).into_response()
        }
        Err(err) => form(&state, &credentials.email, Some(ApiError::from(err).detail())).into_response(),
        outcome => sign_in_with(&state, jar, outcome, &parts, Arrival::FromThisSite),
    }
}

/// After the first factor: the session's cookies, or the code step when TOTP is on.
/// How the browser got to the sign-in answer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Arrival {
    /// A form of this site was posted.
    FromThisSite,
    /// Redirected back from an identity provider: a cross-site redirect chain, in which the
    /// browser withholds SameSite=Strict cookies, so a redirect to the dashboard would arrive
    /// signed out. The answer is a page that moves on by itself (a same-site navigation).
    FromProvider,
}

pub(super) fn sign_in_with(
    state: &AppState,
    jar: CookieJar,
    outcome: oneclaw_core::Result<LoginOutcome>,
    parts: &Parts,
    arrival: Arrival,
) -> Response {
    match outcome {
        Ok(LoginOutcome::Signed(tokens)) => {
            let jar = with_tokens(jar, &tokens, is_tls(parts));
            match arrival {
                Arrival::FromThisSite => (jar, Redirect::to("/dashboard")).into_response(),
                Arrival::FromProvider => {
                    let moving =
                        moving_on("Signed in", "/dashboard", html! { p { "Signed in; opening the dashboard…" } });
                    (jar, moving).into_response()
                }
            }
        }
        Ok(LoginOutcome::MfaRequired(challenge)) => (jar, code_form(challenge.expose(), None)).into_response(),
        Err(err) => (jar, form(state, "", Some(ApiError::from(err).detail()))).into_response(),
    }
}

fn is_tls(parts: &Parts) -> bool {
    parts.headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https")
}

/// Ends the session on the server, then in the browser.
pub async fn sign_out(State(state): State<AppState>, Posted { session, .. }: Posted) -> Response {
    let _ = state.core.auth().sign_out(&session.caller).await;
    (cleared(session.jar), Redirect::to("/signin")).into_response()
}

use axum::extract::FromRequest;

fn signup_form(email: &str, invite: Option<&str>, problem: Option<&str>) -> Markup {
    bare(
        "Sign up",
        html! {
            main.signin {
                div.panel {
                    h1 { "Create your oneclaw account" }
                    @if invite.is_some() { p { "You were invited: signing up joins the organization that invited you." } }
                    (error(problem))
                    form method="post" action="/signup" {
                        @if let Some(invite) = invite { input type="hidden" name="invite_token" value=(invite); }
                        label for="email" { "Email" }
                        input id="email" name="email" type="email" autocomplete="username" required value=(email);
                        label for="password" { "Password" }
                        input id="password" name="password" type="password" autocomplete="new-password" required minlength="8";
                        p { button type="submit" { "Sign up" } }
                    }
                    p { "Have an account? " a href="/signin" { "Sign in" } }
                }
            }
        },
    )
}

/// After a sign-up that mailed the address: the same page whether the address was new or
/// already had an account.
fn check_mail(email: &str) -> Markup {
    bare(
        "Check your mail",
        html! {
            main.signin {
                div.panel {
                    h1 { "Check your mail" }
                    p role="status" { "We sent a message to " strong { (email) } ". Open the link in it and enter your password to confirm your address and sign in." }
                }
            }
        },
    )
}

/// `?invite=` carries an invitation's token from the link the inviter handed on.
#[derive(Deserialize)]
pub struct SignupQuery {
    #[serde(default)]
    invite: Option<String>,
}

pub async fn show_signup(axum::extract::Query(query): axum::extract::Query<SignupQuery>) -> Markup {
    signup_form("", query.invite.as_deref().filter(|token| !token.is_empty()), None)
}

/// Creates the account (and its org, or joins the org that invited it), signed in at once.
pub async fn submit_signup(State(state): State<AppState>, jar: CookieJar, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let request = Request::from_parts(parts.clone(), body);
    if session::cross_site(&parts) {
        return signup_form("", None, Some(CROSS_SITE)).into_response();
    }
    let Ok(Form(credentials)) = Form::<Credentials>::from_request(request, &state).await else {
        return signup_form("", None, Some("Enter an email and a password.")).into_response();
    };
    let meta = session::meta(&parts);
    let account = oneclaw_core::services::NewAccount {
        email: credentials.email.trim().to_owned(),
        password: SecretString::new(credentials.password),
        display_name: None,
        invite_token: credentials.invite_token.clone().filter(|token| !token.trim().is_empty()).map(SecretString::new),
    };
    match state.core.auth().signup(&meta, account).await {
        Ok(SignupOutcome::SignedIn(_, tokens)) => {
            (with_tokens(jar, &tokens, is_tls(&parts)), Redirect::to("/dashboard")).into_response()
        }
        Ok(SignupOutcome::CheckMail { email }) => check_mail(&email).into_response(),
        Err(err) => {
            signup_form(&credentials.email, credentials.invite_token.as_deref(), Some(ApiError::from(err).detail()))
                .into_response()
        }
    }
}

/// The second step of signing in with TOTP on.
fn code_form(challenge: &str, problem: Option<&str>) -> Markup {
    bare(
        "Two-factor code",
        html! {
            main.signin {
                div.panel {
                    h1 { "Enter your code" }
                    p { "Open your authenticator app and enter the 6-digit code for oneclaw, or a recovery code." }
                    (error(problem))
                    form method="post" action="/signin/code" {
                        input type="hidden" name="mfa_token" value=(challenge);
                        label for="code" { "Code" }
                        input id="code" name="code" required autocomplete="one-time-code" inputmode="numeric";
                        p { button type="submit" { "Verify" } }
                    }
                }
            }
        },
    )
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    mfa_token: String,
    #[serde(default)]
    code: String,
}

/// Completes a sign-in with its TOTP or recovery code.
pub async fn submit_code(State(state): State<AppState>, jar: CookieJar, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let request = Request::from_parts(parts.clone(), body);
    if session::cross_site(&parts) {
        return form(&state, "", Some(CROSS_SITE)).into_response();
    }
    let Ok(Form(submitted)) = Form::<CodeForm>::from_request(request, &state).await else {
        return form(&state, "", Some("Sign in again.")).into_response();
    };
    let meta = session::meta(&parts);
    match state.core.auth().verify_mfa(&meta, &SecretString::new(submitted.mfa_token), &submitted.code).await {
        Ok(tokens) => (with_tokens(jar, &tokens, is_tls(&parts)), Redirect::to("/dashboard")).into_response(),
        // A challenge is good for one try: back to the password.
        Err(err) => form(&state, "", Some(ApiError::from(err).detail())).into_response(),
    }
}

#[cfg(test)]
mod fuzz_tests {
    //! Sign-in, sign-up and code forms are posted by anyone: decoding arbitrary bodies never
    //! panics, and what decodes keeps every byte it was sent. docs/FUZZING.md.
    use super::*;
    use proptest::prelude::*;

    fn body() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..200),
            proptest::collection::vec(
                prop_oneof![
                    Just("email=".to_owned()),
                    Just("password=".to_owned()),
                    Just("invite_token=".to_owned()),
                    Just("mfa_token=".to_owned()),
                    Just("code=".to_owned()),
                    Just("%".to_owned()),
                    Just("%FF%00".to_owned()),
                    Just("&".to_owned()),
                    Just("+".to_owned()),
                    "[a-zA-Z0-9@.=]{0,12}",
                ],
                0..12,
            )
            .prop_map(|parts| parts.concat().into_bytes()),
        ]
    }

    proptest! {
        #[test]
        fn fuzz_dashboard_forms_never_panic(bytes in body()) {
            if let Ok(credentials) = serde_urlencoded::from_bytes::<Credentials>(&bytes) {
                let encoded = serde_urlencoded::to_string([
                    ("email", credentials.email.as_str()),
                    ("password", credentials.password.as_str()),
                ])
                .unwrap();
                let again: Credentials = serde_urlencoded::from_str(&encoded).unwrap();
                prop_assert_eq!((again.email, again.password), (credentials.email, credentials.password));
            }
            let _ = serde_urlencoded::from_bytes::<CodeForm>(&bytes);
            let _ = serde_urlencoded::from_bytes::<SignupQuery>(&bytes);
        }
    }
}
