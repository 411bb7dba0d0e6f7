//! The page frame: head (one stylesheet, htmx, both embedded in the binary), the sidebar, the
//! main area. Forms get their CSRF token from `csrf_field`.

use maud::{DOCTYPE, Markup, html};

/// The sidebar's entries: (path, label). Only pages that exist are listed.
const NAV: &[(&str, &str)] = &[
    ("/dashboard", "Dashboard"),
    ("/vaults", "Vaults"),
    ("/agents", "Agents"),
    ("/sharing", "Sharing"),
    ("/approvals", "Approvals"),
    ("/audit", "Audit Log"),
    ("/security", "Security"),
    ("/api-keys", "API Keys"),
    ("/billing", "Billing"),
    ("/team", "Team"),
];

/// A bare page (sign-in).
pub fn bare(title: &str, content: Markup) -> Markup {
    with_head(title, html! {}, content)
}

/// A page that moves on to `to` by itself as soon as it loads (with a link for the rare
/// browser that does not). The move is a navigation started by this page, so it is same-site.
pub fn moving_on(title: &str, to: &str, content: Markup) -> Markup {
    with_head(
        title,
        html! { meta http-equiv="refresh" content={ "0; url=" (to) }; },
        html! { main.signin { div.panel { (content) p { a href=(to) { "Continue" } } } } },
    )
}

fn with_head(title: &str, extra_head: Markup, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · oneclaw" }
                link rel="icon" type="image/svg+xml" href="/assets/favicon.svg";
                // htmx must not inject styles or evaluate code: the CSP forbids both.
                meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false}"#;
                link rel="stylesheet" href="/assets/style.css";
                script src="/assets/htmx.min.js" defer {}
                script src="/assets/dashboard.js" defer {}
                (extra_head)
            }
            body { (content) }
        }
    }
}

/// A signed-in page with the sidebar; `active` is the current section's path.
pub fn page(title: &str, active: &str, email: &str, csrf: &str, content: Markup) -> Markup {
    bare(
        title,
        html! {
            // The first Tab stop: past the sidebar's eleven links, straight to the page.
            a.skip href="#main" { "Skip to content" }
            div.shell {
                nav.side aria-label="Main" {
                    a.brand href="/dashboard" { "oneclaw" }
                    ul {
                        @for (path, label) in NAV {
                            li {
                                @if *path == active { a href=(path) aria-current="page" { (label) (badge(path)) } }
                                @else { a href=(path) { (label) (badge(path)) } }
                            }
                        }
                    }
                    p.muted { (email) }
                    form method="post" action="/signout" {
                        (csrf_field(csrf))
                        button.quiet type="submit" { "Sign out" }
                    }
                }
                main id="main" tabindex="-1" { h1 { (title) } (content) }
            }
        },
    )
}

/// The Approvals entry's count of requests waiting, loaded after the page (htmx) so no page
/// waits for it.
fn badge(path: &str) -> Markup {
    html! {
        @if path == "/approvals" {
            " " span hx-get="/approvals/badge" hx-trigger="load, every 60s" hx-swap="innerHTML" {}
        }
    }
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

/// An error in words, next to what caused it.
pub fn error(message: Option<&str>) -> Markup {
    html! { @if let Some(message) = message { p.error role="alert" { (message) } } }
}

/// A credential shown once, with a copy button (`assets/dashboard.js`).
pub fn shown_once(title: &str, id: &str, value: &str) -> Markup {
    html! {
        section.panel role="status" {
            h2 { (title) }
            p { "Copy it now: it is shown only this once." }
            p {
                code.value id=(id) { (value) } " "
                button.quiet type="button" data-copy=(id) { "Copy" }
            }
        }
    }
}

/// A time as people read it in a table: minutes, UTC, short enough for a phone (the API keeps
/// RFC 3339 with milliseconds).
pub fn timestamp(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!("{} {:02}:{:02} UTC", at.date(), at.hour(), at.minute())
}
