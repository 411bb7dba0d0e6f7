//! The oneclaw HTTP server: the `/v1` API of the 1claw protocol on axum.
//!
//! This crate is the composition root: the only one that names concrete store and key backends
//! (`app`). Handlers live in `routes`, one module per resource; `error` is the one place a
//! domain error becomes an HTTP status; `extract` turns requests into callers and bodies.

pub mod app;
pub mod billing;
pub mod config;
pub mod dashboard;
pub mod error;
pub mod extract;
pub mod identity;
pub mod intents;
pub mod keys;
mod listener;
pub mod mail;
pub mod mcp;
pub mod metrics;
pub mod oidc;
pub mod openapi;
pub mod proxy;
pub mod request_context;
pub mod routes;
mod scheduler;
pub mod state;
pub mod tls;
mod views;
pub mod webhooks;

pub use app::App;
pub use config::{ConfigSources, ServerConfig};
