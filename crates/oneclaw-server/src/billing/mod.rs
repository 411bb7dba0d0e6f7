//! Billing over HTTP: the metering layer in front of the REST API (`meter.rs`: one count per
//! authenticated request, quota headers, and the `Charge` the paid services pay through), the
//! x402 payment flow (`x402.rs`), and the `/v1/billing` routes (`routes.rs`). MCP requests are
//! metered by the `/mcp` admission layer and dashboard pages by their session, with the same
//! service, so every surface shares one counter; which operations are paid is the core's word.

mod meter;
pub(crate) mod routes;
mod x402;

pub use meter::{BillingLayer, meter, quota_headers};
pub use routes::routes;
