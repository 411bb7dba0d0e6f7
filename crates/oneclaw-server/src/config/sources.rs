//! Layers the sources of the settings (defaults < TOML file < environment < flags) and
//! validates each setting once, filling in its default.

use super::settings::{Settings, declared};
use super::{KeyProviderKind, LogFormat, Pkcs11Settings, ServerConfig, Signup, SmtpSettings};
use oneclaw_core::{Error, Result};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A raw value and where it came from, so errors can name the source.
#[derive(Debug, Clone)]
struct Raw {
    key: String,
    value: String,
    source: String,
}

/// Settings whose value may carry a password (`postgres://user:pw@host`): an error about one
/// names the setting, never its value, since start-up errors reach terminals and logs.
const MAY_HOLD_CREDENTIALS: &[&str] = &["database_url", "smtp_url"];

/// Collects raw settings from every source, later sources overriding earlier ones.
#[derive(Debug, Default)]
pub struct ConfigSources {
    values: BTreeMap<String, Raw>,
}

impl ConfigSources {
    /// Reads a TOML file. Unknown keys are errors.
    pub fn with_file(mut self, path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|err| Error::invalid(format!("cannot read the config file {}: {err}", path.display())))?;
        let table: toml::Table = text
            .parse()
            .map_err(|err| Error::invalid(format!("config file {} is not valid TOML: {err}", path.display())))?;
        let declared = declared();
        for (key, value) in table {
            if !declared.iter().any(|setting| setting.key == key) {
                return Err(Error::invalid(format!("unknown setting {key:?} in config file {}", path.display())));
            }
            let value = match value {
                toml::Value::String(text) => text,
                toml::Value::Integer(n) => n.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                other => {
                    return Err(Error::invalid(format!(
                        "setting {key:?} in {} must be a string or a number, not {}",
                        path.display(),
                        other.type_str()
                    )));
                }
            };
            let source = format!("{key} in {}", path.display());
            self.values.insert(key.clone(), Raw { key, value, source });
        }
        Ok(self)
    }

    /// Lays the flags and `ONECLAW_*` variables (clap has put each flag over its variable) over
    /// the file. An error names both, since either may have given the value.
    pub fn with_settings(mut self, settings: &Settings) -> Result<Self> {
        // Serializing skips the settings that were not given (TOML has no null).
        let given = toml::Table::try_from(settings)
            .map_err(|err| Error::Internal(format!("settings do not serialize: {err}")))?;
        let declared = declared();
        for (key, value) in given {
            let Some(setting) = declared.iter().find(|setting| setting.key == key) else {
                return Err(Error::Internal(format!("setting {key} is not declared")));
            };
            let toml::Value::String(value) = value else {
                return Err(Error::Internal(format!("setting {key} is not text")));
            };
            let source = format!("{} / {}", setting.flag, setting.env);
            self.values.insert(key.clone(), Raw { key, value, source });
        }
        Ok(self)
    }

    /// Validates everything and fills in defaults.
    pub fn build(self) -> Result<ServerConfig> {
        let data_dir = self.path("data_dir")?.unwrap_or_else(|| PathBuf::from("./oneclaw-data"));
        let database_url = match self.values.get("database_url") {
            Some(raw) => {
                oneclaw_store::Backend::of_url(&raw.value).map_err(|err| self.invalid(raw, &err.to_string()))?;
                raw.value.clone()
            }
            None => oneclaw_store::default_sqlite_url(&data_dir),
        };
        let config = ServerConfig {
            listen: self.parse("listen", "is not an address such as 127.0.0.1:8443")?.unwrap_or_else(default_listen),
            master_key_file: self.path("master_key_file")?.unwrap_or_else(|| data_dir.join("master.key")),
            database_url,
            data_dir,
            key_provider: self
                .choice("key_provider", &[("local", KeyProviderKind::Local), ("pkcs11", KeyProviderKind::Pkcs11)])?
                .unwrap_or(KeyProviderKind::Local),
            signup: self
                .choice("signup", &[("open", Signup::Open), ("closed", Signup::Closed)])?
                .unwrap_or(Signup::Open),
            max_body_bytes: self.bounded("max_body_bytes", 1024, 64 * 1024 * 1024)?.unwrap_or(1024 * 1024),
            access_token_ttl_secs: self.bounded("access_token_ttl_seconds", 61, 24 * 3600)?.unwrap_or(900),
            log_format: self
                .choice("log_format", &[("text", LogFormat::Text), ("json", LogFormat::Json)])?
                .unwrap_or(LogFormat::Text),
            audit_checkpoint_secs: self.bounded("audit_checkpoint_seconds", 1, 86_400)?.unwrap_or(60),
            request_timeout_secs: self.bounded("request_timeout_seconds", 1, 3600)?.unwrap_or(30),
            dek_cache_size: self.bounded("dek_cache_size", 0, 10_000_000)?.unwrap_or(10_000),
            dek_cache_ttl_secs: self.bounded("dek_cache_ttl_seconds", 1, 86_400)?.unwrap_or(300),
            read_cache_ms: self.bounded("read_cache_ms", 0, 1_000)?.unwrap_or(100),
            pkcs11: self.pkcs11()?,
            mcp_allowed_hosts: self.list("mcp_allowed_hosts")?.unwrap_or_else(default_mcp_hosts),
            trusted_proxies: self.networks("trusted_proxies")?,
            billing: self.choice("billing", &[("on", true), ("off", false)])?.unwrap_or(true),
            free_tier_requests: self.bounded("free_tier_requests", 0, i64::MAX)?.unwrap_or(1_000),
            x402_pay_to: self.pay_to()?,
            oidc_issuer: self
                .values
                .get("oidc_issuer")
                .map(|raw| raw.value.trim().trim_end_matches('/').to_owned())
                .unwrap_or_else(|| DEFAULT_OIDC_ISSUER.to_owned()),
            oidc_client_id: self
                .values
                .get("oidc_client_id")
                .map(|raw| raw.value.trim().to_owned())
                .filter(|id| !id.is_empty()),
            smtp: self.smtp()?,
            public_url: self.public_url()?,
            mail_worker: true,
            webhook_allow_private: self
                .choice("webhook_allow_private", &[("true", true), ("false", false)])?
                .unwrap_or(false),
            webhook_worker: true,
            execute_allow_private: self
                .choice("execute_allow_private", &[("true", true), ("false", false)])?
                .unwrap_or(false),
            tls: self.tls()?,
            metrics_listen: self.parse("metrics_listen", "is not an address such as 127.0.0.1:9464")?,
            x402_facilitator_url: self
                .values
                .get("x402_facilitator_url")
                .map(|raw| raw.value.trim().trim_end_matches('/').to_owned())
                .unwrap_or_else(|| DEFAULT_FACILITATOR.to_owned()),
        };
        if config.key_provider == KeyProviderKind::Pkcs11 && config.pkcs11.is_none() {
            return Err(Error::invalid(
                "ONECLAW_KEY_PROVIDER is pkcs11 but ONECLAW_PKCS11_MODULE and ONECLAW_PKCS11_TOKEN_LABEL are not set",
            ));
        }
        Ok(config)
    }

    /// The PKCS#11 settings, when a module and a token label are both given.
    fn pkcs11(&self) -> Result<Option<Pkcs11Settings>> {
        let module = self.path("pkcs11_module")?;
        let token_label = self.values.get("pkcs11_token_label").map(|raw| raw.value.trim().to_owned());
        let (module, token_label) = match (module, token_label) {
            (Some(module), Some(label)) if !label.is_empty() => (module, label),
            (None, None) => return Ok(None),
            _ => {
                return Err(Error::invalid(
                    "ONECLAW_PKCS11_MODULE and ONECLAW_PKCS11_TOKEN_LABEL must be set together",
                ));
            }
        };
        let mechanism =
            self.choice("pkcs11_mechanism", &[("aes-gcm", "aes-gcm"), ("aes-key-wrap-pad", "aes-key-wrap-pad")])?;
        Ok(Some(Pkcs11Settings {
            module,
            token_label,
            pin_file: self.path("pkcs11_pin_file")?,
            sessions: self.bounded("pkcs11_sessions", 1, 256)?.unwrap_or(2),
            mechanism: mechanism.unwrap_or("aes-gcm").to_owned(),
            timeout_ms: self.bounded("pkcs11_timeout_ms", 10, 600_000)?.unwrap_or(5_000),
        }))
    }

    fn invalid(&self, raw: &Raw, why: &str) -> Error {
        if MAY_HOLD_CREDENTIALS.contains(&raw.key.as_str()) {
            return Error::invalid(format!("invalid setting {}: the value {why}", raw.source));
        }
        Error::invalid(format!("invalid setting {}: {:?} {why}", raw.source, raw.value))
    }

    fn parse<T: std::str::FromStr>(&self, key: &str, why: &str) -> Result<Option<T>> {
        self.values.get(key).map(|raw| raw.value.trim().parse().map_err(|_| self.invalid(raw, why))).transpose()
    }

    fn path(&self, key: &str) -> Result<Option<PathBuf>> {
        self.values
            .get(key)
            .map(|raw| {
                if raw.value.trim().is_empty() {
                    Err(self.invalid(raw, "must not be empty"))
                } else {
                    Ok(PathBuf::from(&raw.value))
                }
            })
            .transpose()
    }

    /// An EVM address: 0x and 40 hex digits.
    fn smtp(&self) -> Result<Option<SmtpSettings>> {
        let Some(raw) = self.values.get("smtp_url") else {
            if self.values.contains_key("smtp_from") || self.values.contains_key("smtp_username") {
                return Err(Error::invalid("ONECLAW_SMTP_FROM and ONECLAW_SMTP_USERNAME need ONECLAW_SMTP_URL"));
            }
            return Ok(None);
        };
        let url = raw.value.trim();
        let scheme_ok = url.starts_with("smtp://") || url.starts_with("smtps://");
        let tls_ok = url.split_once('?').is_none_or(|(_, query)| query == "tls=starttls");
        if !scheme_ok || !tls_ok {
            return Err(
                self.invalid(raw, "must be smtp://host:port, smtp://host:port?tls=starttls or smtps://host:port")
            );
        }
        let from =
            self.values.get("smtp_from").ok_or_else(|| Error::invalid("ONECLAW_SMTP_URL needs ONECLAW_SMTP_FROM"))?;
        // Mails carry links; the listen address (often 0.0.0.0) is no address to link to.
        if !self.values.contains_key("public_url") {
            return Err(Error::invalid(
                "ONECLAW_SMTP_URL needs ONECLAW_PUBLIC_URL: the mails carry links to this server",
            ));
        }
        if !from.value.contains('@') {
            return Err(self.invalid(from, "must be an email address"));
        }
        Ok(Some(SmtpSettings {
            url: url.to_owned(),
            username: self.values.get("smtp_username").map(|raw| raw.value.trim().to_owned()),
            from: from.value.trim().to_owned(),
        }))
    }

    /// Both TLS files, or neither: one alone is a mistake to stop on, not plain HTTP.
    fn tls(&self) -> Result<Option<super::TlsFiles>> {
        match (self.path("tls_cert_file")?, self.path("tls_key_file")?) {
            (Some(cert), Some(key)) => Ok(Some(super::TlsFiles { cert, key })),
            (None, None) => Ok(None),
            (Some(_), None) | (None, Some(_)) => Err(Error::invalid(
                "ONECLAW_TLS_CERT_FILE and ONECLAW_TLS_KEY_FILE go together: set both or neither".to_owned(),
            )),
        }
    }

    fn public_url(&self) -> Result<Option<String>> {
        let Some(raw) = self.values.get("public_url") else { return Ok(None) };
        let url = raw.value.trim().trim_end_matches('/');
        let well_formed = (url.starts_with("https://") || url.starts_with("http://"))
            && !url.contains(['?', '#', ' '])
            && url.split_once("://").is_some_and(|(_, rest)| !rest.is_empty());
        if !well_formed {
            return Err(self.invalid(raw, "must be an http(s) URL with no query, e.g. https://vault.example.com"));
        }
        Ok(Some(url.to_owned()))
    }

    fn pay_to(&self) -> Result<Option<String>> {
        let Some(raw) = self.values.get("x402_pay_to") else { return Ok(None) };
        let text = raw.value.trim();
        let hex = text.strip_prefix("0x").unwrap_or_default();
        if hex.len() != 40 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(self.invalid(raw, "must be an address: 0x and 40 hex digits"));
        }
        Ok(Some(text.to_owned()))
    }

    /// A comma-separated list of non-empty items.
    fn list(&self, key: &str) -> Result<Option<Vec<String>>> {
        let Some(raw) = self.values.get(key) else { return Ok(None) };
        let items: Vec<String> = raw.value.split(',').map(|item| item.trim().to_owned()).collect();
        if items.iter().any(String::is_empty) {
            return Err(self.invalid(raw, "must be a comma-separated list with no empty items"));
        }
        Ok(Some(items))
    }

    /// A comma-separated list of IP addresses and CIDRs (an address is its own /32 or /128).
    fn networks(&self, key: &str) -> Result<Vec<ipnet::IpNet>> {
        let Some(items) = self.list(key)? else { return Ok(Vec::new()) };
        let Some(raw) = self.values.get(key) else { return Ok(Vec::new()) };
        items
            .iter()
            .map(|item| {
                item.parse::<ipnet::IpNet>()
                    .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| self.invalid(raw, &format!("{item:?} is not an IP address or CIDR")))
            })
            .collect()
    }

    fn choice<T: Copy>(&self, key: &str, options: &[(&str, T)]) -> Result<Option<T>> {
        let Some(raw) = self.values.get(key) else { return Ok(None) };
        let wanted = raw.value.trim().to_ascii_lowercase();
        options.iter().find(|(name, _)| *name == wanted).map(|(_, value)| Some(*value)).ok_or_else(|| {
            let names: Vec<&str> = options.iter().map(|(name, _)| *name).collect();
            self.invalid(raw, &format!("must be one of {}", names.join(", ")))
        })
    }

    fn bounded<T>(&self, key: &str, min: T, max: T) -> Result<Option<T>>
    where
        T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let Some(raw) = self.values.get(key) else { return Ok(None) };
        let why = format!("must be a whole number from {min} to {max}");
        let value: T = raw.value.trim().parse().map_err(|_| self.invalid(raw, &why))?;
        if value < min || value > max {
            return Err(self.invalid(raw, &why));
        }
        Ok(Some(value))
    }
}

