//! Self-healing of the PKCS#11 provider against a real SoftHSM2 token (a binary of its own,
//! because logging out is process-wide). The token comes from the environment.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::provider;
use oneclaw_core::ids::VaultId;
use oneclaw_core::ports::{DataKey, KeyHealth, KeyProvider};
use oneclaw_pkcs11::WrapMechanism;
use zeroize::Zeroizing;

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
