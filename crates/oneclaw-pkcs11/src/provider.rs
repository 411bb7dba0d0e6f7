//! `KeyProvider` over PKCS#11. A KEK is found by its label (`vault-kek:<vault>:v<n>`) and a
//! random CKA_ID that the store keeps as the KEK handle, so two nodes racing to make the same
//! KEK version can never destroy each other's key.

use crate::Pkcs11Config;
use crate::context::{self, Overlap};
use crate::handles::HandleCache;
use crate::mechanism::{self, WrapMechanism};
use crate::pool::{SessionPool, hsm_error};
use async_trait::async_trait;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use oneclaw_core::ids::VaultId;
use oneclaw_core::ports::{DataKey, KekRef, KeyHealth, KeyProvider};
use oneclaw_core::{Error, Result};
use std::sync::Arc;
use zeroize::Zeroizing;

/// The provider name stored with each KEK.
pub const PROVIDER: &str = "pkcs11";

/// Label of the token key that seals server secrets (JWT signing seed, pepper, checkpoint seed).
const SYSTEM_KEK_LABEL: &str = "oneclaw-system-kek";
const KEY_ID_LEN: usize = 16;

/// The label of a vault's KEK version.
pub fn kek_label(vault_id: VaultId, version: i64) -> String {
    format!("vault-kek:{vault_id}:v{version}")
}

/// KEKs held in a PKCS#11 token.
pub struct Pkcs11Provider {
    pool: Arc<SessionPool>,
    mechanism: WrapMechanism,
    handles: Arc<HandleCache>,
}

impl std::fmt::Debug for Pkcs11Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Provider").field("mechanism", &self.mechanism).finish_non_exhaustive()
    }
}

/// What PKCS#11 itself says of a KEK: its protection attributes and whether its value could be
/// read or wrapped out. Used by tests and by operators checking a deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KekInspection {
    pub token: bool,
    pub private: bool,
    pub sensitive: bool,
    pub extractable: bool,
    pub always_sensitive: bool,
    pub never_extractable: bool,
    /// True if `C_GetAttributeValue(CKA_VALUE)` handed out any bytes.
    pub value_readable: bool,
    /// True if `C_WrapKey` wrapped the KEK out under another key.
    pub wrappable: bool,
}

impl Pkcs11Provider {
    /// Loads the module (once per process), finds the token by label and opens the session pool.
    /// Blocking: call at start-up or from a blocking thread.
    pub fn connect(config: Pkcs11Config) -> Result<Self> {
        let context = context::shared(&config.module)?;
        let pool = SessionPool::new(context, config.token_label, config.pin, config.sessions, config.call_timeout);
        pool.warm_up()?;
        Ok(Self { pool: Arc::new(pool), mechanism: config.mechanism, handles: Arc::new(HandleCache::default()) })
    }

    /// Closes the sessions and logs out; later calls log in again.
    pub fn close_sessions(&self) {
        self.pool.close();
    }

    /// Reads a KEK's attributes and tries to get its value out, through PKCS#11.
    pub async fn inspect_kek(&self, kek: &KekRef) -> Result<Option<KekInspection>> {
        let label = kek_label(kek.vault_id, kek.version);
        let id = kek.handle.clone();
        self.pool
            .run("inspect a KEK", Overlap::Exclusive, move |session| {
                let Some(key) = find_by_id(session, &label, &id)? else { return Ok(None) };
                inspect(session, key).map(Some)
            })
            .await
    }

    /// How many token objects carry this KEK's label (0 once it is destroyed).
    pub async fn count_kek_objects(&self, vault_id: VaultId, version: i64) -> Result<usize> {
        let label = kek_label(vault_id, version);
        self.pool
            .run("find a KEK", Overlap::Shared, move |session| Ok(mechanism::find_keys(session, &label)?.len()))
            .await
    }

    fn check_owner(kek: &KekRef) -> Result<()> {
        if kek.provider == PROVIDER {
            Ok(())
        } else {
            Err(Error::Internal(format!("KEK belongs to provider {:?}, not PKCS#11", kek.provider)))
        }
    }
}

fn find_by_id(session: &Session, label: &str, id: &[u8]) -> Result<Option<ObjectHandle>> {
    let found = session
        .find_objects(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id.to_vec()),
        ])
        .map_err(|err| hsm_error("find a key", &err))?;
    Ok(found.into_iter().next())
}