/// Google's OpenID Connect issuer.
const DEFAULT_OIDC_ISSUER: &str = "https://accounts.google.com";

/// The public x402 facilitator.
const DEFAULT_FACILITATOR: &str = "https://x402.org/facilitator";

fn default_mcp_hosts() -> Vec<String> {
    ["localhost", "127.0.0.1", "::1"].map(str::to_owned).to_vec()
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8443))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(settings: Settings) -> ConfigSources {
        ConfigSources::default().with_settings(&settings).unwrap()
    }

    #[test]
    fn defaults_fill_in_everything() {
        let config = ConfigSources::default().build().unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8443");
        assert_eq!(config.data_dir, PathBuf::from("./oneclaw-data"));
        assert_eq!(config.database_url, "sqlite://./oneclaw-data/oneclaw.db");
        assert_eq!(config.master_key_file, PathBuf::from("./oneclaw-data/master.key"));
        assert_eq!(config.signup, Signup::Open);
        assert_eq!(config.key_provider, KeyProviderKind::Local);
        assert_eq!((config.max_body_bytes, config.access_token_ttl_secs, config.billing), (1024 * 1024, 900, true));
        let for_dir = ServerConfig::for_data_dir(Path::new("/srv/oc")).unwrap();
        assert_eq!(for_dir.database_url, "sqlite:///srv/oc/oneclaw.db");
        assert_eq!(for_dir.free_tier_requests, config.free_tier_requests, "one set of defaults");
    }

    #[test]
    fn flags_and_variables_beat_the_file() {
        let dir = tempfile_dir();
        let file = dir.join("oneclaw.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:1\"\nsignup = \"closed\"\ndata_dir = \"/srv/oc\"\nmax_body_bytes = 2048\n",
        )
        .unwrap();
        let config = ConfigSources::default()
            .with_file(&file)
            .unwrap()
            .with_settings(&Settings { listen: Some("0.0.0.0:3".to_owned()), ..Settings::default() })
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(config.listen.port(), 3);
        assert_eq!((config.signup, config.max_body_bytes), (Signup::Closed, 2048));
        assert_eq!(config.database_url, "sqlite:///srv/oc/oneclaw.db");
    }

    #[test]
    fn unknown_and_invalid_settings_are_named() {
        let err = given(Settings { listen: Some("nowhere".to_owned()), ..Settings::default() })
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains("ONECLAW_LISTEN") && err.contains("--listen") && err.contains("nowhere"), "{err}");
        let err = given(Settings { signup: Some("maybe".to_owned()), ..Settings::default() })
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains("ONECLAW_SIGNUP") && err.contains("open, closed"), "{err}");
        let err = given(Settings { database_url: Some("mysql://x".to_owned()), ..Settings::default() })
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains("--database-url"), "{err}");
        let err = given(Settings { database_url: Some("mysql://root:hunter2@db".to_owned()), ..Settings::default() })
            .build()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--database-url") && !err.contains("hunter2"),
            "a password in a URL is never echoed: {err}"
        );
        let dir = tempfile_dir();
        let file = dir.join("bad.toml");
        std::fs::write(&file, "lisen = \"x\"\n").unwrap();
        let err = ConfigSources::default().with_file(&file).unwrap_err().to_string();
        assert!(err.contains("\"lisen\""), "{err}");
    }

    #[test]
    fn pkcs11_settings_come_together_and_are_checked() {
        let pkcs11 = |extra: Settings| Settings {
            pkcs11_module: Some("/usr/lib/softhsm/libsofthsm2.so".to_owned()),
            pkcs11_token_label: Some("prod".to_owned()),
            ..extra
        };
        let config =
            given(pkcs11(Settings { key_provider: Some("pkcs11".to_owned()), ..Settings::default() })).build().unwrap();
        let settings = config.pkcs11.unwrap();
        assert_eq!((settings.token_label.as_str(), settings.sessions, settings.timeout_ms), ("prod", 2, 5_000));
        assert_eq!(settings.mechanism, "aes-gcm");

        let err = given(Settings { key_provider: Some("pkcs11".to_owned()), ..Settings::default() })
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains("ONECLAW_PKCS11_MODULE"), "{err}");
        let err = given(Settings { pkcs11_module: Some("/x.so".to_owned()), ..Settings::default() })
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains("must be set together"), "{err}");
        let err = given(pkcs11(Settings { pkcs11_mechanism: Some("des".to_owned()), ..Settings::default() }))
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains("ONECLAW_PKCS11_MECHANISM") && err.contains("aes-key-wrap-pad"), "{err}");
        let err = given(pkcs11(Settings { pkcs11_sessions: Some("0".to_owned()), ..Settings::default() }))
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains("--pkcs11-sessions"), "{err}");
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("oneclaw-config-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
