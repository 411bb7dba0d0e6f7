//! RFC 7807 ProblemDetails: the body of every error response.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An error body: `{type, title, status, detail}` plus optional per-field messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemDetails {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, String>>,
}
