//! The time limit on HSM calls, on the real SoftHSM2 token of the environment: an HSM call that
//! does not return (simulated by holding the process's object lock from another thread, where a
//! hung `C_*` call would sit) fails at the limit as Unavailable (a 503), health says so, and the
//! provider works again by itself once the HSM answers. SoftHSM2 itself cannot be made to hang.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::context::{self, Overlap};
use crate::{Pkcs11Config, Pkcs11Provider, WrapMechanism};
use oneclaw_core::Error;
use oneclaw_core::ids::VaultId;
use oneclaw_core::ports::{DataKey, KeyHealth, KeyProvider};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

const LIMIT: Duration = Duration::from_millis(300);

fn config_from_env() -> Option<Pkcs11Config> {
    let (Ok(module), Ok(token_label), Ok(pin)) = (
        std::env::var("ONECLAW_PKCS11_MODULE"),
        std::env::var("ONECLAW_PKCS11_TOKEN_LABEL"),
        std::env::var("ONECLAW_PKCS11_PIN"),
    ) else {
        assert!(
            std::env::var("ONECLAW_REQUIRE_HSM_TESTS").as_deref() != Ok("1"),
            "ONECLAW_REQUIRE_HSM_TESTS=1 but no token"
        );
        eprintln!("no SoftHSM token in the environment; see scripts/softhsm-token.sh");
        return None;
    };
    Some(Pkcs11Config {
        module: module.into(),
        token_label,
        pin: Zeroizing::new(pin),
        sessions: 2,
        mechanism: WrapMechanism::AesGcm,
        call_timeout: LIMIT,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_the_hsm_does_not_answer_fails_at_the_time_limit_and_service_resumes() {
    let Some(config) = config_from_env() else { return };
    let hsm = Pkcs11Provider::connect(config).unwrap();
    let kek = hsm.create_kek(VaultId::generate(), 1).await.unwrap();
    let dek = DataKey(Zeroizing::new([7u8; 32]));
    let wrapped = hsm.wrap_dek(&kek, &dek, b"aad").await.unwrap();

    let (held, hold_started) = std::sync::mpsc::channel();
    let hung = std::thread::spawn(move || {
        context::with_overlap(Overlap::Exclusive, || {
            held.send(()).unwrap();
            std::thread::sleep(Duration::from_secs(2));
            Ok(())
        })
    });
    hold_started.recv().unwrap();

    let started = Instant::now();
    let refused = hsm.unwrap_dek(&kek, &wrapped, b"aad").await.unwrap_err();
    let waited = started.elapsed();
    assert!(
        matches!(&refused, Error::Unavailable(detail) if detail.contains("did not answer within 300 ms")),
        "{refused:?}"
    );
    // One try and one retry on a fresh session, each cut at the limit: well under the hang.
    assert!(waited >= LIMIT && waited < Duration::from_millis(1_500), "waited {waited:?}");
    assert!(matches!(hsm.health().await, KeyHealth::Unavailable(_)), "health during the hang");

    hung.join().unwrap().unwrap();
    assert_eq!(*hsm.unwrap_dek(&kek, &wrapped, b"aad").await.unwrap().0, [7u8; 32], "the HSM answers again");
    assert!(matches!(hsm.health().await, KeyHealth::Degraded(_)), "recent failures are still reported");
    hsm.destroy_kek(&kek).await.unwrap();
}
