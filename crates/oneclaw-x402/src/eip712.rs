//! EIP-712 for EIP-3009 `TransferWithAuthorization` (what an x402 "exact" EVM payment signs),
//! and recovery of its signer. Only low-s signatures are accepted: the high-s twin of a valid
//! signature recovers to the same address and would otherwise be a second, different-looking
//! proof of one payment (USDC itself rejects it on chain).

use crate::Refusal;
use alloy_primitives::{Address, B256, Signature, U256};
use alloy_sol_types::{Eip712Domain, SolStruct, sol};

sol! {
    /// EIP-3009's signed message.
    struct TransferWithAuthorization {
        address from;
        address to;
        uint256 value;
        uint256 validAfter;
        uint256 validBefore;
        bytes32 nonce;
    }
}

/// The token's EIP-712 domain (from our configuration, never from the client).
pub fn domain(name: &str, version: &str, chain_id: u64, token: Address) -> Eip712Domain {
    Eip712Domain::new(
        Some(name.to_owned().into()),
        Some(version.to_owned().into()),
        Some(U256::from(chain_id)),
        Some(token),
        None,
    )
}

/// The digest a wallet signs.
pub fn digest(message: &TransferWithAuthorization, domain: &Eip712Domain) -> B256 {
    message.eip712_signing_hash(domain)
}

/// The address that signed `digest`; a malformed or high-s signature is refused.
pub fn recover(digest: &B256, signature: &[u8]) -> Result<Address, Refusal> {
    let invalid = |why: &str| Refusal::new("invalid_exact_evm_payload_signature", why.to_owned());
    let bytes: &[u8; 65] = signature.try_into().map_err(|_| invalid("the signature is not 65 bytes"))?;
    let signature = Signature::from_raw_array(bytes).map_err(|_| invalid("the signature is malformed"))?;
    if signature.normalize_s().is_some() {
        return Err(invalid("the signature has a high s value (a malleated twin)"));
    }
    signature.recover_address_from_prehash(digest).map_err(|_| invalid("no signer can be recovered"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{address, b256, hex};

    /// The vector of shared/reference/x402-billing.md §2 (eth_account, key 0x11…11).
    fn vector() -> (TransferWithAuthorization, Eip712Domain, Vec<u8>) {
        let message = TransferWithAuthorization {
            from: address!("19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A"),
            to: address!("209693Bc6afc0C5328bA36FaF03C514EF312287C"),
            value: U256::from(1000),
            validAfter: U256::ZERO,
            validBefore: U256::from(1_900_000_000u64),
            nonce: B256::ZERO,
        };
        let domain = domain("USD Coin", "2", 8453, address!("833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"));
        let signature = hex::decode(
            "5f618409fd922c4beb68c648de00901bc1e1c4c6e0b1446312b1e6ac09124de2359eaf9a04047bc3d61e636adaeecd0683ecdac038b7eae600bd9ab85e0166ef1b",
        )
        .unwrap();
        (message, domain, signature)
    }

    #[test]
    fn the_digest_and_signer_match_the_reference_vector() {
        let (message, domain, signature) = vector();
        assert_eq!(domain.separator(), b256!("02fa7265e7c5d81118673727957699e4d68f74cd74b7db77da710fe8a2c7834f"));
        assert_eq!(
            message.eip712_hash_struct(),
            b256!("ba24bd75b267376b6f21919a88324d9299a6162a06248b9a03f2aad84957149d")
        );
        let digest = digest(&message, &domain);
        assert_eq!(digest, b256!("98bf267cbdf32183035d3c387bc97394c48361f569585873ae191d91cfc0d96e"));
        assert_eq!(recover(&digest, &signature).unwrap(), message.from);
    }

    #[test]
    fn a_high_s_twin_and_a_tampered_signature_are_refused() {
        let (message, domain, signature) = vector();
        let digest = digest(&message, &domain);
        // s' = n - s, v flipped: the same signer, a different byte string.
        let n = U256::from_str_radix("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", 16).unwrap();
        let s = U256::from_be_slice(&signature[32..64]);
        let mut twin = signature.clone();
        twin[32..64].copy_from_slice(&(n - s).to_be_bytes::<32>());
        twin[64] = if signature[64] == 27 { 28 } else { 27 };
        let refused = recover(&digest, &twin).unwrap_err();
        assert!(refused.message.contains("high s"), "{refused}");
        let mut tampered = signature.clone();
        tampered[10] ^= 1;
        assert_ne!(recover(&digest, &tampered).ok(), Some(message.from));
        assert!(recover(&digest, &signature[..64]).is_err());
    }
}
