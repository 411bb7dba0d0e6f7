//! `oneclaw serve`: configuration from flags, `--config` TOML and `ONECLAW_*` variables.

use clap::Args;
use oneclaw_core::clock::SystemClock;
use oneclaw_server::config::LogFormat;
use oneclaw_server::{App, ConfigSources, ServerConfig};
use std::path::PathBuf;
use std::sync::Arc;

/// Flags of `serve`; each overrides the same setting from the environment and the file.
#[derive(Args, Debug, Default)]
pub struct ServeArgs {
    /// TOML configuration file.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8443].
    #[arg(long)]
    pub listen: Option<String>,
    /// Data directory for the SQLite file and the master key [default: ./oneclaw-data].
    #[arg(long)]
    pub data_dir: Option<String>,
    /// Database URL: sqlite://FILE or postgres://… [default: SQLite in the data directory].
    #[arg(long)]
    pub database_url: Option<String>,
    /// Key provider: local or pkcs11 [default: local].
    #[arg(long)]
    pub key_provider: Option<String>,
    /// Master key file of the local keyring [default: DATA_DIR/master.key].
    #[arg(long)]
    pub master_key_file: Option<String>,
    /// open or closed [default: open].
    #[arg(long)]
    pub signup: Option<String>,
    /// Largest request body in bytes [default: 1048576].
    #[arg(long)]
    pub max_body_bytes: Option<String>,
    /// Lifetime of user access tokens in seconds [default: 900].
    #[arg(long)]
    pub access_token_ttl_seconds: Option<String>,
    /// text or json [default: text].
    #[arg(long)]
    pub log_format: Option<String>,
    /// Seconds between signed audit checkpoints [default: 60].
    #[arg(long)]
    pub audit_checkpoint_seconds: Option<String>,
    /// Seconds before a request is abandoned with 503 [default: 30].
    #[arg(long)]
    pub request_timeout_seconds: Option<String>,
    /// Most unwrapped data keys cached in memory; 0 turns the cache off [default: 10000].
    #[arg(long)]
    pub dek_cache_size: Option<String>,
    /// Seconds an unwrapped data key may be reused [default: 300].
    #[arg(long)]
    pub dek_cache_ttl_seconds: Option<String>,
    /// PKCS#11 module (.so) of the HSM. The PIN comes from ONECLAW_PKCS11_PIN or
    /// --pkcs11-pin-file, never from a flag.
    #[arg(long)]
    pub pkcs11_module: Option<String>,
    /// Label of the HSM token that holds the keys.
    #[arg(long)]
    pub pkcs11_token_label: Option<String>,
    /// File holding the token's user PIN (mode 0600).
    #[arg(long)]
    pub pkcs11_pin_file: Option<String>,
    /// Logged-in HSM sessions kept open [default: 2].
    #[arg(long)]
    pub pkcs11_sessions: Option<String>,
    /// aes-gcm or aes-key-wrap-pad [default: aes-gcm].
    #[arg(long)]
    pub pkcs11_mechanism: Option<String>,
    /// Milliseconds one HSM call may take before the request fails with 503 [default: 5000].
    #[arg(long)]
    pub pkcs11_timeout_ms: Option<String>,
    /// Host values /mcp accepts, comma-separated; * for any [default: localhost,127.0.0.1,::1].
    #[arg(long)]
    pub mcp_allowed_hosts: Option<String>,
    /// Reverse proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-For and
    /// X-Forwarded-Proto are believed [default: none].
    #[arg(long)]
    pub trusted_proxies: Option<String>,
    /// on or off: metering, tier limits and payments [default: on].
    #[arg(long)]
    pub billing: Option<String>,
    /// Requests a month in the free tier [default: 1000].
    #[arg(long)]
    pub free_tier_requests: Option<String>,
    /// Address (0x…) that x402 payments go to; unset: overage only with credits.
    #[arg(long)]
    pub x402_pay_to: Option<String>,
    /// x402 facilitator that settles payments [default: https://x402.org/facilitator].
    #[arg(long)]
    pub x402_facilitator_url: Option<String>,
    /// OpenID Connect issuer for "Sign in with Google" [default: https://accounts.google.com].
    #[arg(long)]
    pub oidc_issuer: Option<String>,
    /// OpenID Connect client id; sign-in with the provider is on when set (the secret comes
    /// from ONECLAW_OIDC_CLIENT_SECRET).
    #[arg(long)]
    pub oidc_client_id: Option<String>,
    /// Outgoing mail: smtp://host:port, smtp://host:port?tls=starttls or smtps://host:port
    /// (the password comes from ONECLAW_SMTP_PASSWORD) [default: no mail].
    #[arg(long)]
    pub smtp_url: Option<String>,
    /// SMTP user name.
    #[arg(long)]
    pub smtp_username: Option<String>,
    /// The From address of every mail.
    #[arg(long)]
    pub smtp_from: Option<String>,
    /// The base of every link the server hands out, e.g. https://vault.example.com.
    #[arg(long)]
    pub public_url: Option<String>,
}

