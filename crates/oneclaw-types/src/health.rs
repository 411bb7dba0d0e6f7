//! Health check responses.

use serde::{Deserialize, Serialize};

/// `GET /v1/health`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HealthResponse {
    pub status: String,
    pub version: String,
}

/// `GET /v1/health/hsm`: `ok`, `degraded` or `unavailable`, and which provider (`local`, `pkcs11`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HsmHealthResponse {
    pub status: String,
    pub provider: String,
}
