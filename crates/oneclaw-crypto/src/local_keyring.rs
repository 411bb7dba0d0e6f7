//! The local keyring: the default key provider for development and single-node deployments.
//!
//! A 256-bit master key, read from a file (created with mode 0600 on first start) or given
//! directly, seals each vault's KEK; the sealed KEK is what the store keeps as the KEK handle.
//! It is only as safe as the master key file: production deployments should use PKCS#11.

use crate::aead;
use async_trait::async_trait;
use oneclaw_core::ids::VaultId;
use oneclaw_core::ports::{DataKey, KekRef, KeyProvider};
use oneclaw_core::{Error, Result};
use std::io::Write;
use std::path::Path;
use zeroize::Zeroizing;

/// The provider name stored with each KEK.
pub const PROVIDER: &str = "local";

/// The key that seals every KEK. Wiped on drop; never printed.
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// Parses 64 hex characters.
    pub fn from_hex(text: &str) -> Result<Self> {
        let text = text.trim();
        let mut key = Zeroizing::new([0u8; 32]);
        if text.len() != 64 {
            return Err(Error::invalid("the master key must be 64 hex characters (32 bytes)"));
        }
        for (slot, pair) in key.iter_mut().zip(text.as_bytes().chunks(2)) {
            let hex = std::str::from_utf8(pair).map_err(|_| Error::invalid("the master key is not hex"))?;
            *slot = u8::from_str_radix(hex, 16).map_err(|_| Error::invalid("the master key is not hex"))?;
        }
        Ok(Self(key))
    }

    /// Reads the key file, or creates it (mode 0600, new random key) when it does not exist.
    /// Refuses a file that others can read.
    pub fn load_or_create(path: &Path) -> Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                check_private(path)?;
                let text = Zeroizing::new(text);
                Self::from_hex(&text).map_err(|err| Error::invalid(format!("{}: {err}", path.display())))
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Self::create(path),
            Err(err) => Err(Error::Unavailable(format!("cannot read the master key file {}: {err}", path.display()))),
        }
    }

    fn create(path: &Path) -> Result<Self> {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::fill(&mut key[..]);
        let hex = Zeroizing::new(key.iter().map(|b| format!("{b:02x}")).collect::<String>());
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|err| Error::Unavailable(format!("cannot create {}: {err}", dir.display())))?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let write = |options: &std::fs::OpenOptions| -> std::io::Result<()> {
            let mut file = options.open(path)?;
            file.write_all(hex.as_bytes())?;
            file.write_all(b"\n")?;
            file.sync_all()
        };
        write(&options).map_err(|err| {
            Error::Unavailable(format!("cannot create the master key file {}: {err}", path.display()))
        })?;
        tracing::info!(path = %path.display(), "created a new master key file (mode 0600); back it up: without it no secret can be read");
        Ok(Self(key))
    }
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|err| Error::Unavailable(format!("cannot stat {}: {err}", path.display())))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(Error::invalid(format!(
            "the master key file {} is readable by other users (mode {:o}); run chmod 600 on it",
            path.display(),
            mode & 0o777
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<()> {
    Ok(())
}

/// KEKs sealed by a master key.
#[derive(Debug)]
pub struct LocalKeyring {
    master: MasterKey,
}

impl LocalKeyring {
    /// A keyring over the given master key.
    pub fn new(master: MasterKey) -> Self {
        Self { master }
    }

    fn unseal_kek(&self, kek: &KekRef) -> Result<Zeroizing<[u8; 32]>> {
        if kek.provider != PROVIDER {
            return Err(Error::Internal(format!("KEK belongs to provider {:?}, not the local keyring", kek.provider)));
        }
        let plain = aead::open(&self.master.0, &kek_aad(kek.vault_id, kek.version), &kek.handle)?;
        let bytes: [u8; 32] = plain.as_slice().try_into().map_err(|_| aead::integrity())?;
        Ok(Zeroizing::new(bytes))
    }
}

fn kek_aad(vault: VaultId, version: i64) -> Vec<u8> {
    let mut aad = b"oneclaw/kek/v1".to_vec();
    aad.extend_from_slice(vault.0.as_bytes());
    aad.extend_from_slice(&version.to_be_bytes());
    aad
}

fn system_aad(purpose: &str) -> Vec<u8> {
    let mut aad = b"oneclaw/system/v1|".to_vec();
    aad.extend_from_slice(purpose.as_bytes());
    aad
}

#[async_trait]
impl KeyProvider for LocalKeyring {
    fn kind(&self) -> &'static str {
        PROVIDER
    }

    async fn create_kek(&self, vault_id: VaultId, version: i64) -> Result<KekRef> {
        let mut kek = Zeroizing::new([0u8; 32]);
        rand::fill(&mut kek[..]);
        let handle = aead::seal(&self.master.0, &kek_aad(vault_id, version), &kek[..])?;
        Ok(KekRef { vault_id, version, provider: PROVIDER.to_owned(), handle })
    }

    async fn destroy_kek(&self, _kek: &KekRef) -> Result<()> {
        // The sealed KEK exists only in the store row, which the caller deletes.
        Ok(())
    }

    async fn wrap_dek(&self, kek: &KekRef, dek: &DataKey, aad: &[u8]) -> Result<Vec<u8>> {
        let key = self.unseal_kek(kek)?;
        aead::seal(&key, aad, &dek.0[..])
    }

    async fn unwrap_dek(&self, kek: &KekRef, wrapped: &[u8], aad: &[u8]) -> Result<DataKey> {
        let key = self.unseal_kek(kek)?;
        let plain = aead::open(&key, aad, wrapped)?;
        let bytes: [u8; 32] = plain.as_slice().try_into().map_err(|_| aead::integrity())?;
        Ok(DataKey(Zeroizing::new(bytes)))
    }

    async fn seal_system_secret(&self, purpose: &str, secret: &[u8]) -> Result<Vec<u8>> {
        aead::seal(&self.master.0, &system_aad(purpose), secret)
    }

    async fn unseal_system_secret(&self, purpose: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        aead::open(&self.master.0, &system_aad(purpose), sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/master.key");
        let first = MasterKey::load_or_create(&path).unwrap();
        let second = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(*first.0, *second.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = MasterKey::load_or_create(&path).unwrap_err().to_string();
            assert!(err.contains("chmod 600"), "{err}");
        }
        assert_eq!(format!("{first:?}"), "MasterKey(<redacted>)");
    }

    #[tokio::test]
    async fn a_kek_only_opens_for_its_vault_and_version() {
        let keyring = LocalKeyring::new(MasterKey::from_hex(&"ab".repeat(32)).unwrap());
        let vault = VaultId::generate();
        let kek = keyring.create_kek(vault, 1).await.unwrap();
        let dek = DataKey(Zeroizing::new([9u8; 32]));
        let wrapped = keyring.wrap_dek(&kek, &dek, b"aad").await.unwrap();
        assert_eq!(*keyring.unwrap_dek(&kek, &wrapped, b"aad").await.unwrap().0, [9u8; 32]);
        let moved = KekRef { vault_id: VaultId::generate(), ..kek.clone() };
        assert!(keyring.unwrap_dek(&moved, &wrapped, b"aad").await.is_err());
        let other_master = LocalKeyring::new(MasterKey::from_hex(&"cd".repeat(32)).unwrap());
        assert!(other_master.unwrap_dek(&kek, &wrapped, b"aad").await.is_err());
    }

    #[test]
    fn bad_hex_is_refused() {
        assert!(MasterKey::from_hex("abc").is_err());
        assert!(MasterKey::from_hex(&"zz".repeat(32)).is_err());
    }
}
