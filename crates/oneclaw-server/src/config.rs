//! Server configuration: defaults, then a TOML file, then `ONECLAW_*` environment variables, then
//! command-line flags, each overriding the one before. Every setting is validated once, here;
//! an unknown or invalid setting stops start-up with a message that names it.

use oneclaw_core::{Error, Result};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Which key provider holds the vault KEKs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyProviderKind {
    Local,
    Pkcs11,
}

/// Whether anyone may sign up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signup {
    Open,
    Closed,
}

/// Log line format on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub key_provider: KeyProviderKind,
    pub master_key_file: PathBuf,
    pub signup: Signup,
    pub max_body_bytes: usize,
    pub access_token_ttl_secs: i64,
    pub log_format: LogFormat,
    /// How often every org's audit chain head is signed as a checkpoint.
    pub audit_checkpoint_secs: u64,
    /// How long a request may take before it is answered 503.
    pub request_timeout_secs: u64,
    /// Most unwrapped data keys kept in memory (0: no cache).
    pub dek_cache_size: usize,
    /// How long an unwrapped data key may be reused.
    pub dek_cache_ttl_secs: u64,
    /// Where the PKCS#11 token is, if one is configured (required for `key_provider = pkcs11`).
    pub pkcs11: Option<Pkcs11Settings>,
    /// `Host` values `/mcp` accepts (DNS-rebinding protection); `*` accepts any.
    pub mcp_allowed_hosts: Vec<String>,
    /// Reverse proxies whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed (none by default).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Metering, tier limits and payments (off for a private deployment).
    pub billing: bool,
    /// Requests a month in the free tier.
    pub free_tier_requests: i64,
    /// The address x402 payments go to; without it, requests past the allowance can only be
    /// paid with credits.
    pub x402_pay_to: Option<String>,
    /// The x402 facilitator that settles payments.
    pub x402_facilitator_url: String,
    /// OpenID Connect sign-in ("Sign in with Google"): on when a client id is set. The client
    /// secret comes from `ONECLAW_OIDC_CLIENT_SECRET`, never from a flag.
    pub oidc_issuer: String,
    pub oidc_client_id: Option<String>,
    /// Outgoing mail; none sends no mail (links are shown to people instead).
    pub smtp: Option<SmtpSettings>,
    /// The base of every link the server hands out (mails, `share_url`); without it, links use
    /// the address the request reached (or `http://LISTEN` in mails).
    pub public_url: Option<String>,
    /// Whether `serve` runs the mail worker (always, but for tests that deliver by hand).
    pub mail_worker: bool,
}

/// Where mail goes. The password is not among them: it comes from `ONECLAW_SMTP_PASSWORD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    /// `smtp://host:port`, `smtp://host:port?tls=starttls` or `smtps://host:port`.
    pub url: String,
    pub username: Option<String>,
    pub from: String,
}

/// The PKCS#11 settings. The PIN is not among them: it comes from `ONECLAW_PKCS11_PIN` or the
/// file `pin_file` names, never from a flag that `ps` would show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkcs11Settings {
    pub module: PathBuf,
    pub token_label: String,
    pub pin_file: Option<PathBuf>,
    pub sessions: usize,
    pub mechanism: String,
    pub timeout_ms: u64,
}

/// One setting: its TOML key, its environment variable, its flag, and what it means.
struct Setting {
    key: &'static str,
    env: &'static str,
    flag: &'static str,
}

