//! What a 402 asks for. The v2 form travels base64-encoded in the `PAYMENT-REQUIRED` header
//! (what the official x402 clients pay); the body carries the same requirements in the
//! 1claw shape (`x402Version`, `error`, `accepts` with `maxAmountRequired`, `resource`,
//! `description`) for the 1claw SDKs and for people.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// One way to pay (v2 `PaymentRequirements`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequirements {
    pub scheme: String,
    pub network: String,
    /// Atomic units of the asset (USDC: 6 decimals), as a decimal string.
    pub amount: String,
    pub asset: String,
    pub pay_to: String,
    pub max_timeout_seconds: u64,
    pub extra: serde_json::Value,
}

/// The resource being paid for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceInfo {
    pub url: String,
    pub description: String,
    pub mime_type: String,
}

/// The v2 `PaymentRequired` object.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequired {
    pub x402_version: u32,
    pub error: String,
    pub resource: ResourceInfo,
    pub accepts: Vec<PaymentRequirements>,
}

impl PaymentRequired {
    /// The one way oneclaw takes payment: `exact`, USDC on Base, `amount` atomic units to `pay_to`.
    pub fn usdc_on_base(amount: u64, pay_to: &str, resource_url: &str, operation: &str, error: &str) -> Self {
        Self {
            x402_version: 2,
            error: error.to_owned(),
            resource: ResourceInfo {
                url: resource_url.to_owned(),
                description: operation.to_owned(),
                mime_type: "application/json".to_owned(),
            },
            accepts: vec![PaymentRequirements {
                scheme: "exact".to_owned(),
                network: crate::BASE_NETWORK.to_owned(),
                amount: amount.to_string(),
                asset: crate::BASE_USDC.to_owned(),
                pay_to: pay_to.to_owned(),
                max_timeout_seconds: 300,
                extra: serde_json::json!({"name": crate::USDC_DOMAIN_NAME, "version": crate::USDC_DOMAIN_VERSION}),
            }],
        }
    }

    /// The `PAYMENT-REQUIRED` header value: base64 of the JSON.
    pub fn header_value(&self) -> String {
        STANDARD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// The 402 body: the 1claw shape (what its SDKs read), with the v2 fields alongside.
    pub fn body(&self) -> serde_json::Value {
        let accepts: Vec<serde_json::Value> = self
            .accepts
            .iter()
            .map(|r| {
                serde_json::json!({
                    "scheme": r.scheme, "network": r.network, "maxAmountRequired": r.amount, "amount": r.amount,
                    "price": usd(&r.amount), "resource": self.resource.url, "description": self.resource.description,
                    "mimeType": self.resource.mime_type, "payTo": r.pay_to, "maxTimeoutSeconds": r.max_timeout_seconds,
                    "asset": r.asset, "extra": r.extra,
                })
            })
            .collect();
        serde_json::json!({
            "x402Version": self.x402_version,
            "error": self.error,
            "resource": self.resource,
            "accepts": accepts,
            "description": self.resource.description,
        })
    }
}

/// Atomic USDC units as a USD string ("1000" → "0.001").
pub fn usd(atomic: &str) -> String {
    let units: u64 = atomic.parse().unwrap_or(0);
    let text = format!("{}.{:06}", units / 1_000_000, units % 1_000_000);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_base64_json_and_the_body_has_the_1claw_fields() {
        let required = PaymentRequired::usdc_on_base(1000, "0xabc", "http://h/v1/x", "read_secret", "quota used up");
        let decoded: serde_json::Value =
            serde_json::from_slice(&STANDARD.decode(required.header_value()).unwrap()).unwrap();
        assert_eq!(decoded["x402Version"], 2);
        assert_eq!(decoded["accepts"][0]["amount"], "1000");
        assert_eq!(decoded["accepts"][0]["payTo"], "0xabc");
        assert_eq!(decoded["accepts"][0]["extra"]["name"], "USD Coin");
        let body = required.body();
        assert_eq!(body["accepts"][0]["maxAmountRequired"], "1000");
        assert_eq!(body["accepts"][0]["price"], "0.001");
        assert_eq!(body["description"], "read_secret");
        assert_eq!(usd("500"), "0.0005");
        assert_eq!(usd("5000"), "0.005");
    }
}
