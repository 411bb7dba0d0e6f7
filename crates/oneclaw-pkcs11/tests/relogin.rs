//! Self-healing of the PKCS#11 provider against a real SoftHSM2 token (a binary of its own,
//! because logging out is process-wide). The token comes from the environment.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use oneclaw_core::ids::VaultId;
use oneclaw_core::ports::{DataKey, KeyHealth, KeyProvider};
use oneclaw_pkcs11::{Pkcs11Config, Pkcs11Provider, WrapMechanism};
use std::time::Duration;
use zeroize::Zeroizing;

fn config(mechanism: WrapMechanism) -> Option<Pkcs11Config> {
    let module = std::env::var("ONECLAW_PKCS11_MODULE").ok();
    let label = std::env::var("ONECLAW_PKCS11_TOKEN_LABEL").ok();
    let pin = std::env::var("ONECLAW_PKCS11_PIN").ok();
    match (module, label, pin) {
        (Some(module), Some(token_label), Some(pin)) => Some(Pkcs11Config {
            module: module.into(),
            token_label,
            pin: Zeroizing::new(pin),
            sessions: 2,
            mechanism,
            call_timeout: Duration::from_secs(5),
        }),
        _ => {
            assert!(
                std::env::var("ONECLAW_REQUIRE_HSM_TESTS").as_deref() != Ok("1"),
                "ONECLAW_REQUIRE_HSM_TESTS=1 but no token: eval \"$(scripts/softhsm-token.sh DIR)\" first"
            );
            eprintln!("no SoftHSM token in the environment; see scripts/softhsm-token.sh");
            None
        }
    }
}

fn provider(mechanism: WrapMechanism) -> Option<Pkcs11Provider> {
    config(mechanism).map(|config| Pkcs11Provider::connect(config).unwrap())
}

#[tokio::test]
async fn a_provider_whose_login_was_lost_logs_in_again_by_itself() {
    let Some(hsm) = provider(WrapMechanism::AesGcm) else { return };
    let vault = VaultId::generate();
    let kek = hsm.create_kek(vault, 1).await.unwrap();
    let dek = DataKey(Zeroizing::new([5u8; 32]));
    let wrapped = hsm.wrap_dek(&kek, &dek, b"x").await.unwrap();
    // Another provider in the process logs the application out, as an HSM restart would:
    // every open session of `hsm` is left without its login.
    let other = provider(WrapMechanism::AesGcm).unwrap();
    other.close_sessions();
    assert_eq!(*hsm.unwrap_dek(&kek, &wrapped, b"x").await.unwrap().0, [5u8; 32]);
    assert_eq!(hsm.health().await, KeyHealth::Degraded("HSM calls failed within the last 30 seconds".to_owned()));
    hsm.destroy_kek(&kek).await.unwrap();
}