fn require_kek(session: &Session, kek_label: &str, id: &[u8]) -> Result<ObjectHandle> {
    find_by_id(session, kek_label, id)?
        .ok_or_else(|| Error::Internal(format!("the HSM has no key {kek_label:?} with the stored id")))
}

/// Unwraps with the KEK's cached handle if there is one, else a freshly found one. An unwrap
/// with a stale handle (or one now naming another key) fails its integrity check, so a refusal
/// with a cached handle is retried once after a fresh find: a stale handle costs a retry,
/// never a wrong result. Wraps never use the cache (see `handles.rs`).
fn unwrap_with_kek<T>(
    handles: &HandleCache,
    session: &Session,
    label: &str,
    id: &[u8],
    use_key: impl Fn(ObjectHandle) -> Result<T>,
) -> Result<T> {
    if let Some(handle) = handles.get(label, id) {
        match use_key(handle) {
            Ok(value) => return Ok(value),
            Err(outage @ Error::Unavailable(_)) => return Err(outage),
            Err(_) => handles.forget(label, id),
        }
    }
    let handle = require_kek(session, label, id)?;
    handles.put(label, id, handle);
    use_key(handle)
}

fn inspect(session: &Session, key: ObjectHandle) -> Result<KekInspection> {
    let flags = session
        .get_attributes(
            key,
            &[
                AttributeType::Token,
                AttributeType::Private,
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::AlwaysSensitive,
                AttributeType::NeverExtractable,
            ],
        )
        .map_err(|err| hsm_error("read KEK attributes", &err))?;
    let flag = |wanted: AttributeType| {
        flags.iter().any(|attribute| {
            attribute.attribute_type() == wanted
                && matches!(
                    attribute,
                    Attribute::Token(true)
                        | Attribute::Private(true)
                        | Attribute::Sensitive(true)
                        | Attribute::Extractable(true)
                        | Attribute::AlwaysSensitive(true)
                        | Attribute::NeverExtractable(true)
                )
        })
    };
    // A sensitive key's value is simply left out of the answer (or the call is refused).
    let value_readable = session
        .get_attributes(key, &[AttributeType::Value])
        .map(|values| values.iter().any(|attribute| matches!(attribute, Attribute::Value(bytes) if !bytes.is_empty())))
        .unwrap_or(false);
    // Try to wrap the KEK out under a fresh session key that we would know.
    let wrapping_key = session
        .generate_key(
            &Mechanism::AesKeyGen,
            &[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::ValueLen(32.into()),
                Attribute::Token(false),
                Attribute::Wrap(true),
            ],
        )
        .map_err(|err| hsm_error("make a probe key", &err))?;
    let wrappable = session.wrap_key(&Mechanism::AesKeyWrapPad, wrapping_key, key).is_ok();
    session.destroy_object(wrapping_key).map_err(|err| hsm_error("drop a probe key", &err))?;
    Ok(KekInspection {
        token: flag(AttributeType::Token),
        private: flag(AttributeType::Private),
        sensitive: flag(AttributeType::Sensitive),
        extractable: flag(AttributeType::Extractable),
        always_sensitive: flag(AttributeType::AlwaysSensitive),
        never_extractable: flag(AttributeType::NeverExtractable),
        value_readable,
        wrappable,
    })
}

fn system_aad(purpose: &str) -> Vec<u8> {
    let mut aad = b"oneclaw/system/v1|".to_vec();
    aad.extend_from_slice(purpose.as_bytes());
    aad
}

fn random_id() -> Vec<u8> {
    let mut id = vec![0u8; KEY_ID_LEN];
    rand::fill(&mut id[..]);
    id
}

