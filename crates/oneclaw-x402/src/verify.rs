//! The offline checks of an `exact` EVM payment against what we asked for, in the order of the
//! x402 facilitator's own `verify`: scheme and network, the accepted requirements (asset,
//! recipient, amount), the time window, and a low-s signature by `from` over the EIP-712
//! digest built from our configuration. What passes still has to be settled; replay is
//! stopped by consuming (chain, asset, from, nonce) once, which the caller does atomically.

use crate::eip712::{self, TransferWithAuthorization};
use crate::payload::PaymentPayload;
use crate::requirements::PaymentRequirements;
use crate::{BASE_CHAIN_ID, Refusal, USDC_DOMAIN_NAME, USDC_DOMAIN_VERSION};
use alloy_primitives::{Address, B256, U256};

/// Seconds a payment must still be valid for when it arrives (as the x402 facilitator allows).
const MIN_VALIDITY_SECS: u64 = 6;

/// A payment that passed every offline check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPayment {
    /// The payer, checksummed.
    pub payer: String,
    /// The EIP-3009 nonce, 0x-hex lower case.
    pub nonce: String,
    pub valid_before: u64,
    pub amount: u64,
}

fn parse_address(field: &str, text: &str) -> Result<Address, Refusal> {
    text.parse().map_err(|_| Refusal::new("invalid_payload", format!("{field} is not an address")))
}

fn parse_u256(field: &str, text: &str) -> Result<U256, Refusal> {
    U256::from_str_radix(text, 10).map_err(|_| Refusal::new("invalid_payload", format!("{field} is not a number")))
}

/// Checks `payment` against the requirements we offered, at unix time `now`.
pub fn verify(payment: &PaymentPayload, offered: &PaymentRequirements, now: u64) -> Result<VerifiedPayment, Refusal> {
    if payment.scheme != "exact" {
        return Err(Refusal::new("unsupported_scheme", format!("scheme {:?} is not offered", payment.scheme)));
    }
    let network_ok = payment.network == offered.network || (payment.x402_version == 1 && payment.network == "base");
    if !network_ok {
        return Err(Refusal::new("invalid_network", format!("network {:?} is not offered", payment.network)));
    }
    if let Some(accepted) = &payment.accepted
        && (!accepted.asset.eq_ignore_ascii_case(&offered.asset)
            || !accepted.pay_to.eq_ignore_ascii_case(&offered.pay_to)
            || accepted.amount != offered.amount)
    {
        return Err(Refusal::new(
            "invalid_payment_requirements",
            "the accepted requirements are not the ones offered (asset, recipient or amount)",
        ));
    }
    let auth = &payment.payload.authorization;
    let to = parse_address("to", &auth.to)?;
    let pay_to = parse_address("payTo", &offered.pay_to)?;
    if to != pay_to {
        return Err(Refusal::new("invalid_exact_evm_payload_recipient_mismatch", "the payment is not to our address"));
    }
    let value = parse_u256("value", &auth.value)?;
    let amount: u64 = offered.amount.parse().map_err(|_| Refusal::new("invalid_payment_requirements", "bad amount"))?;
    if value != U256::from(amount) {
        return Err(Refusal::new(
            "invalid_exact_evm_payload_authorization_value_mismatch",
            format!("the payment is for {value} units, the price is {amount}"),
        ));
    }
    let valid_after = parse_u256("validAfter", &auth.valid_after)?;
    let valid_before = parse_u256("validBefore", &auth.valid_before)?;
    if valid_before < U256::from(now + MIN_VALIDITY_SECS) {
        return Err(Refusal::new("invalid_exact_evm_payload_authorization_valid_before", "the payment has expired"));
    }
    if valid_after > U256::from(now) {
        return Err(Refusal::new(
            "invalid_exact_evm_payload_authorization_valid_after",
            "the payment is not valid yet",
        ));
    }
    let nonce: B256 =
        auth.nonce.parse().map_err(|_| Refusal::new("invalid_payload", "nonce is not 32 bytes of hex"))?;
    let from = parse_address("from", &auth.from)?;
    let signature = alloy_primitives::hex::decode(payment.payload.signature.trim_start_matches("0x"))
        .map_err(|_| Refusal::new("invalid_exact_evm_payload_signature", "the signature is not hex"))?;
    let message =
        TransferWithAuthorization { from, to, value, validAfter: valid_after, validBefore: valid_before, nonce };
    let asset = parse_address("asset", &offered.asset)?;
    let domain = eip712::domain(USDC_DOMAIN_NAME, USDC_DOMAIN_VERSION, BASE_CHAIN_ID, asset);
    let signer = eip712::recover(&eip712::digest(&message, &domain), &signature)?;
    if signer != from {
        return Err(Refusal::new("invalid_exact_evm_payload_signature", "the signature is not by the payer"));
    }
    Ok(VerifiedPayment {
        payer: from.to_checksum(None),
        nonce: format!("{nonce:#x}"),
        valid_before: valid_before.try_into().unwrap_or(u64::MAX),
        amount,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::decode;
    use crate::requirements::PaymentRequired;

    const PAY_TO: &str = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";
    const SIGNATURE: &str = "0x5f618409fd922c4beb68c648de00901bc1e1c4c6e0b1446312b1e6ac09124de2359eaf9a04047bc3d61e636adaeecd0683ecdac038b7eae600bd9ab85e0166ef1b";

    /// The reference vector's payment, claiming `offered` as accepted.
    fn vector_payment(offered: &PaymentRequirements) -> PaymentPayload {
        let json = serde_json::json!({"x402Version": 2, "accepted": offered, "payload": {"signature": SIGNATURE,
            "authorization": {"from": "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A", "to": PAY_TO, "value": "1000",
            "validAfter": "0", "validBefore": "1900000000",
            "nonce": "0x0000000000000000000000000000000000000000000000000000000000000000"}}});
        decode(&json.to_string()).unwrap()
    }

    fn offer(amount: u64, pay_to: &str) -> PaymentRequirements {
        PaymentRequired::usdc_on_base(amount, pay_to, "http://h/x", "read_secret", "").accepts.remove(0)
    }

    #[test]
    fn the_reference_payment_verifies_and_each_wrong_field_is_named() {
        let now = 1_800_000_000;
        let good = offer(1000, PAY_TO);
        let verified = verify(&vector_payment(&good), &good, now).unwrap();
        assert_eq!(verified.payer, "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A");
        assert_eq!((verified.amount, verified.valid_before), (1000, 1_900_000_000));

        let dearer = offer(5000, PAY_TO);
        assert_eq!(
            verify(&vector_payment(&dearer), &dearer, now).unwrap_err().code,
            "invalid_exact_evm_payload_authorization_value_mismatch"
        );
        let elsewhere = offer(1000, "0x000000000000000000000000000000000000dEaD");
        assert_eq!(
            verify(&vector_payment(&elsewhere), &elsewhere, now).unwrap_err().code,
            "invalid_exact_evm_payload_recipient_mismatch"
        );
        assert_eq!(verify(&vector_payment(&good), &dearer, now).unwrap_err().code, "invalid_payment_requirements");
        assert_eq!(
            verify(&vector_payment(&good), &good, 1_899_999_999).unwrap_err().code,
            "invalid_exact_evm_payload_authorization_valid_before"
        );
    }
}
