//! Every server setting, declared once: its TOML key (the field), its flag and environment
//! variable (clap derives both, and layers the variable under the flag), and what it means (the
//! doc comment, which is the flag's help). Defaults and validation live in `sources`.
//!
//! Secrets are not settings: the PKCS#11 PIN, the SMTP password, the OIDC client secret and the
//! master key come from the environment only, read where they are used, never from a flag that
//! `ps` would show.

use clap::{Args, CommandFactory, Parser};
use oneclaw_core::{Error, Result};
use serde::Serialize;

/// The server's settings as flags and `ONECLAW_*` variables give them; each flag overrides its
/// variable, and both override the `--config` file.
#[derive(Args, Serialize, Debug, Default, Clone)]
pub struct Settings {
    /// Address to listen on [default: 127.0.0.1:8443].
    #[arg(long, env = "ONECLAW_LISTEN")]
    pub listen: Option<String>,
    /// Data directory for the SQLite file and the master key [default: ./oneclaw-data].
    #[arg(long, env = "ONECLAW_DATA_DIR")]
    pub data_dir: Option<String>,
    /// Database URL: sqlite://FILE or postgres://… [default: SQLite in the data directory].
    #[arg(long, env = "ONECLAW_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Key provider: local or pkcs11 [default: local].
    #[arg(long, env = "ONECLAW_KEY_PROVIDER")]
    pub key_provider: Option<String>,
    /// Master key file of the local keyring [default: DATA_DIR/master.key].
    #[arg(long, env = "ONECLAW_MASTER_KEY_FILE")]
    pub master_key_file: Option<String>,
    /// open or closed [default: open].
    #[arg(long, env = "ONECLAW_SIGNUP")]
    pub signup: Option<String>,
    /// Largest request body in bytes [default: 1048576].
    #[arg(long, env = "ONECLAW_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<String>,
    /// Lifetime of user access tokens in seconds [default: 900].
    #[arg(long, env = "ONECLAW_ACCESS_TOKEN_TTL_SECONDS")]
    pub access_token_ttl_seconds: Option<String>,
    /// text or json [default: text].
    #[arg(long, env = "ONECLAW_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Seconds between signed audit checkpoints [default: 60].
    #[arg(long, env = "ONECLAW_AUDIT_CHECKPOINT_SECONDS")]
    pub audit_checkpoint_seconds: Option<String>,
    /// Seconds before a request is abandoned with 503 [default: 30].
    #[arg(long, env = "ONECLAW_REQUEST_TIMEOUT_SECONDS")]
    pub request_timeout_seconds: Option<String>,
    /// Most unwrapped data keys cached in memory; 0 turns the cache off [default: 10000].
    #[arg(long, env = "ONECLAW_DEK_CACHE_SIZE")]
    pub dek_cache_size: Option<String>,
    /// Seconds an unwrapped data key may be reused [default: 300].
    #[arg(long, env = "ONECLAW_DEK_CACHE_TTL_SECONDS")]
    pub dek_cache_ttl_seconds: Option<String>,
    /// Milliseconds a secret read's sealed version may be answered again from memory; 0 turns
    /// that off [default: 100].
    #[arg(long, env = "ONECLAW_READ_CACHE_MS")]
    pub read_cache_ms: Option<String>,
    /// PKCS#11 module (.so) of the HSM. The PIN comes from ONECLAW_PKCS11_PIN or
    /// --pkcs11-pin-file, never from a flag.
    #[arg(long, env = "ONECLAW_PKCS11_MODULE")]
    pub pkcs11_module: Option<String>,
    /// Label of the HSM token that holds the keys.
    #[arg(long, env = "ONECLAW_PKCS11_TOKEN_LABEL")]
    pub pkcs11_token_label: Option<String>,
    /// File holding the token's user PIN (mode 0600).
    #[arg(long, env = "ONECLAW_PKCS11_PIN_FILE")]
    pub pkcs11_pin_file: Option<String>,
    /// Logged-in HSM sessions kept open [default: 2].
    #[arg(long, env = "ONECLAW_PKCS11_SESSIONS")]
    pub pkcs11_sessions: Option<String>,
    /// aes-gcm or aes-key-wrap-pad [default: aes-gcm].
    #[arg(long, env = "ONECLAW_PKCS11_MECHANISM")]
    pub pkcs11_mechanism: Option<String>,
    /// Milliseconds one HSM call may take before the request fails with 503 [default: 5000].
    #[arg(long, env = "ONECLAW_PKCS11_TIMEOUT_MS")]
    pub pkcs11_timeout_ms: Option<String>,
    /// Host values /mcp accepts, comma-separated; * for any [default: localhost,127.0.0.1,::1].
    #[arg(long, env = "ONECLAW_MCP_ALLOWED_HOSTS")]
    pub mcp_allowed_hosts: Option<String>,
    /// Reverse proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-For and
    /// X-Forwarded-Proto are believed [default: none].
    #[arg(long, env = "ONECLAW_TRUSTED_PROXIES")]
    pub trusted_proxies: Option<String>,
    /// on or off: metering, tier limits and payments [default: on].
    #[arg(long, env = "ONECLAW_BILLING")]
    pub billing: Option<String>,
    /// Requests a month in the free tier [default: 1000].
    #[arg(long, env = "ONECLAW_FREE_TIER_REQUESTS")]
    pub free_tier_requests: Option<String>,
    /// Address (0x…) that x402 payments go to; unset: overage only with credits.
    #[arg(long, env = "ONECLAW_X402_PAY_TO")]
    pub x402_pay_to: Option<String>,
    /// x402 facilitator that settles payments [default: https://x402.org/facilitator].
    #[arg(long, env = "ONECLAW_X402_FACILITATOR_URL")]
    pub x402_facilitator_url: Option<String>,
    /// OpenID Connect issuer for "Sign in with Google" [default: https://accounts.google.com].
    #[arg(long, env = "ONECLAW_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// OpenID Connect client id; sign-in with the provider is on when set (the secret comes
    /// from ONECLAW_OIDC_CLIENT_SECRET).
    #[arg(long, env = "ONECLAW_OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,
    /// Outgoing mail: smtp://host:port, smtp://host:port?tls=starttls or smtps://host:port
    /// (the password comes from ONECLAW_SMTP_PASSWORD) [default: no mail].
    #[arg(long, env = "ONECLAW_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// SMTP user name.
    #[arg(long, env = "ONECLAW_SMTP_USERNAME")]
    pub smtp_username: Option<String>,
    /// The From address of every mail.
    #[arg(long, env = "ONECLAW_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// The base of every link the server hands out, e.g. https://vault.example.com.
    #[arg(long, env = "ONECLAW_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Let webhooks reach private, loopback and link-local addresses (true or false) [default:
    /// false: only public addresses, against server-side request forgery].
    #[arg(long, env = "ONECLAW_WEBHOOK_ALLOW_PRIVATE")]
    pub webhook_allow_private: Option<String>,
    /// Let execution intents reach private, loopback and link-local addresses that a binding
    /// names in guardrails.allow_private_hosts (true or false) [default: false].
    #[arg(long, env = "ONECLAW_EXECUTE_ALLOW_PRIVATE")]
    pub execute_allow_private: Option<String>,
    /// Serve HTTPS directly with this PEM certificate chain (with ONECLAW_TLS_KEY_FILE); read
    /// again on SIGHUP [default: plain HTTP, for a TLS-terminating proxy].
    #[arg(long, env = "ONECLAW_TLS_CERT_FILE")]
    pub tls_cert_file: Option<String>,
    /// The PEM private key of ONECLAW_TLS_CERT_FILE.
    #[arg(long, env = "ONECLAW_TLS_KEY_FILE")]
    pub tls_key_file: Option<String>,
    /// Serve GET /metrics (Prometheus text format) on this address, apart from the API, e.g.
    /// 127.0.0.1:9464 [default: no metrics].
    #[arg(long, env = "ONECLAW_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
}

