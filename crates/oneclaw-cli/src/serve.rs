//! `oneclaw serve`: configuration from flags, `--config` TOML and `ONECLAW_*` variables.

use crate::error::{CliError, CliResult};
use clap::Args;
use oneclaw_core::Core;
use oneclaw_core::clock::SystemClock;
use oneclaw_server::config::{LogFormat, Settings, check_environment};
use oneclaw_server::{App, ConfigSources, ServerConfig};
use std::path::PathBuf;
use std::sync::Arc;

/// What every command that opens the server's store takes: `--config FILE`, then every setting
/// as a flag or `ONECLAW_*` variable (declared once, in `oneclaw_server::config::Settings`).
#[derive(Args, Debug, Default)]
pub struct ServeArgs {
    /// TOML configuration file.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Grouped under their own heading, so an operator command's own flags stand out in --help.
    #[command(flatten, next_help_heading = "Server settings (each also read from its ONECLAW_* variable)")]
    pub settings: Settings,
}

impl ServeArgs {
    /// Layers the file, the environment and the flags into a validated configuration. A
    /// mistyped `ONECLAW_*` variable stops here; other unknown ones are returned, to be logged.
    pub fn load(self) -> CliResult<(ServerConfig, Vec<String>)> {
        let warnings = check_environment(std::env::vars())?;
        let mut sources = ConfigSources::default();
        if let Some(file) = &self.config {
            sources = sources.with_file(file)?;
        }
        Ok((sources.with_settings(&self.settings)?.build()?, warnings))
    }

    /// `load`, for the operator commands (which print nothing about other variables).
    pub fn config(self) -> CliResult<ServerConfig> {
        Ok(self.load()?.0)
    }

    /// Opens the store and key provider the configuration names, for an offline operator command.
    pub async fn open_core(self) -> CliResult<Core> {
        let config = self.config()?;
        Ok(oneclaw_server::app::open_core(&config, Arc::new(SystemClock)).await?)
    }
}

/// Starts the configured server; logs where it listens. (`dev` builds on it.)
pub async fn start(args: ServeArgs) -> CliResult<(App, ServerConfig)> {
    let (config, warnings) = args.load()?;
    init_logging(config.log_format);
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    let app = App::build(&config, Arc::new(SystemClock)).await?;
    let addr = app.local_addr()?;
    let scheme = if app.serves_tls() { "https" } else { "http" };
    tracing::info!(%addr, scheme, database = backend_name(&config.database_url), "oneclaw is serving");
    if let Some(metrics) = app.metrics_addr() {
        tracing::info!(%metrics, "metrics at http://{metrics}/metrics");
    }
    Ok((app, config))
}

pub async fn run(args: ServeArgs) -> CliResult {
    let (app, _) = start(args).await?;
    app.serve(shutdown_signal()).await.map_err(|err| CliError::Server(err.to_string()))
}

fn backend_name(url: &str) -> &'static str {
    if url.starts_with("postgres") { "postgres" } else { "sqlite" }
}

/// Libraries that see requests' and answers' contents (MCP messages with secret values, HTTP
/// headers with credentials) at their debug and trace levels: never logged below info,
/// whatever `RUST_LOG` asks (found by the red-team: `RUST_LOG=debug` logged every MCP tool
/// call's value).
const CONTENT_SEEING_LIBRARIES: [&str; 5] = ["rmcp", "hyper", "hyper_util", "reqwest", "h2"];

/// Logs go to stderr; `RUST_LOG` filters them (default: info), within `content_cap`.
pub fn init_logging(format: LogFormat) {
    use tracing_subscriber::layer::{Layer, SubscriberExt};
    use tracing_subscriber::util::SubscriberInitExt;
    // Colours only for a person at a terminal: not in files, journald or an MCP host's log.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(ansi);
    let layer = match format {
        LogFormat::Text => layer.boxed(),
        LogFormat::Json => layer.json().boxed(),
    };
    // Two global filters, both of which an event must pass: `RUST_LOG` (default
    // `info,sqlx=warn`) and, whatever it says, `content_cap`, so no directive of the
    // operator's (a longer target such as `rmcp::service=debug`, a span such as
    // `[serve_inner]=debug`) can lift it. (Global, not per-layer: cheaper on every span.)
    let operator = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let _ = tracing_subscriber::registry().with(operator).with(content_cap()).with(layer).try_init();
}

/// Everything at every level, but the content-seeing libraries at info and above.
fn content_cap() -> tracing_subscriber::filter::Targets {
    CONTENT_SEEING_LIBRARIES.into_iter().fold(
        tracing_subscriber::filter::Targets::new().with_default(tracing::level_filters::LevelFilter::TRACE),
        |cap, library| cap.with_target(library, tracing::level_filters::LevelFilter::INFO),
    )
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

#[cfg(test)]
mod tests {
    use super::content_cap;
    use tracing::Level;
    use tracing_subscriber::layer::SubscriberExt;

    /// Whether an event of `target` at `level` gets through `RUST_LOG=asked` and the cap,
    /// inside a span named `serve_inner` (rmcp's, which a span directive may name).
    fn logs(asked: &str, target: &'static str, level: Level) -> bool {
        let layer = tracing_subscriber::fmt::layer().with_writer(std::io::sink);
        // As `init_logging` stacks them.
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new(asked))
            .with(content_cap())
            .with(layer);
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(target: "rmcp::service", "serve_inner");
            let _inside = span.enter();
            match (target, level) {
                ("rmcp::service", Level::DEBUG) => tracing::enabled!(target: "rmcp::service", Level::DEBUG),
                ("rmcp", Level::INFO) => tracing::enabled!(target: "rmcp", Level::INFO),
                ("hyper::proto", Level::TRACE) => tracing::enabled!(target: "hyper::proto", Level::TRACE),
                ("oneclaw_core", Level::DEBUG) => tracing::enabled!(target: "oneclaw_core", Level::DEBUG),
                _ => unreachable!("not a case of this test"),
            }
        })
    }

    #[test]
    fn libraries_that_see_secret_values_never_log_below_info() {
        let asked_for_more = [
            "debug",
            "trace",
            "debug,rmcp=trace,hyper=trace",
            "rmcp::service=debug,hyper::proto=trace",
            "[serve_inner]=debug",
        ];
        for asked in asked_for_more {
            assert!(!logs(asked, "rmcp::service", Level::DEBUG), "RUST_LOG={asked}: MCP messages carry secret values");
            assert!(!logs(asked, "hyper::proto", Level::TRACE), "RUST_LOG={asked}: HTTP headers carry credentials");
        }
        for asked in ["debug", "trace", "rmcp=info"] {
            assert!(logs(asked, "rmcp", Level::INFO), "RUST_LOG={asked}: the library's own warnings still show");
        }
        assert!(logs("debug", "oneclaw_core", Level::DEBUG), "our own debug logs are untouched");
        assert!(!logs("warn", "rmcp", Level::INFO), "the cap never makes a quiet setting louder");
        assert!(!logs("warn", "oneclaw_core", Level::DEBUG));
    }
}
