//! The `/v1` routes, one module per resource. Handlers extract, call one core service, and map
//! the result; no SQL, crypto or access rules live here.

pub(crate) mod account;
mod agents;
mod api_keys;
pub(crate) mod approvals;
pub mod audit;
mod auth;
pub(crate) mod device;
mod env_vars;
pub(crate) mod health;
mod intents;
pub(crate) mod mfa;
mod org;
mod params;
pub(crate) mod policies;
pub(crate) mod secrets;
pub(crate) mod shares;
mod vaults;
mod webhooks;

use crate::error::ApiError;
use crate::state::AppState;
use axum::Router;
use axum::http::StatusCode;

/// Every route of the API.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(health::routes())
        .merge(auth::routes())
        .merge(device::routes())
        .merge(account::routes())
        .merge(mfa::routes())
        .merge(api_keys::routes())
        .merge(vaults::routes())
        .merge(secrets::routes())
        .merge(env_vars::routes())
        .merge(agents::routes())
        .merge(policies::routes())
        .merge(approvals::routes())
        .merge(webhooks::routes())
        .merge(intents::routes())
        .merge(org::routes())
        .merge(shares::routes())
        .merge(audit::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "No such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "This route does not accept that method")
}