#[async_trait]
impl KeyProvider for Pkcs11Provider {
    fn kind(&self) -> &'static str {
        PROVIDER
    }

    async fn create_kek(&self, vault_id: VaultId, version: i64) -> Result<KekRef> {
        let label = kek_label(vault_id, version);
        let id = random_id();
        let handle = id.clone();
        self.pool
            .run("create a KEK", Overlap::Exclusive, move |session| {
                mechanism::generate_kek(session, &label, &id).map(|_| ())
            })
            .await?;
        Ok(KekRef { vault_id, version, provider: PROVIDER.to_owned(), handle })
    }

    async fn destroy_kek(&self, kek: &KekRef) -> Result<()> {
        Self::check_owner(kek)?;
        let label = kek_label(kek.vault_id, kek.version);
        let id = kek.handle.clone();
        self.handles.forget(&label, &id);
        let handles = Arc::clone(&self.handles);
        self.pool
            .run("destroy a KEK", Overlap::Exclusive, move |session| {
                handles.forget(&label, &id);
                // Already gone is fine: destruction is retried after a crash.
                if let Some(key) = find_by_id(session, &label, &id)? {
                    session.destroy_object(key).map_err(|err| hsm_error("destroy a KEK", &err))?;
                }
                Ok(())
            })
            .await
    }

    async fn wrap_dek(&self, kek: &KekRef, dek: &DataKey, aad: &[u8]) -> Result<Vec<u8>> {
        Self::check_owner(kek)?;
        let label = kek_label(kek.vault_id, kek.version);
        let id = kek.handle.clone();
        let dek = dek.clone();
        let aad = aad.to_vec();
        let wrap_with = self.mechanism;
        self.pool
            .run("wrap a data key", mechanism::wrap_overlap(wrap_with), move |session| {
                let key = require_kek(session, &label, &id)?;
                mechanism::wrap(session, wrap_with, key, &dek.0[..], &aad)
            })
            .await
    }

    async fn unwrap_dek(&self, kek: &KekRef, wrapped: &[u8], aad: &[u8]) -> Result<DataKey> {
        Self::check_owner(kek)?;
        let label = kek_label(kek.vault_id, kek.version);
        let id = kek.handle.clone();
        let wrapped = wrapped.to_vec();
        let aad = aad.to_vec();
        let overlap = mechanism::unwrap_overlap(&wrapped);
        let handles = Arc::clone(&self.handles);
        let plain = self
            .pool
            .run("unwrap a data key", overlap, move |session| {
                unwrap_with_kek(&handles, session, &label, &id, |key| mechanism::unwrap(session, key, &wrapped, &aad))
            })
            .await?;
        let bytes: [u8; 32] = plain.as_slice().try_into().map_err(|_| mechanism::integrity())?;
        Ok(DataKey(Zeroizing::new(bytes)))
    }

    async fn seal_system_secret(&self, purpose: &str, secret: &[u8]) -> Result<Vec<u8>> {
        let aad = system_aad(purpose);
        let secret = Zeroizing::new(secret.to_vec());
        let wrap_with = self.mechanism;
        self.pool
            .run("seal a server secret", Overlap::Exclusive, move |session| {
                // The system key is made on first use; if two nodes race, each blob names its key.
                let (key, id) = match mechanism::find_keys(session, SYSTEM_KEK_LABEL)?.first() {
                    Some(&key) => (key, key_id(session, key)?),
                    None => {
                        let id = random_id();
                        (mechanism::generate_kek(session, SYSTEM_KEK_LABEL, &id)?, id)
                    }
                };
                let mut out = id;
                out.extend(mechanism::wrap(session, wrap_with, key, &secret, &aad)?);
                Ok(out)
            })
            .await
    }

    async fn unseal_system_secret(&self, purpose: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let aad = system_aad(purpose);
        let (id, blob) = sealed.split_at_checked(KEY_ID_LEN).ok_or_else(mechanism::integrity)?;
        let overlap = mechanism::unwrap_overlap(blob);
        let (id, blob) = (id.to_vec(), blob.to_vec());
        self.pool
            .run("unseal a server secret", overlap, move |session| {
                let key = find_by_id(session, SYSTEM_KEK_LABEL, &id)?.ok_or_else(mechanism::integrity)?;
                mechanism::unwrap(session, key, &blob, &aad)
            })
            .await
    }

    async fn health(&self) -> KeyHealth {
        let probe = self
            .pool
            .run("check the token", Overlap::Shared, |session| {
                session.get_session_info().map_err(|err| hsm_error("check a session", &err))?;
                mechanism::find_keys(session, SYSTEM_KEK_LABEL).map(|_| ())
            })
            .await;
        match probe {
            Err(err) => KeyHealth::Unavailable(err.to_string()),
            Ok(()) if self.pool.recently_failed() => {
                KeyHealth::Degraded("HSM calls failed within the last 30 seconds".to_owned())
            }
            Ok(()) => KeyHealth::Ok,
        }
    }
}

fn key_id(session: &Session, key: ObjectHandle) -> Result<Vec<u8>> {
    let attributes =
        session.get_attributes(key, &[AttributeType::Id]).map_err(|err| hsm_error("read a key id", &err))?;
    attributes
        .into_iter()
        .find_map(|attribute| match attribute {
            Attribute::Id(id) if id.len() == KEY_ID_LEN => Some(id),
            _ => None,
        })
        .ok_or_else(|| Error::Internal("the system key has no usable id".to_owned()))
}
