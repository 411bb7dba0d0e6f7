//! What runs inside the HSM: making and finding KEKs, and wrapping data keys under them with
//! AES-GCM (the default) or AES key wrap with padding (RFC 5649, for HSMs that refuse
//! caller-supplied GCM IVs, as some do in FIPS mode).
//!
//! A wrapped blob starts with one byte naming its mechanism, so a deployment can change the
//! setting and still open what it wrapped before.

use crate::context::Overlap;
use crate::pool::hsm_error;
use cryptoki::error::Error as CkError;
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use oneclaw_core::{Error, Result};
use zeroize::{Zeroize, Zeroizing};

const GCM_TAG: u8 = 1;
const KEY_WRAP_PAD_TAG: u8 = 2;
const GCM_IV_LEN: usize = 12;
const GCM_TAG_BITS: u64 = 128;

/// How data keys are wrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WrapMechanism {
    /// `CKM_AES_GCM` with a random 96-bit IV; the wrap is bound to the value's AAD.
    #[default]
    AesGcm,
    /// `CKM_AES_KEY_WRAP_PAD`; no IV, no AAD (the value's own AES-GCM tag still binds it).
    AesKeyWrapPad,
}

impl WrapMechanism {
    /// Parses `aes-gcm` or `aes-key-wrap-pad`.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "aes-gcm" => Ok(Self::AesGcm),
            "aes-key-wrap-pad" => Ok(Self::AesKeyWrapPad),
            other => Err(Error::invalid(format!(
                "unknown PKCS#11 wrap mechanism {other:?}: use aes-gcm or aes-key-wrap-pad"
            ))),
        }
    }
}

/// The attributes of a KEK: a persistent AES-256 token key that is private, sensitive and can
/// never be extracted, usable only to encrypt, decrypt, wrap and unwrap.
pub(crate) fn kek_template(label: &str, id: &[u8]) -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::ValueLen(32.into()),
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Modifiable(false),
        Attribute::Encrypt(true),
        Attribute::Decrypt(true),
        Attribute::Wrap(true),
        Attribute::Unwrap(true),
        Attribute::Label(label.as_bytes().to_vec()),
        Attribute::Id(id.to_vec()),
    ]
}

/// Generates a KEK inside the HSM.
pub(crate) fn generate_kek(session: &Session, label: &str, id: &[u8]) -> Result<ObjectHandle> {
    session
        .generate_key(&Mechanism::AesKeyGen, &kek_template(label, id))
        .map_err(|err| hsm_error("generate a KEK", &err))
}

/// Every secret-key object with this label.
pub(crate) fn find_keys(session: &Session, label: &str) -> Result<Vec<ObjectHandle>> {
    session
        .find_objects(&[Attribute::Class(ObjectClass::SECRET_KEY), Attribute::Label(label.as_bytes().to_vec())])
        .map_err(|err| hsm_error("find a key", &err))
}

/// Wraps `secret` (a data key or a server secret) under `kek`.
pub(crate) fn wrap(
    session: &Session,
    mechanism: WrapMechanism,
    kek: ObjectHandle,
    secret: &[u8],
    aad: &[u8],
) -> Result<Vec<u8>> {
    match mechanism {
        WrapMechanism::AesGcm => {
            let mut iv = [0u8; GCM_IV_LEN];
            rand::fill(&mut iv);
            let mut params_iv = iv;
            let params =
                GcmParams::new(&mut params_iv, aad, GCM_TAG_BITS.into()).map_err(|err| hsm_error("wrap", &err))?;
            let sealed = session
                .encrypt(&Mechanism::AesGcm(params), kek, secret)
                .map_err(|err| hsm_error("wrap a data key", &err))?;
            let mut out = Vec::with_capacity(1 + GCM_IV_LEN + sealed.len());
            out.push(GCM_TAG);
            out.extend_from_slice(&iv);
            out.extend_from_slice(&sealed);
            Ok(out)
        }
        WrapMechanism::AesKeyWrapPad => {
            // Key wrap takes a key object, so the secret passes through a session object that
            // is destroyed at once (session objects never reach the token's storage).
            let mut template = transient_secret_template(Some(secret));
            let created = session.create_object(&template);
            wipe_values(&mut template);
            let temporary = created.map_err(|err| hsm_error("load a data key", &err))?;
            let wrapped = session.wrap_key(&Mechanism::AesKeyWrapPad, kek, temporary);
            let destroyed = session.destroy_object(temporary);
            let wrapped = wrapped.map_err(|err| hsm_error("wrap a data key", &err))?;
            destroyed.map_err(|err| hsm_error("drop a data key", &err))?;
            let mut out = Vec::with_capacity(1 + wrapped.len());
            out.push(KEY_WRAP_PAD_TAG);
            out.extend_from_slice(&wrapped);
            Ok(out)
        }
    }
}

