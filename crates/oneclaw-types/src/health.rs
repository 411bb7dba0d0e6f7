//! Health check responses.

use serde::{Deserialize, Serialize};

/// `GET /v1/health`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthResponse {
    pub status: String,
    pub version: String,
}

/// `GET /v1/health/hsm` (1claw's schema): `ok`, `degraded` or `unavailable`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HsmHealthResponse {
    pub status: String,
}

/// `GET /v1/health/key-provider` (our route): the status and which provider (`local`,
/// `pkcs11`). Its operation counts are on `/metrics`, off the API port: anyone may ask here,
/// and live counts of every tenant's reads and writes are nobody's business on the open API.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyProviderHealthResponse {
    pub status: String,
    pub provider: String,
}

/// `GET /v1/health/ready`: whether this node can serve requests now (`ready` or `not_ready`),
/// and each part it needs: `ok` or `failing`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReadinessResponse {
    pub status: String,
    pub checks: ReadinessChecks,
}

/// The parts a request needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReadinessChecks {
    /// The database answers a query.
    pub database: String,
    /// The key provider is not unavailable (degraded still serves).
    pub key_provider: String,
    /// A write transaction opens, as the audit log needs for every request.
    pub audit: String,
}