/// One declared setting as the outside world names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// The TOML key (`listen`).
    pub key: String,
    /// The environment variable (`ONECLAW_LISTEN`).
    pub env: String,
    /// The flag (`--listen`).
    pub flag: String,
}

/// A command that is nothing but the settings, to read clap's view of them.
#[derive(Parser)]
struct SettingsOnly {
    #[command(flatten)]
    settings: Settings,
}

/// Every setting, in declaration order, as clap derived it from `Settings`.
pub fn declared() -> Vec<Declared> {
    SettingsOnly::command()
        .get_arguments()
        .filter_map(|arg| {
            Some(Declared {
                key: arg.get_id().as_str().to_owned(),
                env: arg.get_env()?.to_string_lossy().into_owned(),
                flag: format!("--{}", arg.get_long()?),
            })
        })
        .collect()
}

/// `ONECLAW_*` variables that belong to other commands (the clients, the MCP server, the test
/// suites) or that carry secrets read where they are used. A user has them in the same shell
/// as `oneclaw serve`, which passes over them in silence.
pub const NOT_SETTINGS: &[&str] = &[
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
    "ONECLAW_MASTER_KEY",
    "ONECLAW_PKCS11_PIN",
    "ONECLAW_OIDC_CLIENT_SECRET",
    "ONECLAW_SMTP_PASSWORD",
    "ONECLAW_TEST_DATABASE_URL",
    "ONECLAW_TEST_KEY_PROVIDER",
    "ONECLAW_REQUIRE_HSM_TESTS",
    "ONECLAW_REQUIRE_SMTP_TESTS",
    "ONECLAW_TEST_PYTHON",
];

