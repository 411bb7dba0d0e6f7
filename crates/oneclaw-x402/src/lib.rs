//! x402 "exact" payments in USDC on Base, as a server takes them:
//!
//! - `requirements`: what a 402 asks for (v2 `PAYMENT-REQUIRED` header, and a JSON body the
//!   1claw SDKs read);
//! - `payload`: the client's `PAYMENT-SIGNATURE` (v2) or `X-PAYMENT` (v1, base64 or raw JSON);
//! - `eip712`: the EIP-3009 `TransferWithAuthorization` digest and signer recovery;
//! - `verify`: the offline checks (scheme, network, asset, recipient, amount, time window,
//!   low-s signature by `from`), against the server's own configuration only;
//! - `facilitator`: settlement through a facilitator's `/verify` and `/settle`.

pub mod eip712;
pub mod facilitator;
pub mod payload;
pub mod requirements;
pub mod verify;

/// Base mainnet, as CAIP-2.
pub const BASE_NETWORK: &str = "eip155:8453";
/// Base's chain id.
pub const BASE_CHAIN_ID: u64 = 8453;
/// USDC on Base.
pub const BASE_USDC: &str = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913";
/// USDC's EIP-712 domain name and version on Base.
pub const USDC_DOMAIN_NAME: &str = "USD Coin";
pub const USDC_DOMAIN_VERSION: &str = "2";

/// Why a payment was refused: an x402 error code and words for a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}
