//! Where `oneclaw login` keeps what it signed in with: one JSON file, mode 0600, in
//! `$ONECLAW_CONFIG_DIR`, else `$XDG_CONFIG_HOME/oneclaw`, else `~/.config/oneclaw`. It holds
//! the server URL and the credential that gets fresh tokens: a personal API key, or a device-flow
//! session's refresh token with its current access token (which expires long before the
//! refresh token, so the file never holds a token that outlives what renews it).

use crate::error::{CliError, CliResult};
use oneclaw_types::SecretString;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::PathBuf;

const FILE: &str = "credentials.json";

/// What is stored.
#[derive(Serialize, Deserialize)]
pub struct Stored {
    pub base_url: String,
    /// A personal API key (`1ck_`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<SecretString>,
    /// A device-flow session: who, its refresh token, its access token and when that expires
    /// (unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<SecretString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<SecretString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_expires_at: Option<u64>,
}

/// The directory the file lives in.
pub fn dir() -> CliResult<PathBuf> {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = var("ONECLAW_CONFIG_DIR") {
        return Ok(dir);
    }
    if let Some(config) = var("XDG_CONFIG_HOME") {
        return Ok(config.join("oneclaw"));
    }
    var("HOME")
        .map(|home| home.join(".config").join("oneclaw"))
        .ok_or_else(|| CliError::Setting("cannot find a config directory: set HOME or ONECLAW_CONFIG_DIR".to_owned()))
}

pub fn path() -> CliResult<PathBuf> {
    Ok(dir()?.join(FILE))
}

/// The stored credentials, if any.
pub fn load() -> CliResult<Option<Stored>> {
    let path = path()?;
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|_| {
            CliError::Setting(format!(
                "{} is not a oneclaw credentials file; run `oneclaw login` again",
                path.display()
            ))
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(CliError::Setting(format!("cannot read {}: {err}", path.display()))),
    }
}

/// Writes the file readable by its owner only, replacing any earlier one atomically.
pub fn save(stored: &Stored) -> CliResult<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let dir = dir()?;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir)?;
    // A directory someone else owns or may write to could swap the file under us.
    let meta = std::fs::metadata(&dir)?;
    if meta.uid() != rustix::process::geteuid().as_raw() || meta.mode() & 0o022 != 0 {
        return Err(CliError::Setting(format!(
            "{} is not yours alone (it must be owned by you and writable by nobody else); nothing was stored",
            dir.display()
        )));
    }
    let path = dir.join(FILE);
    // A fresh name, created (never opened) here: a planted file or symlink is not followed.
    let partial = dir.join(format!(".{FILE}.{}.partial", std::process::id()));
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&partial)?;
    // The key is written in the clear: the file is the credential, like `~/.ssh/id_*`.
    let json = serde_json::to_vec_pretty(stored).map_err(|err| CliError::Setting(err.to_string()))?;
    file.write_all(&json)?;
    file.sync_all()?;
    std::fs::rename(&partial, &path)?;
    Ok(path)
}

/// Deletes the file; false when there was none.
pub fn remove() -> CliResult<bool> {
    match std::fs::remove_file(path()?) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(err.into()),
    }
}
