//! The SoftHSM2 token of the environment (`scripts/softhsm-token.sh`, which `.ci/run` calls),
//! shared by the test binaries of this crate. Without one a test says so and passes, unless
//! `ONECLAW_REQUIRE_HSM_TESTS=1` (CI), where a missing token fails it.

use oneclaw_pkcs11::{Pkcs11Config, Pkcs11Provider, WrapMechanism};
use std::time::Duration;
use zeroize::Zeroizing;

pub fn config(mechanism: WrapMechanism) -> Option<Pkcs11Config> {
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

pub fn provider(mechanism: WrapMechanism) -> Option<Pkcs11Provider> {
    config(mechanism).map(|config| Pkcs11Provider::connect(config).unwrap())
}
