//! Server configuration: defaults, then a TOML file, then `ONECLAW_*` environment variables, then
//! command-line flags, each overriding the one before. `settings` declares every setting once;
//! `sources` layers and validates them, so an unknown or invalid setting stops start-up with a
//! message that names it.

mod settings;
mod sources;

pub use settings::{Declared, NOT_SETTINGS, Settings, check_environment, declared};
pub use sources::ConfigSources;

use oneclaw_core::Result;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Which key provider holds the vault KEKs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
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
    /// How long a secret read's sealed version may be answered again from memory (0: never);
    /// also how late another node's change may be seen by such a read.
    pub read_cache_ms: u64,
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
    /// Whether webhooks may reach private, loopback and link-local addresses.
    pub webhook_allow_private: bool,
    /// Whether `serve` runs the webhook worker (always, but for tests that deliver by hand).
    pub webhook_worker: bool,
    /// Whether execution intents may reach private addresses a binding names.
    pub execute_allow_private: bool,
    /// HTTPS served directly: the certificate chain and key files (both or neither).
    pub tls: Option<TlsFiles>,
    /// Where `/metrics` is served, apart from the API; none serves no metrics.
    pub metrics_listen: Option<SocketAddr>,
}

/// The PEM files of the certificate the server serves HTTPS with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
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

impl ServerConfig {
    /// Defaults for a data directory: what `oneclaw dev` and the test kit start from.
    pub fn for_data_dir(data_dir: &Path) -> Result<Self> {
        let settings = Settings { data_dir: Some(data_dir.to_string_lossy().into_owned()), ..Settings::default() };
        ConfigSources::default().with_settings(&settings)?.build()
    }
}