const SETTINGS: &[Setting] = &[
    Setting { key: "listen", env: "ONECLAW_LISTEN", flag: "--listen" },
    Setting { key: "data_dir", env: "ONECLAW_DATA_DIR", flag: "--data-dir" },
    Setting { key: "database_url", env: "ONECLAW_DATABASE_URL", flag: "--database-url" },
    Setting { key: "key_provider", env: "ONECLAW_KEY_PROVIDER", flag: "--key-provider" },
    Setting { key: "master_key_file", env: "ONECLAW_MASTER_KEY_FILE", flag: "--master-key-file" },
    Setting { key: "signup", env: "ONECLAW_SIGNUP", flag: "--signup" },
    Setting { key: "max_body_bytes", env: "ONECLAW_MAX_BODY_BYTES", flag: "--max-body-bytes" },
    Setting {
        key: "access_token_ttl_seconds",
        env: "ONECLAW_ACCESS_TOKEN_TTL_SECONDS",
        flag: "--access-token-ttl-seconds",
    },
    Setting { key: "log_format", env: "ONECLAW_LOG_FORMAT", flag: "--log-format" },
    Setting {
        key: "audit_checkpoint_seconds",
        env: "ONECLAW_AUDIT_CHECKPOINT_SECONDS",
        flag: "--audit-checkpoint-seconds",
    },
    Setting {
        key: "request_timeout_seconds",
        env: "ONECLAW_REQUEST_TIMEOUT_SECONDS",
        flag: "--request-timeout-seconds",
    },
    Setting { key: "dek_cache_size", env: "ONECLAW_DEK_CACHE_SIZE", flag: "--dek-cache-size" },
    Setting { key: "dek_cache_ttl_seconds", env: "ONECLAW_DEK_CACHE_TTL_SECONDS", flag: "--dek-cache-ttl-seconds" },
    Setting { key: "pkcs11_module", env: "ONECLAW_PKCS11_MODULE", flag: "--pkcs11-module" },
    Setting { key: "pkcs11_token_label", env: "ONECLAW_PKCS11_TOKEN_LABEL", flag: "--pkcs11-token-label" },
    Setting { key: "pkcs11_pin_file", env: "ONECLAW_PKCS11_PIN_FILE", flag: "--pkcs11-pin-file" },
    Setting { key: "pkcs11_sessions", env: "ONECLAW_PKCS11_SESSIONS", flag: "--pkcs11-sessions" },
    Setting { key: "pkcs11_mechanism", env: "ONECLAW_PKCS11_MECHANISM", flag: "--pkcs11-mechanism" },
    Setting { key: "pkcs11_timeout_ms", env: "ONECLAW_PKCS11_TIMEOUT_MS", flag: "--pkcs11-timeout-ms" },
    Setting { key: "mcp_allowed_hosts", env: "ONECLAW_MCP_ALLOWED_HOSTS", flag: "--mcp-allowed-hosts" },
    Setting { key: "trusted_proxies", env: "ONECLAW_TRUSTED_PROXIES", flag: "--trusted-proxies" },
    Setting { key: "billing", env: "ONECLAW_BILLING", flag: "--billing" },
    Setting { key: "free_tier_requests", env: "ONECLAW_FREE_TIER_REQUESTS", flag: "--free-tier-requests" },
    Setting { key: "x402_pay_to", env: "ONECLAW_X402_PAY_TO", flag: "--x402-pay-to" },
    Setting { key: "x402_facilitator_url", env: "ONECLAW_X402_FACILITATOR_URL", flag: "--x402-facilitator-url" },
    Setting { key: "oidc_issuer", env: "ONECLAW_OIDC_ISSUER", flag: "--oidc-issuer" },
    Setting { key: "oidc_client_id", env: "ONECLAW_OIDC_CLIENT_ID", flag: "--oidc-client-id" },
    Setting { key: "smtp_url", env: "ONECLAW_SMTP_URL", flag: "--smtp-url" },
    Setting { key: "smtp_username", env: "ONECLAW_SMTP_USERNAME", flag: "--smtp-username" },
    Setting { key: "smtp_from", env: "ONECLAW_SMTP_FROM", flag: "--smtp-from" },
    Setting { key: "public_url", env: "ONECLAW_PUBLIC_URL", flag: "--public-url" },
];

/// `ONECLAW_*` variables that belong to other commands (clients, the MCP server, tests) and
/// that `serve` therefore ignores instead of refusing.
const CLIENT_ENV: &[&str] = &[
    "ONECLAW_BASE_URL",
    "ONECLAW_API_URL",
    "ONECLAW_VAULT_ID",
    "ONECLAW_AGENT_ID",
    "ONECLAW_AGENT_API_KEY",
    "ONECLAW_AGENT_TOKEN",
    "ONECLAW_API_KEY",
    "ONECLAW_TOKEN",
    "ONECLAW_RUNTIME_ID",
    "ONECLAW_DPOP",
    "ONECLAW_TEST_DATABASE_URL",
    "ONECLAW_MASTER_KEY",
    // Secrets and test switches read where they are used, never through a flag.
    "ONECLAW_PKCS11_PIN",
    "ONECLAW_OIDC_CLIENT_SECRET",
    "ONECLAW_SMTP_PASSWORD",
    "ONECLAW_TEST_KEY_PROVIDER",
    "ONECLAW_REQUIRE_HSM_TESTS",
    "ONECLAW_REQUIRE_SMTP_TESTS",
    "ONECLAW_TEST_PYTHON",
];

