//! Dashboard sessions. Signing in opens an ordinary login session (the same as the API's):
//! the access token and the refresh token travel in two cookies, HttpOnly, SameSite=Strict,
//! Secure when the request came over TLS. An expired access token is renewed from the refresh
//! token on the way in. Every form carries a CSRF token bound to the session (a keyed digest of
//! the session id) and every POST must echo it. Each page request is metered like any other; past
//! the allowance a paid operation spends credits (`common::pay`).

use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use oneclaw_core::ports::Charge;
use oneclaw_core::principal::{Caller, RequestMeta, Surface};
use oneclaw_core::services::IssuedToken;
use oneclaw_types::SecretString;

pub const ACCESS_COOKIE: &str = "oc_access";
pub const REFRESH_COOKIE: &str = "oc_refresh";

/// Where the request came from, marked as the dashboard.
pub fn meta(parts: &Parts) -> RequestMeta {
    RequestMeta { surface: Surface::Dashboard, ..crate::identity::meta_of(&parts.extensions) }
}

/// True when a form post came from another site: the browser says so (`Sec-Fetch-Site`), or its
/// `Origin` is not this server. Sign-in and sign-up refuse such posts, so no other site can
/// sign a visitor into an account of the attacker's choosing (login CSRF), before any session
/// (and so any CSRF token) exists.
pub(crate) fn cross_site(parts: &Parts) -> bool {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return true;
    }
    match (header("origin"), header("host")) {
        (Some(origin), Some(host)) => {
            let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
            !origin_host.eq_ignore_ascii_case(host)
        }
        (Some(_), None) => true,
        (None, _) => false,
    }
}

pub(crate) fn secure(parts: &Parts) -> bool {
    parts.headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https")
        || parts.uri.scheme_str() == Some("https")
}

fn cookie(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((name, value)).http_only(true).same_site(SameSite::Strict).secure(secure).path("/").build()
}

/// The cookies of a freshly issued session.
pub fn with_tokens(jar: CookieJar, tokens: &IssuedToken, secure: bool) -> CookieJar {
    let jar = jar.add(cookie(ACCESS_COOKIE, tokens.access_token.expose().to_owned(), secure));
    match &tokens.refresh_token {
        Some(refresh) => jar.add(cookie(REFRESH_COOKIE, refresh.expose().to_owned(), secure)),
        None => jar,
    }
}

/// Cookies that end the session in the browser.
pub fn cleared(jar: CookieJar) -> CookieJar {
    jar.remove(Cookie::build(ACCESS_COOKIE).path("/")).remove(Cookie::build(REFRESH_COOKIE).path("/"))
}

/// A signed-in human, with what a page needs: the caller, the CSRF token of its forms, and
/// the cookies to send back (renewed if the access token had expired).
pub struct Session {
    pub caller: Caller,
    pub csrf: String,
    pub jar: CookieJar,
    /// The org's month is past its allowance: paid operations spend credits or are refused.
    pub over_allowance: bool,
}

impl Session {
    /// True if `token` is this session's CSRF token.
    pub fn csrf_ok(&self, token: &str) -> bool {
        use subtle::ConstantTimeEq;
        bool::from(self.csrf.as_bytes().ct_eq(token.as_bytes()))
    }
}

/// The CSRF token of a session: a keyed digest of its id (or of the token, for sessionless
/// tokens), so it cannot be made without the server's key.
pub fn csrf_token(state: &AppState, caller: &Caller) -> String {
    let bound = caller.principal.session_id.map_or_else(|| caller.principal.token_id.to_string(), |id| id.to_string());
    let digest = state.core.deps().hasher.digest_credential(&format!("dashboard-csrf:{bound}"));
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Not signed in: to the sign-in page.
pub struct SignInFirst;

impl IntoResponse for SignInFirst {
    fn into_response(self) -> Response {
        Redirect::to("/signin").into_response()
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let meta = meta(parts);
        let auth = state.core.auth();
        let mut jar_out = jar.clone();
        // The identity layer checked the access cookie already.
        let caller = match crate::identity::identity_of(&parts.extensions) {
            crate::identity::Identity::Caller(caller) => Some(*caller),
            _ => None,
        };
        let caller = match caller {
            Some(caller) => caller,
            None => {
                // The access token is missing or expired: renew it from the refresh token.
                let Some(refresh) = jar.get(REFRESH_COOKIE).map(|c| SecretString::new(c.value().to_owned())) else {
                    return Err(SignInFirst.into_response());
                };
                let renewed = auth
                    .refresh(&meta, Some(&refresh), None)
                    .await
                    .map_err(|_| (cleared(jar.clone()), SignInFirst).into_response())?;
                jar_out = with_tokens(jar_out, &renewed, secure(parts));
                auth.authenticate(renewed.access_token.expose(), meta.clone())
                    .await
                    .map_err(|_| (cleared(jar.clone()), SignInFirst).into_response())?
            }
        };
        if caller.principal.user_id().is_none() {
            return Err((cleared(jar), SignInFirst).into_response());
        }
        let billing = state.core.billing();
        let over_allowance = if billing.enabled() {
            // Pages count against the org's month like API requests do.
            let usage = billing
                .meter(caller.org_id())
                .await
                .map_err(|err| crate::error::ApiError::from(err).into_response())?;
            usage.over_allowance()
        } else {
            false
        };
        let mut caller = caller;
        if billing.enabled() {
            // Paid operations are charged by the core, with credits (a browser cannot answer an
            // x402 challenge).
            caller.charge = Charge::metered(over_allowance, None, parts.method.as_str(), parts.uri.path(), None);
        }
        let csrf = csrf_token(state, &caller);
        Ok(Self { caller, csrf, jar: jar_out, over_allowance })
    }
}
