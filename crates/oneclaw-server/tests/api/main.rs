//! API integration tests: each drives a real server from `oneclaw_testkit::spawn_app()`.
//! They run on SQLite, and on PostgreSQL when `ONECLAW_TEST_DATABASE_URL` is set.
//! One binary on purpose: every extra test binary costs a link on a 2-core machine.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod agents;
mod api_keys;
mod approvals;
mod attacks;
mod audit;
mod audit_chain;
mod auth;
mod authz;
mod bad_input;
mod billing;
mod dashboard;
mod dashboard_billing;
mod dashboard_env;
mod dashboard_intents;
mod device;
mod echo;
mod env_vars;
mod errors;
mod faults;
mod health;
mod hsm_outage;
mod intents;
mod key_rotation;
mod mail;
mod mcp_tools;
mod metering;
mod mfa;
mod openapi;
mod policies;
mod secrets;
mod shares;
mod store_calls;
mod team;
mod tokens;
mod vaults;
mod webhooks;