impl ServeArgs {
    /// Layers the file, the environment and these flags into a validated configuration.
    pub fn config(self) -> oneclaw_core::Result<ServerConfig> {
        let mut sources = ConfigSources::default();
        if let Some(file) = &self.config {
            sources = sources.with_file(file)?;
        }
        sources
            .with_env(std::env::vars())?
            .with_flag("listen", self.listen)?
            .with_flag("data_dir", self.data_dir)?
            .with_flag("database_url", self.database_url)?
            .with_flag("key_provider", self.key_provider)?
            .with_flag("master_key_file", self.master_key_file)?
            .with_flag("signup", self.signup)?
            .with_flag("max_body_bytes", self.max_body_bytes)?
            .with_flag("access_token_ttl_seconds", self.access_token_ttl_seconds)?
            .with_flag("log_format", self.log_format)?
            .with_flag("audit_checkpoint_seconds", self.audit_checkpoint_seconds)?
            .with_flag("request_timeout_seconds", self.request_timeout_seconds)?
            .with_flag("dek_cache_size", self.dek_cache_size)?
            .with_flag("dek_cache_ttl_seconds", self.dek_cache_ttl_seconds)?
            .with_flag("pkcs11_module", self.pkcs11_module)?
            .with_flag("pkcs11_token_label", self.pkcs11_token_label)?
            .with_flag("pkcs11_pin_file", self.pkcs11_pin_file)?
            .with_flag("pkcs11_sessions", self.pkcs11_sessions)?
            .with_flag("pkcs11_mechanism", self.pkcs11_mechanism)?
            .with_flag("pkcs11_timeout_ms", self.pkcs11_timeout_ms)?
            .with_flag("mcp_allowed_hosts", self.mcp_allowed_hosts)?
            .with_flag("trusted_proxies", self.trusted_proxies)?
            .with_flag("billing", self.billing)?
            .with_flag("free_tier_requests", self.free_tier_requests)?
            .with_flag("x402_pay_to", self.x402_pay_to)?
            .with_flag("x402_facilitator_url", self.x402_facilitator_url)?
            .with_flag("oidc_issuer", self.oidc_issuer)?
            .with_flag("oidc_client_id", self.oidc_client_id)?
            .with_flag("smtp_url", self.smtp_url)?
            .with_flag("smtp_username", self.smtp_username)?
            .with_flag("smtp_from", self.smtp_from)?
            .with_flag("public_url", self.public_url)?
            .build()
    }
}

pub async fn run(args: ServeArgs) -> Result<(), String> {
    let config = args.config().map_err(|err| err.to_string())?;
    init_logging(config.log_format);
    let app = App::build(&config, Arc::new(SystemClock)).await.map_err(|err| err.to_string())?;
    let addr = app.local_addr().map_err(|err| err.to_string())?;
    tracing::info!(%addr, database = backend_name(&config.database_url), "oneclaw is serving");
    app.serve(shutdown_signal()).await.map_err(|err| format!("server error: {err}"))
}

fn backend_name(url: &str) -> &'static str {
    if url.starts_with("postgres") { "postgres" } else { "sqlite" }
}

/// Logs go to stderr; `RUST_LOG` filters them (default: info).
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