/// Looks over the `ONECLAW_*` variables that are not settings. One a letter or two away from a
/// setting's name is a typo that would silently leave the setting at its default
/// (`ONECLAW_SINGUP=closed` leaving sign-up open), so it stops start-up; any other unknown one
/// belongs to something else and only earns a warning, returned for the log.
pub fn check_environment(vars: impl IntoIterator<Item = (String, String)>) -> Result<Vec<String>> {
    let declared = declared();
    let mut warnings = Vec::new();
    for (name, _) in vars {
        if !name.starts_with("ONECLAW_")
            || NOT_SETTINGS.contains(&name.as_str())
            || declared.iter().any(|setting| setting.env == name)
        {
            continue;
        }
        if let Some(meant) = declared.iter().find(|setting| looks_like(&name, &setting.env)) {
            return Err(Error::invalid(format!(
                "unknown setting {name} in the environment: did you mean {}?",
                meant.env
            )));
        }
        warnings.push(format!("{name} is not a server setting; oneclaw serve ignores it"));
    }
    Ok(warnings)
}

/// Two variable names a typo apart: at most two edits, or the same but for underscores.
fn looks_like(name: &str, setting: &str) -> bool {
    strsim::levenshtein(name, setting) <= 2 || name.replace('_', "") == setting.replace('_', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(names: &[&str]) -> Vec<(String, String)> {
        names.iter().map(|name| ((*name).to_owned(), "x".to_owned())).collect()
    }

    #[test]
    fn each_setting_has_a_key_a_flag_and_a_variable_of_one_name() {
        let declared = declared();
        assert_eq!(declared.len(), 37);
        for setting in &declared {
            assert_eq!(setting.env, format!("ONECLAW_{}", setting.key.to_ascii_uppercase()), "{setting:?}");
            assert_eq!(setting.flag, format!("--{}", setting.key.replace('_', "-")), "{setting:?}");
        }
        // Secrets are never settings: a flag would show them in `ps`.
        for secret in
            ["ONECLAW_PKCS11_PIN", "ONECLAW_SMTP_PASSWORD", "ONECLAW_OIDC_CLIENT_SECRET", "ONECLAW_MASTER_KEY"]
        {
            assert!(!declared.iter().any(|setting| setting.env == secret), "{secret}");
        }
    }

    /// docs/CONFIGURATION.md's table lists exactly the declared settings, each with its
    /// variable and flag: a setting added, renamed or removed without the docs fails here.
    #[test]
    fn the_configuration_docs_list_exactly_the_settings() {
        let docs = include_str!("../../../../docs/CONFIGURATION.md");
        let cell = |text: &str| text.trim().trim_matches('`').to_owned();
        let mut documented: Vec<Declared> = docs
            .lines()
            .filter(|line| line.starts_with("| `"))
            .map(|line| {
                let cells: Vec<&str> = line.split('|').collect();
                Declared { key: cell(cells[1]), env: cell(cells[2]), flag: cell(cells[3]) }
            })
            .collect();
        let mut declared = declared();
        let order = |a: &Declared, b: &Declared| a.key.cmp(&b.key);
        documented.sort_by(order);
        declared.sort_by(order);
        assert_eq!(documented, declared);
    }

    #[test]
    fn client_variables_never_stop_the_server_and_typos_do() {
        let clients = [
            "ONECLAW_BASE_URL",
            "ONECLAW_API_KEY",
            "ONECLAW_AGENT_ID",
            "ONECLAW_AGENT_API_KEY",
            "ONECLAW_AGENT_TOKEN",
            "ONECLAW_VAULT_ID",
        ];
        assert_eq!(check_environment(env(&clients)).unwrap(), Vec::<String>::new());
        let warned = check_environment(env(&["ONECLAW_PROFILE", "PATH"])).unwrap();
        assert_eq!(warned.len(), 1);
        assert!(warned[0].contains("ONECLAW_PROFILE"), "{warned:?}");
        for typo in ["ONECLAW_SINGUP", "ONECLAW_LISTN", "ONECLAW_DATADIR", "ONECLAW_BILING"] {
            let err = check_environment(env(&[typo])).unwrap_err().to_string();
            assert!(err.contains(typo) && err.contains("did you mean"), "{err}");
        }
    }
}
