//! The alphabets a server-generated secret value may be drawn from (rotation), shared by the
//! API, the MCP tools and the core that draws the value.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Charset {
    Hex,
    Base64,
    Alphanumeric,
    Ascii,
}

impl Charset {
    /// Every charset, in the order the API documents them.
    pub const ALL: [Self; 4] = [Self::Hex, Self::Base64, Self::Alphanumeric, Self::Ascii];

    /// The wire name: `hex`, `base64`, `alphanumeric` or `ascii`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hex => "hex",
            Self::Base64 => "base64",
            Self::Alphanumeric => "alphanumeric",
            Self::Ascii => "ascii",
        }
    }

    /// The charset with this wire name, if any.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|charset| charset.as_str() == name)
    }
}