/// How a wrap with `mechanism` may overlap other calls.
pub(crate) fn wrap_overlap(mechanism: WrapMechanism) -> Overlap {
    match mechanism {
        WrapMechanism::AesGcm => Overlap::Shared,
        WrapMechanism::AesKeyWrapPad => Overlap::Exclusive,
    }
}

/// How opening `blob` may overlap other calls.
pub(crate) fn unwrap_overlap(blob: &[u8]) -> Overlap {
    if blob.first() == Some(&KEY_WRAP_PAD_TAG) { Overlap::Exclusive } else { Overlap::Shared }
}

/// Opens what `wrap` made. Any change to the blob, the AAD or the key is an integrity error
/// (SoftHSM reports a bad GCM tag as a general error, so every refusal is treated alike).
pub(crate) fn unwrap(session: &Session, kek: ObjectHandle, blob: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let (&tag, body) = blob.split_first().ok_or_else(integrity)?;
    match tag {
        GCM_TAG => {
            let (iv, sealed) = body.split_at_checked(GCM_IV_LEN).ok_or_else(integrity)?;
            let mut iv: [u8; GCM_IV_LEN] = iv.try_into().map_err(|_| integrity())?;
            let params = GcmParams::new(&mut iv, aad, GCM_TAG_BITS.into()).map_err(|err| hsm_error("unwrap", &err))?;
            session.decrypt(&Mechanism::AesGcm(params), kek, sealed).map(Zeroizing::new).map_err(refusal)
        }
        KEY_WRAP_PAD_TAG => {
            let temporary = session
                .unwrap_key(&Mechanism::AesKeyWrapPad, kek, body, &transient_secret_template(None))
                .map_err(refusal)?;
            let value = session.get_attributes(temporary, &[AttributeType::Value]);
            let destroyed = session.destroy_object(temporary);
            let value = value.map_err(|err| hsm_error("read an unwrapped data key", &err))?;
            destroyed.map_err(|err| hsm_error("drop a data key", &err))?;
            value
                .into_iter()
                .find_map(|attribute| match attribute {
                    Attribute::Value(bytes) => Some(Zeroizing::new(bytes)),
                    _ => None,
                })
                .ok_or_else(integrity)
        }
        _ => Err(integrity()),
    }
}

/// A session-only generic secret that may be wrapped and read: the vehicle for key wrap.
fn transient_secret_template(value: Option<&[u8]>) -> Vec<Attribute> {
    let mut template = vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::GENERIC_SECRET),
        Attribute::Token(false),
        Attribute::Private(true),
        Attribute::Sensitive(false),
        Attribute::Extractable(true),
    ];
    if let Some(value) = value {
        template.push(Attribute::Value(value.to_vec()));
    }
    template
}

/// Clears the copy of a secret that a template carried into the HSM.
fn wipe_values(template: &mut [Attribute]) {
    for attribute in template {
        if let Attribute::Value(bytes) = attribute {
            bytes.zeroize();
        }
    }
}

fn refusal(err: CkError) -> Error {
    match hsm_error("unwrap", &err) {
        outage @ Error::Unavailable(_) => outage,
        _ => integrity(),
    }
}

pub(crate) fn integrity() -> Error {
    Error::Internal("wrapped key failed its integrity check".to_owned())
}