/// A raw value and where it came from, so errors can name the source.
#[derive(Debug, Clone)]
struct Raw {
    value: String,
    source: String,
}

/// Collects raw settings from every source, later sources overriding earlier ones.
#[derive(Debug, Default)]
pub struct ConfigSources {
    values: BTreeMap<&'static str, Raw>,
}

impl ConfigSources {
    /// Reads a TOML file. Unknown keys are errors.
    pub fn with_file(mut self, path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|err| Error::invalid(format!("cannot read the config file {}: {err}", path.display())))?;
        let table: toml::Table = text
            .parse()
            .map_err(|err| Error::invalid(format!("config file {} is not valid TOML: {err}", path.display())))?;
        for (key, value) in table {
            let setting = SETTINGS
                .iter()
                .find(|s| s.key == key)
                .ok_or_else(|| Error::invalid(format!("unknown setting {key:?} in config file {}", path.display())))?;
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
            self.values.insert(setting.key, Raw { value, source: format!("{key} in {}", path.display()) });
        }
        Ok(self)
    }

    /// Reads `ONECLAW_*` variables. Unknown ones are errors, so a typo cannot go unnoticed.
    pub fn with_env(mut self, vars: impl IntoIterator<Item = (String, String)>) -> Result<Self> {
        for (name, value) in vars {
            if !name.starts_with("ONECLAW_") || CLIENT_ENV.contains(&name.as_str()) {
                continue;
            }
            let setting = SETTINGS.iter().find(|s| s.env == name).ok_or_else(|| {
                Error::invalid(format!("unknown setting {name} in the environment (known: {})", known_env()))
            })?;
            self.values.insert(setting.key, Raw { value, source: name });
        }
        Ok(self)
    }

    /// Applies a command-line flag given by its TOML key (`listen`, `data_dir`, …).
    pub fn with_flag(mut self, key: &str, value: Option<String>) -> Result<Self> {
        let setting = SETTINGS
            .iter()
            .find(|s| s.key == key)
            .ok_or_else(|| Error::Internal(format!("flag for unknown setting {key}")))?;
        if let Some(value) = value {
            self.values.insert(setting.key, Raw { value, source: setting.flag.to_owned() });
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

fn known_env() -> String {
    SETTINGS.iter().map(|s| s.env).collect::<Vec<_>>().join(", ")
}

impl ServerConfig {
    /// Defaults for a data directory: what `oneclaw dev` and the test kit start from.
    pub fn for_data_dir(data_dir: &Path) -> Self {
        Self {
            listen: default_listen(),
            data_dir: data_dir.to_owned(),
            database_url: oneclaw_store::default_sqlite_url(data_dir),
            key_provider: KeyProviderKind::Local,
            master_key_file: data_dir.join("master.key"),
            signup: Signup::Open,
            max_body_bytes: 1024 * 1024,
            access_token_ttl_secs: 900,
            log_format: LogFormat::Text,
            audit_checkpoint_secs: 60,
            request_timeout_secs: 30,
            dek_cache_size: 10_000,
            dek_cache_ttl_secs: 300,
            pkcs11: None,
            mcp_allowed_hosts: default_mcp_hosts(),
            trusted_proxies: Vec::new(),
            billing: true,
            free_tier_requests: 1_000,
            x402_pay_to: None,
            x402_facilitator_url: DEFAULT_FACILITATOR.to_owned(),
            oidc_issuer: DEFAULT_OIDC_ISSUER.to_owned(),
            oidc_client_id: None,
            smtp: None,
            public_url: None,
            mail_worker: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
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
    }

    #[test]
    fn flags_beat_env_which_beats_the_file() {
        let dir = tempfile_dir();
        let file = dir.join("oneclaw.toml");
        std::fs::write(&file, "listen = \"0.0.0.0:1\"\nsignup = \"closed\"\ndata_dir = \"/srv/oc\"\n").unwrap();
        let config = ConfigSources::default()
            .with_file(&file)
            .unwrap()
            .with_env(env(&[("ONECLAW_LISTEN", "0.0.0.0:2"), ("PATH", "/bin")]))
            .unwrap()
            .with_flag("listen", Some("0.0.0.0:3".to_owned()))
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(config.listen.port(), 3);
        assert_eq!(config.signup, Signup::Closed);
        assert_eq!(config.database_url, "sqlite:///srv/oc/oneclaw.db");
    }

    #[test]
    fn unknown_and_invalid_settings_are_named() {
        let err = ConfigSources::default().with_env(env(&[("ONECLAW_LISTN", "x")])).unwrap_err().to_string();
        assert!(err.contains("ONECLAW_LISTN"), "{err}");
        let err = ConfigSources::default()
            .with_env(env(&[("ONECLAW_LISTEN", "nowhere")]))
            .unwrap()
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains("ONECLAW_LISTEN") && err.contains("nowhere"), "{err}");
        let err = ConfigSources::default()
            .with_env(env(&[("ONECLAW_SIGNUP", "maybe")]))
            .unwrap()
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains("ONECLAW_SIGNUP") && err.contains("open, closed"), "{err}");
        let err = ConfigSources::default()
            .with_flag("database_url", Some("mysql://x".to_owned()))
            .unwrap()
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains("--database-url"), "{err}");
        let dir = tempfile_dir();
        let file = dir.join("bad.toml");
        std::fs::write(&file, "lisen = \"x\"\n").unwrap();
        let err = ConfigSources::default().with_file(&file).unwrap_err().to_string();
        assert!(err.contains("\"lisen\""), "{err}");
    }

    #[test]
    fn client_variables_are_ignored_by_the_server() {
        assert!(ConfigSources::default().with_env(env(&[("ONECLAW_BASE_URL", "http://x")])).is_ok());
    }

    #[test]
    fn pkcs11_settings_come_together_and_are_checked() {
        let config = ConfigSources::default()
            .with_env(env(&[
                ("ONECLAW_KEY_PROVIDER", "pkcs11"),
                ("ONECLAW_PKCS11_MODULE", "/usr/lib/softhsm/libsofthsm2.so"),
                ("ONECLAW_PKCS11_TOKEN_LABEL", "prod"),
                ("ONECLAW_PKCS11_PIN", "not-a-setting"),
            ]))
            .unwrap()
            .build()
            .unwrap();
        let pkcs11 = config.pkcs11.unwrap();
        assert_eq!((pkcs11.token_label.as_str(), pkcs11.sessions, pkcs11.timeout_ms), ("prod", 2, 5_000));
        assert_eq!(pkcs11.mechanism, "aes-gcm");
        assert!(!format!("{pkcs11:?}").contains("not-a-setting"), "the PIN is never a setting");

        let err = ConfigSources::default()
            .with_env(env(&[("ONECLAW_KEY_PROVIDER", "pkcs11")]))
            .unwrap()
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains("ONECLAW_PKCS11_MODULE"), "{err}");
        let err = ConfigSources::default()
            .with_env(env(&[("ONECLAW_PKCS11_MODULE", "/x.so")]))
            .unwrap()
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains("must be set together"), "{err}");
        let err = ConfigSources::default()
            .with_env(env(&[
                ("ONECLAW_PKCS11_MODULE", "/x.so"),
                ("ONECLAW_PKCS11_TOKEN_LABEL", "t"),
                ("ONECLAW_PKCS11_MECHANISM", "des"),
            ]))
            .unwrap()
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains("ONECLAW_PKCS11_MECHANISM") && err.contains("aes-key-wrap-pad"), "{err}");
        let err = ConfigSources::default()
            .with_flag("pkcs11_sessions", Some("0".to_owned()))
            .unwrap()
            .with_flag("pkcs11_module", Some("/x.so".to_owned()))
            .unwrap()
            .with_flag("pkcs11_token_label", Some("t".to_owned()))
            .unwrap()
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
