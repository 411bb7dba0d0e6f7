//! Billing over HTTP: the metering layer in front of the REST API (`meter.rs`: one count per
//! authenticated request, quota headers, credits or x402 past the allowance), the x402 payment
//! flow (`x402.rs`), and the `/v1/billing` routes (`routes.rs`). MCP requests are metered by
//! the `/mcp` admission layer with the same service, so every surface shares one counter.

mod meter;
mod routes;
mod x402;

pub use meter::{BillingLayer, meter, quota_headers};
pub use routes::routes;

use axum::http::Method;
use oneclaw_core::billing::PaidOperation;

/// The paid operation a REST request is, if any (1claw's paid routes).
pub fn paid_operation(method: &Method, path: &str) -> Option<PaidOperation> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (&Method::GET, ["v1", "vaults", _, "secrets", _, ..]) => Some(PaidOperation::ReadSecret),
        (&Method::GET, ["v1", "vaults", _, "secret-version", _, ..]) => Some(PaidOperation::ReadSecret),
        (&Method::PUT, ["v1", "vaults", _, "secrets", _, ..]) => Some(PaidOperation::WriteSecret),
        (&Method::POST, ["v1", "vaults", _, "secret-rotate", _, ..]) => Some(PaidOperation::WriteSecret),
        (&Method::POST, ["v1", "secrets", _, "share"]) => Some(PaidOperation::CreateShare),
        (&Method::GET, ["v1", "audit", "events"]) => Some(PaidOperation::AuditQuery),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paid_routes_are_recognised() {
        let read = paid_operation(&Method::GET, "/v1/vaults/v/secrets/api-keys/stripe");
        assert_eq!(read, Some(PaidOperation::ReadSecret));
        assert_eq!(paid_operation(&Method::GET, "/v1/vaults/v/secrets"), None, "listing is free");
        assert_eq!(paid_operation(&Method::PUT, "/v1/vaults/v/secrets/a"), Some(PaidOperation::WriteSecret));
        assert_eq!(paid_operation(&Method::POST, "/v1/secrets/s/share"), Some(PaidOperation::CreateShare));
        assert_eq!(paid_operation(&Method::GET, "/v1/audit/events"), Some(PaidOperation::AuditQuery));
        assert_eq!(paid_operation(&Method::GET, "/v1/vaults"), None);
    }
}
