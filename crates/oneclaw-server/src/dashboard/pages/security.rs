//! Security: two-factor sign-in (TOTP: enrol with a QR code or the key, recovery codes, turn
//! off), change the password, and the org's IP rules.

use super::common::{email, words, words_of};
use crate::dashboard::form::Posted;
use crate::dashboard::layout::{csrf_field, error, page};
use crate::dashboard::session::Session;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, PreEscaped, html};
use oneclaw_core::ids::IpRuleId;
use oneclaw_types::SecretString;
use serde::Deserialize;
use uuid::Uuid;

pub async fn show(State(state): State<AppState>, session: Session) -> Response {
    render(&state, session, None, None).await
}

/// The enrolment link as a QR code (inline SVG, so no image request and nothing for the CSP to
/// allow) for an authenticator app's camera. The key is shown next to it for typing.
fn enrolment_qr(uri: &str) -> Markup {
    let Ok(code) = qrcode::QrCode::new(uri.as_bytes()) else { return html! {} };
    let svg = code.render::<qrcode::render::svg::Color>().min_dimensions(192, 192).build();
    // Inline SVG in HTML takes no XML declaration.
    let svg = svg.split_once("?>").map_or(svg.as_str(), |(_, element)| element);
    html! {
        figure.qr {
            (PreEscaped(svg))
            figcaption { "Scan with your authenticator app" }
        }
    }
}

/// What the TOTP panel shows besides its state.
#[derive(Default)]
struct TotpView {
    problem: Option<String>,
    enrolment: Option<(String, String)>,
    recovery_codes: Option<Vec<String>>,
}

async fn render(state: &AppState, session: Session, problem: Option<&str>, rule_problem: Option<&str>) -> Response {
    render_with(state, session, problem, rule_problem, TotpView::default()).await
}

