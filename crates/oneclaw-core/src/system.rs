//! Server secrets (the JWT signing seed, the credential pepper): created once, sealed by the key
//! provider, stored, and unsealed at every start. The first node to start creates them; nodes
//! that start at the same time converge on the stored one.

use crate::audit::AuditEvent;
use crate::clock::Clock;
use crate::ports::{KeyProvider, Store};
use crate::principal::{RequestMeta, Surface};
use crate::services::change::Change;
use crate::{Error, Result};
use zeroize::Zeroizing;

/// Purpose name of the Ed25519 seed that signs access tokens.
pub const JWT_SIGNING_SEED: &str = "jwt-signing-seed";
/// Purpose name of the Ed25519 seed that signs audit checkpoints.
pub const AUDIT_CHECKPOINT_SEED: &str = "audit-checkpoint-seed";
/// Purpose name of the HMAC key that digests API keys and refresh tokens.
pub const CREDENTIAL_PEPPER: &str = "credential-pepper";

/// The server secret for `purpose`, creating it with `generate` if none is stored yet.
pub async fn load_or_create(
    store: &dyn Store,
    keys: &dyn KeyProvider,
    clock: &dyn Clock,
    purpose: &str,
    generate: impl FnOnce() -> Zeroizing<Vec<u8>>,
) -> Result<Zeroizing<Vec<u8>>> {
    if store.system_secret(purpose).await?.is_none() {
        let fresh = generate();
        let sealed = keys.seal_system_secret(purpose, &fresh).await?;
        let now = clock.now();
        let mut change = Change::begin(store).await?;
        change.tx().insert_system_secret(purpose, &sealed, now).await?;
        let event = AuditEvent::system(&RequestMeta::internal(Surface::Cli), "system.key_create", "system_key", now)
            .resource(purpose)
            .detail("key_provider", keys.kind());
        change.commit([event]).await?;
    }
    // Read back what is stored: if another node won the race, its secret is the one to use.
    let sealed = store
        .system_secret(purpose)
        .await?
        .ok_or_else(|| Error::Internal(format!("server secret {purpose} vanished after it was stored")))?;
    keys.unseal_system_secret(purpose, &sealed).await.map_err(|_| {
        Error::Unavailable(format!(
            "cannot unseal the server secret {purpose:?}: the key provider (master key file or HSM) is not the one \
             this database was created with"
        ))
    })
}
