//! The PKCS#11 provider against a real SoftHSM2 token. The token comes from the environment
//! (`scripts/softhsm-token.sh`, which `.ci/run` calls); without one these tests say so and pass
//! unless `ONECLAW_REQUIRE_HSM_TESTS=1`, which CI sets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{config, provider};
use oneclaw_core::ids::VaultId;
use oneclaw_core::ports::{DataKey, KeyHealth, KeyProvider};
use oneclaw_pkcs11::{Pkcs11Config, Pkcs11Provider, WrapMechanism};
use zeroize::Zeroizing;

#[tokio::test]
async fn every_kek_is_sensitive_and_can_never_leave_the_hsm() {
    let Some(hsm) = provider(WrapMechanism::AesGcm) else { return };
    let vault = VaultId::generate();
    let kek = hsm.create_kek(vault, 1).await.unwrap();
    let seen = hsm.inspect_kek(&kek).await.unwrap().expect("the KEK exists");
    assert!(seen.token && seen.private, "{seen:?}");
    assert!(seen.sensitive && seen.always_sensitive, "{seen:?}");
    assert!(!seen.extractable && seen.never_extractable, "{seen:?}");
    assert!(!seen.value_readable, "CKA_VALUE of a KEK was readable");
    assert!(!seen.wrappable, "a KEK was wrapped out of the HSM");
    hsm.destroy_kek(&kek).await.unwrap();
}

#[tokio::test]
async fn data_keys_round_trip_under_both_mechanisms_and_refuse_tampering() {
    for mechanism in [WrapMechanism::AesGcm, WrapMechanism::AesKeyWrapPad] {
        let Some(hsm) = provider(mechanism) else { return };
        let vault = VaultId::generate();
        let kek = hsm.create_kek(vault, 1).await.unwrap();
        let dek = DataKey(Zeroizing::new([7u8; 32]));
        let wrapped = hsm.wrap_dek(&kek, &dek, b"org|vault|1|path").await.unwrap();
        assert!(!wrapped.windows(32).any(|w| w == [7u8; 32]), "{mechanism:?} left the key in clear");
        let back = hsm.unwrap_dek(&kek, &wrapped, b"org|vault|1|path").await.unwrap();
        assert_eq!(*back.0, [7u8; 32], "{mechanism:?}");

        let mut tampered = wrapped.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(hsm.unwrap_dek(&kek, &tampered, b"org|vault|1|path").await.is_err(), "{mechanism:?}");
        let other = hsm.create_kek(vault, 2).await.unwrap();
        assert!(hsm.unwrap_dek(&other, &wrapped, b"org|vault|1|path").await.is_err(), "{mechanism:?}");
        if mechanism == WrapMechanism::AesGcm {
            // GCM binds the wrap to the AAD as well.
            assert!(hsm.unwrap_dek(&kek, &wrapped, b"org|vault|2|path").await.is_err());
        }
        hsm.destroy_kek(&kek).await.unwrap();
        hsm.destroy_kek(&other).await.unwrap();
    }
}

#[tokio::test]
async fn a_destroyed_kek_is_gone_and_destroying_again_is_harmless() {
    let Some(hsm) = provider(WrapMechanism::AesGcm) else { return };
    let vault = VaultId::generate();
    let kek = hsm.create_kek(vault, 3).await.unwrap();
    let dek = DataKey(Zeroizing::new([1u8; 32]));
    let wrapped = hsm.wrap_dek(&kek, &dek, b"a").await.unwrap();
    assert_eq!(hsm.count_kek_objects(vault, 3).await.unwrap(), 1);
    // Another node (here: another provider) has the KEK's handle cached when it is destroyed.
    let other_node = provider(WrapMechanism::AesGcm).unwrap();
    assert_eq!(*other_node.unwrap_dek(&kek, &wrapped, b"a").await.unwrap().0, [1u8; 32]);
    hsm.destroy_kek(&kek).await.unwrap();
    assert!(other_node.unwrap_dek(&kek, &wrapped, b"a").await.is_err(), "a cached handle outlived its key");
    assert!(other_node.wrap_dek(&kek, &dek, b"a").await.is_err(), "wrapped under a destroyed key");
    assert_eq!(hsm.count_kek_objects(vault, 3).await.unwrap(), 0);
    assert!(hsm.inspect_kek(&kek).await.unwrap().is_none());
    assert!(hsm.unwrap_dek(&kek, &wrapped, b"a").await.is_err());
    hsm.destroy_kek(&kek).await.unwrap();
}

#[tokio::test]
async fn server_secrets_are_sealed_by_the_token_and_bound_to_their_purpose() {
    let Some(hsm) = provider(WrapMechanism::AesGcm) else { return };
    let sealed = hsm.seal_system_secret("jwt-signing-seed", b"seed-bytes-0123456789").await.unwrap();
    assert!(!sealed.windows(10).any(|w| w == b"seed-bytes"));
    let opened = hsm.unseal_system_secret("jwt-signing-seed", &sealed).await.unwrap();
    assert_eq!(opened.as_slice(), b"seed-bytes-0123456789");
    assert!(hsm.unseal_system_secret("credential-pepper", &sealed).await.is_err());
    // A second provider (another node, same token) opens it too.
    let again = provider(WrapMechanism::AesKeyWrapPad).unwrap();
    assert_eq!(again.unseal_system_secret("jwt-signing-seed", &sealed).await.unwrap().as_slice(), opened.as_slice());
    assert_eq!(hsm.health().await, KeyHealth::Ok);
}

#[tokio::test]
async fn a_token_label_that_is_not_there_stops_start_up_with_a_clear_message() {
    // (A wrong PIN is tested from a fresh process in the CLI suite: PKCS#11 login is per
    // process, so here another test's login would let any PIN through.)
    let Some(good) = config(WrapMechanism::AesGcm) else { return };
    let wrong_label = Pkcs11Config { token_label: "no-such-token".to_owned(), ..good };
    let err = Pkcs11Provider::connect(wrong_label).unwrap_err().to_string();
    assert!(err.contains("no HSM token is labelled \"no-such-token\""), "{err}");
}