async fn render_with(
    state: &AppState,
    session: Session,
    problem: Option<&str>,
    rule_problem: Option<&str>,
    totp: TotpView,
) -> Response {
    let rules = state.core.ip_rules().list(&session.caller).await;
    let totp_on = state.core.mfa().enabled(&session.caller).await.unwrap_or(false);
    let csrf = session.csrf.clone();
    let content = html! {
        section.panel aria-labelledby="totp" {
            h2 id="totp" { "Two-factor sign-in (TOTP)" }
            (error(totp.problem.as_deref()))
            @if let Some(codes) = &totp.recovery_codes {
                div role="status" {
                    p.ok { "Two-factor sign-in is on. Keep these recovery codes somewhere safe: each works once, and they are shown only now." }
                    ul { @for code in codes { li { code { (code) } } } }
                }
            } @else if totp_on {
                p.ok { "On: signing in asks for a code from your authenticator app." }
                form method="post" action="/security/totp/disable"
                    data-confirm="Turn off two-factor sign-in? A password alone will sign you in." {
                    (csrf_field(&csrf))
                    label for="disable-code" { "Current code or a recovery code" }
                    input id="disable-code" name="code" required autocomplete="one-time-code";
                    p { button.danger type="submit" { "Turn off two-factor sign-in" } }
                }
            } @else if let Some((secret, uri)) = &totp.enrolment {
                p { "Add this key to your authenticator app (or open the link on your phone), then enter the code it shows." }
                (enrolment_qr(uri))
                p { "Key: " code.value id="totp-secret" { (secret) } }
                p { a href=(uri) { "otpauth link" } }
                form method="post" action="/security/totp/confirm" {
                    (csrf_field(&csrf))
                    label for="totp-code" { "Code from the app" }
                    input id="totp-code" name="code" required autocomplete="one-time-code" inputmode="numeric";
                    p { button type="submit" { "Turn on" } }
                }
            } @else {
                p.muted { "Off." }
                form method="post" action="/security/totp/setup" {
                    (csrf_field(&csrf))
                    button type="submit" { "Set up two-factor sign-in" }
                }
            }
        }
        section.panel aria-labelledby="email-address" {
            h2 id="email-address" { "Email address" }
            p { a href="/security/email" { "Change your email address" } }
        }
        section.panel aria-labelledby="password" {
            h2 id="password" { "Change password" }
            p.muted { "Changing it signs you out everywhere, here included." }
            (error(problem))
            form method="post" action="/security/password" {
                (csrf_field(&csrf))
                label for="current" { "Current password" }
                input id="current" name="current" type="password" autocomplete="current-password" required;
                label for="new" { "New password" }
                input id="new" name="new" type="password" autocomplete="new-password" required minlength="8";
                p { button type="submit" { "Change password" } }
            }
        }
        section.panel aria-labelledby="ip-rules" {
            h2 id="ip-rules" { "IP rules" }
            (error(rule_problem))
            @match &rules {
                Ok(rules) => {
                    @if rules.is_empty() { p.muted { "No IP rules: every address may connect." } }
                    @else {
                        table {
                            thead { tr { th { "Rule" } th { "CIDR" } th { "Label" } th { "Applies to" } th {} } }
                            tbody {
                                @for rule in rules.iter() {
                                    tr {
                                        td { (rule.rule_type.as_str()) } td { (rule.cidr) } td { (rule.label) } td { (rule.applies_to) }
                                        td {
                                            form.inline method="post" action={ "/security/ip-rules/" (rule.id) "/delete" }
                                                data-confirm={ "Delete the rule for " (rule.cidr) "?" } {
                                                (csrf_field(&csrf))
                                                button.danger type="submit" aria-label={ "Delete rule " (rule.cidr) } { "Delete" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    form method="post" action="/security/ip-rules" {
                        (csrf_field(&csrf))
                        label for="rule-type" { "Rule" }
                        select id="rule-type" name="rule_type" { option value="allow" { "allow" } option value="deny" { "deny" } }
                        label for="cidr" { "CIDR" }
                        input id="cidr" name="cidr" required placeholder="203.0.113.0/24";
                        label for="rule-label" { "Label" }
                        input id="rule-label" name="label";
                        p { button type="submit" { "Add rule" } }
                    }
                }
                Err(err) => { p.muted { (words_of(err)) } }
            }
        }
    };
    let email = email(state, &session).await;
    (session.jar, page("Security", "/security", &email, &csrf, content)).into_response()
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current: String,
    new: String,
}

pub async fn password(State(state): State<AppState>, Posted { session, form }: Posted<PasswordForm>) -> Response {
    let (current, new) = (SecretString::new(form.current), SecretString::new(form.new));
    match state.core.auth().change_password(&session.caller, &current, &new).await {
        Ok(()) => (crate::dashboard::session::cleared(session.jar), Redirect::to("/signin")).into_response(),
        Err(err) => render(&state, session, Some(&words(err)), None).await,
    }
}

#[derive(Deserialize)]
pub struct RuleForm {
    rule_type: String,
    cidr: String,
    #[serde(default)]
    label: String,
}

pub async fn add_rule(State(state): State<AppState>, Posted { session, form }: Posted<RuleForm>) -> Response {
    let label = (!form.label.is_empty()).then_some(form.label.as_str());
    match state.core.ip_rules().create(&session.caller, &form.rule_type, &form.cidr, label, None).await {
        Ok(_) => (session.jar, Redirect::to("/security")).into_response(),
        Err(err) => render(&state, session, None, Some(&words(err))).await,
    }
}

pub async fn delete_rule(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Posted { session, .. }: Posted,
) -> Response {
    match state.core.ip_rules().delete(&session.caller, IpRuleId(id)).await {
        Ok(()) => (session.jar, Redirect::to("/security?done=rule-deleted")).into_response(),
        Err(err) => render(&state, session, None, Some(&words(err))).await,
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

pub async fn totp_setup(State(state): State<AppState>, Posted { session, .. }: Posted) -> Response {
    match state.core.mfa().setup(&session.caller, None).await {
        Ok(enrolment) => {
            let view = TotpView {
                enrolment: Some((enrolment.secret_base32.to_string(), enrolment.otpauth_uri.to_string())),
                ..TotpView::default()
            };
            render_with(&state, session, None, None, view).await
        }
        Err(err) => {
            render_with(&state, session, None, None, TotpView { problem: Some(words(err)), ..TotpView::default() })
                .await
        }
    }
}

pub async fn totp_confirm(State(state): State<AppState>, Posted { session, form }: Posted<CodeForm>) -> Response {
    match state.core.mfa().verify_setup(&session.caller, &form.code).await {
        Ok(codes) => {
            let view =
                TotpView { recovery_codes: Some(codes.iter().map(|c| c.to_string()).collect()), ..TotpView::default() };
            render_with(&state, session, None, None, view).await
        }
        Err(err) => {
            render_with(&state, session, None, None, TotpView { problem: Some(words(err)), ..TotpView::default() })
                .await
        }
    }
}

pub async fn totp_disable(State(state): State<AppState>, Posted { session, form }: Posted<CodeForm>) -> Response {
    match state.core.mfa().disable(&session.caller, &form.code).await {
        Ok(()) => (session.jar, Redirect::to("/security")).into_response(),
        Err(err) => {
            render_with(&state, session, None, None, TotpView { problem: Some(words(err)), ..TotpView::default() })
                .await
        }
    }
}
