//! Builds the key provider the configuration names. The active provider makes every new KEK;
//! any other configured provider stays on to open what it made, which is what lets
//! `oneclaw keys migrate` move a running deployment between the local keyring and PKCS#11.

use crate::config::{KeyProviderKind, Pkcs11Settings, ServerConfig};
use oneclaw_core::ports::KeyProvider;
use oneclaw_core::{Error, Result};
use oneclaw_crypto::{KeyRouter, LocalKeyring, MasterKey};
use oneclaw_pkcs11::{Pkcs11Config, Pkcs11Provider, WrapMechanism};
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

/// The configured providers behind one router.
pub async fn key_provider(config: &ServerConfig) -> Result<Arc<KeyRouter>> {
    // The master key file lives in the data directory: make that private before anything in it.
    crate::app::prepare_data_dir(&config.data_dir)?;
    let pkcs11 = match &config.pkcs11 {
        Some(settings) => Some(connect_pkcs11(settings).await?),
        None => None,
    };
    // The local keyring is made when it is active, and otherwise kept only if its key exists.
    let local = match config.key_provider {
        KeyProviderKind::Local => Some(local_keyring(config, true)?),
        KeyProviderKind::Pkcs11 => local_keyring(config, false).ok(),
    };
    let (active, other): (Arc<dyn KeyProvider>, Option<Arc<dyn KeyProvider>>) = match config.key_provider {
        KeyProviderKind::Local => {
            (local.ok_or_else(|| Error::Internal("local keyring missing".to_owned()))?, pkcs11.map(as_dyn))
        }
        KeyProviderKind::Pkcs11 => (
            pkcs11.map(as_dyn).ok_or_else(|| {
                Error::invalid("the pkcs11 key provider needs ONECLAW_PKCS11_MODULE and ONECLAW_PKCS11_TOKEN_LABEL")
            })?,
            local,
        ),
    };
    Ok(Arc::new(KeyRouter::new(active, other.into_iter().collect())))
}

fn as_dyn(provider: Arc<Pkcs11Provider>) -> Arc<dyn KeyProvider> {
    provider
}

fn local_keyring(config: &ServerConfig, create: bool) -> Result<Arc<dyn KeyProvider>> {
    let master = match std::env::var("ONECLAW_MASTER_KEY") {
        Ok(hex) => MasterKey::from_hex(&Zeroizing::new(hex))
            .map_err(|err| Error::invalid(format!("invalid setting ONECLAW_MASTER_KEY: {err}")))?,
        Err(_) if create || config.master_key_file.exists() => MasterKey::load_or_create(&config.master_key_file)?,
        Err(_) => return Err(Error::NotFound("no master key".to_owned())),
    };
    Ok(Arc::new(LocalKeyring::new(master)))
}

async fn connect_pkcs11(settings: &Pkcs11Settings) -> Result<Arc<Pkcs11Provider>> {
    let pin = read_pin(settings, std::env::var("ONECLAW_PKCS11_PIN").ok())?;
    let config = Pkcs11Config {
        module: settings.module.clone(),
        token_label: settings.token_label.clone(),
        pin,
        sessions: settings.sessions,
        mechanism: WrapMechanism::parse(&settings.mechanism)?,
        call_timeout: Duration::from_millis(settings.timeout_ms),
    };
    let provider = tokio::task::spawn_blocking(move || Pkcs11Provider::connect(config))
        .await
        .map_err(|err| Error::Internal(format!("PKCS#11 start-up panicked: {err}")))??;
    Ok(Arc::new(provider))
}

/// The PIN from `ONECLAW_PKCS11_PIN` (`from_env`), else from the PIN file (first line, which
/// must be private).
fn read_pin(settings: &Pkcs11Settings, from_env: Option<String>) -> Result<Zeroizing<String>> {
    if let Some(pin) = from_env {
        return Ok(Zeroizing::new(pin));
    }
    let Some(path) = &settings.pin_file else {
        return Err(Error::invalid("the PKCS#11 PIN is missing: set ONECLAW_PKCS11_PIN or ONECLAW_PKCS11_PIN_FILE"));
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|err| Error::invalid(format!("cannot read the PKCS#11 PIN file {}: {err}", path.display())))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(Error::invalid(format!(
                "the PKCS#11 PIN file {} is readable by other users (mode {:o}); run chmod 600 on it",
                path.display(),
                mode & 0o777
            )));
        }
    }
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|err| Error::invalid(format!("cannot read the PKCS#11 PIN file {}: {err}", path.display())))?,
    );
    let pin = text.lines().next().unwrap_or_default().trim();
    if pin.is_empty() {
        return Err(Error::invalid(format!("the PKCS#11 PIN file {} is empty", path.display())));
    }
    Ok(Zeroizing::new(pin.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pin_file: Option<std::path::PathBuf>) -> Pkcs11Settings {
        Pkcs11Settings {
            module: "/x.so".into(),
            token_label: "t".to_owned(),
            pin_file,
            sessions: 1,
            mechanism: "aes-gcm".to_owned(),
            timeout_ms: 100,
        }
    }

    #[test]
    fn the_pin_file_must_be_private_and_not_empty() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("oneclaw-pin-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pin");
        std::fs::write(&file, "4321\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_pin(&settings(Some(file.clone())), None).unwrap().as_str(), "4321");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_pin(&settings(Some(file.clone())), None).unwrap_err().to_string();
        assert!(err.contains("chmod 600") && !err.contains("4321"), "{err}");
        std::fs::write(&file, "\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(read_pin(&settings(Some(file)), None).unwrap_err().to_string().contains("empty"));
        assert!(read_pin(&settings(None), None).unwrap_err().to_string().contains("ONECLAW_PKCS11_PIN_FILE"));
        assert_eq!(read_pin(&settings(None), Some("from-env".to_owned())).unwrap().as_str(), "from-env");
    }
}
