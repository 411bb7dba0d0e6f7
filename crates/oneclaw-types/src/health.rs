//! Health check responses.

use serde::{Deserialize, Serialize};

/// `GET /v1/health`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HealthResponse {
    pub status: String,
    pub version: String,
}

/// `GET /v1/health/hsm`: `ok`, `degraded` or `unavailable`, which provider (`local`, `pkcs11`),
/// and how much work went to it since the server started.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HsmHealthResponse {
    pub status: String,
    pub provider: String,
    pub operations: HsmOperations,
}

/// Key-provider operation counts since start.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct HsmOperations {
    /// Data keys unwrapped in the provider (cold reads, rotations).
    pub unwraps: u64,
    /// Data keys wrapped in the provider (writes, rotations).
    pub wraps: u64,
    /// Reads whose data key came from the in-memory cache: no provider call.
    pub dek_cache_hits: u64,
}
