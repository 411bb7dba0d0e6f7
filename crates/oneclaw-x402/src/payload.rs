//! The client's payment: `PAYMENT-SIGNATURE` (v2) or `X-PAYMENT` (v1, or a v2 payload sent
//! there), base64 of JSON, or raw JSON as the 1claw TypeScript SDK sends it.

use crate::Refusal;
use crate::requirements::PaymentRequirements;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

/// EIP-3009 authorization fields, all decimal or hex strings as sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Authorization {
    pub from: String,
    pub to: String,
    pub value: String,
    pub valid_after: String,
    pub valid_before: String,
    pub nonce: String,
}

/// The scheme-specific part: the authorization and its signature.
#[derive(Debug, Clone, Deserialize)]
pub struct ExactPayload {
    pub signature: String,
    pub authorization: Authorization,
}

/// A decoded payment, either version.
#[derive(Debug, Clone)]
pub struct PaymentPayload {
    pub x402_version: u32,
    pub scheme: String,
    pub network: String,
    /// v2: the requirements the client says it chose.
    pub accepted: Option<PaymentRequirements>,
    pub payload: ExactPayload,
    /// The JSON as received, for the facilitator.
    pub raw: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire {
    x402_version: u32,
    #[serde(default)]
    scheme: Option<String>,
    #[serde(default)]
    network: Option<String>,
    #[serde(default)]
    accepted: Option<PaymentRequirements>,
    payload: ExactPayload,
}

/// Decodes a payment header.
pub fn decode(header: &str) -> Result<PaymentPayload, Refusal> {
    let malformed = |why: String| Refusal::new("invalid_payload", why);
    let text = header.trim();
    let json: serde_json::Value = match STANDARD.decode(text) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|err| malformed(format!("not base64 JSON: {err}")))?,
        Err(_) => serde_json::from_str(text).map_err(|err| malformed(format!("neither base64 nor JSON: {err}")))?,
    };
    let wire: Wire =
        serde_json::from_value(json.clone()).map_err(|err| malformed(format!("unexpected shape: {err}")))?;
    let (scheme, network) = match (&wire.accepted, wire.scheme, wire.network) {
        (Some(accepted), _, _) => (accepted.scheme.clone(), accepted.network.clone()),
        (None, Some(scheme), Some(network)) => (scheme, network),
        _ => return Err(malformed("scheme and network are missing".to_owned())),
    };
    if !matches!(wire.x402_version, 1 | 2) {
        return Err(Refusal::new(
            "invalid_x402_version",
            format!("x402 version {} is not supported", wire.x402_version),
        ));
    }
    Ok(PaymentPayload {
        x402_version: wire.x402_version,
        scheme,
        network,
        accepted: wire.accepted,
        payload: wire.payload,
        raw: json,
    })
}

#[cfg(test)]
mod fuzz_tests {
    //! Payment headers come from anyone: decoding and verifying arbitrary ones never panics.
    //! A short seeded pass runs in CI; the long run is in docs/FUZZING.md.
    use super::*;
    use proptest::prelude::*;

    fn header() -> impl Strategy<Value = String> {
        prop_oneof![
            "\\PC{0,200}",
            "[A-Za-z0-9+/=]{0,300}",
            proptest::collection::vec(
                prop_oneof![
                    Just(r#""x402Version":2"#.to_owned()),
                    Just(r#""x402Version":1"#.to_owned()),
                    Just(r#""scheme":"exact""#.to_owned()),
                    Just(r#""network":"base""#.to_owned()),
                    Just(r#""accepted":{"scheme":"exact","network":"eip155:8453"}"#.to_owned()),
                    Just(r#""payload":{"signature":"0x00","authorization":{"from":"0x1","to":"0x2","value":"1","validAfter":"0","validBefore":"99999999999","nonce":"0x3"}}"#.to_owned()),
                    "\"[a-zA-Z]{1,8}\":[0-9]{1,20}",
                ],
                0..6,
            )
            .prop_map(|fields| format!("{{{}}}", fields.join(","))),
        ]
    }

    proptest! {
        #[test]
        fn fuzz_payment_headers_never_panic(text in header(), base64 in any::<bool>()) {
            let sent = if base64 { STANDARD.encode(text.as_bytes()) } else { text };
            if let Ok(payment) = decode(&sent) {
                let offered = crate::requirements::PaymentRequired::usdc_on_base(
                    1000, "0x0000000000000000000000000000000000000001", "/v1/x", "read_secret", "",
                );
                for requirements in offered.accepts.iter() {
                    let _ = crate::verify::verify(&payment, requirements, 1_700_000_000);
                }
            }
        }
    }
}
