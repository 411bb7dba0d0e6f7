//! "Sign in with Google" (any configured OpenID Connect issuer): to the provider with state,
//! nonce and a PKCE challenge kept in a short-lived cookie, and back.

use super::signin::{Arrival, form, sign_in_with};
use crate::dashboard::session;
use crate::error::ApiError;
use crate::oidc::Pending;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;

/// Holds state, nonce and PKCE verifier between the two legs (SameSite=Lax: the way back is a
/// top-level navigation from the provider).
const FLOW_COOKIE: &str = "oc_oidc";

fn callback_url(state: &AppState, parts: &Parts) -> String {
    format!("{}/signin/google/callback", state.link_base(&parts.headers))
}

pub async fn start(State(state): State<AppState>, jar: CookieJar, parts: Parts) -> Response {
    let Some(oidc) = &state.oidc else {
        return form(&state, "", Some("Sign-in with an identity provider is not set up on this server."))
            .into_response();
    };
    match oidc.begin(&callback_url(&state, &parts)).await {
        Ok((url, pending)) => {
            let value = format!("{}.{}.{}", pending.state, pending.nonce, pending.verifier);
            let cookie = Cookie::build((FLOW_COOKIE, value))
                .http_only(true)
                .same_site(SameSite::Lax)
                .path("/signin/google")
                .max_age(time::Duration::minutes(10))
                .secure(crate::dashboard::session::secure(&parts))
                .build();
            (jar.add(cookie), Redirect::to(&url)).into_response()
        }
        Err(err) => form(&state, "", Some(ApiError::from(err).detail())).into_response(),
    }
}

#[derive(Deserialize)]
pub struct Callback {
    #[serde(default)]
    code: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    error: Option<String>,
}

pub async fn callback(
    State(state): State<AppState>,
    jar: CookieJar,
    parts: Parts,
    Query(back): Query<Callback>,
) -> Response {
    let Some(oidc) = &state.oidc else { return Redirect::to("/signin").into_response() };
    let jar_cleared = jar.clone().remove(Cookie::build(FLOW_COOKIE).path("/signin/google"));
    if let Some(error) = back.error {
        return (jar_cleared, form(&state, "", Some(&format!("The identity provider answered: {error}"))))
            .into_response();
    }
    let pending = jar.get(FLOW_COOKIE).and_then(|c| {
        let mut parts = c.value().splitn(3, '.');
        Some(Pending {
            state: parts.next()?.to_owned(),
            nonce: parts.next()?.to_owned(),
            verifier: parts.next()?.to_owned(),
        })
    });
    let Some(pending) = pending.filter(|p| p.state == back.state) else {
        return (jar_cleared, form(&state, "", Some("This sign-in did not start here or has expired; try again.")))
            .into_response();
    };
    match oidc.finish(&back.code, &callback_url(&state, &parts), &pending).await {
        Ok(identity) => {
            let meta = session::meta(&parts);
            let outcome = state.core.auth().sign_in_federated(&meta, &identity.email, "google").await;
            sign_in_with(&state, jar_cleared, outcome, &parts, Arrival::FromProvider)
        }
        Err(err) => (jar_cleared, form(&state, "", Some(ApiError::from(err).detail()))).into_response(),
    }
}
