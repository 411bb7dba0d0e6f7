//! `oneclaw`: the server and its operator commands.

mod audit;
mod dev;
mod error;
mod keys;
mod mcp;
mod org;
mod serve;
mod user;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "oneclaw", version, about = "Self-hosted secrets manager for humans and AI agents")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process; boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the API server.
    Serve(serve::ServeArgs),
    /// Run a development server on embedded defaults (SQLite, local keyring), creating a first
    /// user on an empty store and printing its credentials once.
    Dev(dev::DevArgs),
    /// Verify or export the audit log, offline against the database.
    Audit(audit::AuditArgs),
    /// Rotate vault keys, finish interrupted rotations, migrate between key providers.
    Keys(keys::KeysArgs),
    /// Serve the MCP tools over stdio as one agent (ONECLAW_BASE_URL, ONECLAW_VAULT_ID,
    /// ONECLAW_AGENT_ID + ONECLAW_AGENT_API_KEY, or ONECLAW_AGENT_TOKEN).
    Mcp,
    /// Operator commands on an org (its tier).
    Org(org::OrgArgs),
    /// Operator commands on billing (prepaid credits).
    Billing(org::BillingArgs),
    /// Operator commands on accounts: verify an address, print a password-reset link.
    User(user::UserArgs),
    /// The mail outbox: what is queued, sent and failed.
    Mail(user::MailArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    oneclaw_types::tls::install_provider();

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("oneclaw: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Dev(args) => dev::run(args).await,
            Command::Audit(args) => audit::run(args).await,
            Command::Keys(args) => keys::run(args).await,
            Command::Mcp => mcp::run().await,
            Command::Org(args) => org::run_org(args).await,
            Command::Billing(args) => org::run_billing(args).await,
            Command::User(args) => user::run_user(args).await,
            Command::Mail(args) => user::run_mail(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("oneclaw: {err}");
            err.exit_code()
        }
    }
}
