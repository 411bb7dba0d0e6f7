//! The header by which a first-party client (the MCP server's HTTP backend) names the surface
//! a request came through, so audit records and metering tell MCP calls from direct API calls.

/// Request header naming the surface: `mcp` (anything else is the API).
pub const SURFACE_HEADER: &str = "x-oneclaw-surface";
