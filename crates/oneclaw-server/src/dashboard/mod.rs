//! The web dashboard: server-rendered pages (maud) enhanced with htmx, every asset embedded in
//! the binary. Pages call the same core services as the REST API with the surface
//! `dashboard`, so policy, audit and metering are the API's own. Sessions and CSRF are in
//! `session.rs`, the page frame in `layout.rs`, the pages in `pages/`.

mod layout;
mod pages;
pub mod session;

use crate::state::AppState;
use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};

const STYLE: &str = include_str!("../../assets/style.css");
const HTMX: &str = include_str!("../../assets/htmx-2.0.7.min.js");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/dashboard") }))
        .route("/assets/style.css", get(|| async { ([(header::CONTENT_TYPE, "text/css")], STYLE).into_response() }))
        .route(
            "/assets/htmx.min.js",
            get(|| async { ([(header::CONTENT_TYPE, "text/javascript")], HTMX).into_response() }),
        )
        .route("/signin", get(pages::signin::show).post(pages::signin::submit))
        .route("/signout", post(pages::signin::sign_out))
        .route("/dashboard", get(pages::home::show))
        .route("/vaults", get(pages::vaults::list).post(pages::vaults::create))
        .route("/vaults/{id}", get(pages::vaults::show))
        .route("/vaults/{id}/secrets", post(pages::vaults::put))
        .route("/vaults/{id}/reveal", post(pages::vaults::reveal))
        .route("/vaults/{id}/hide", get(pages::vaults::hide))
        .route("/vaults/{id}/delete", post(pages::vaults::delete))
}
