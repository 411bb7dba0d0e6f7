//! `oneclaw`: the server, its operator commands, and the client commands people and CI jobs use
//! (`login`, `secrets`, `run`, `env`…).

mod audit;
mod backup;
mod client;
mod dev;
mod error;
mod keys;
mod mcp;
mod org;
mod serve;
mod user;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

// The server allocates per request (headers, JSON, rows) from many threads at once; glibc's
// allocator took about 13% of its CPU on the secret-read benchmark (`perf`), mimalloc less.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Copy the SQLite database to a file while the server runs (not the master key).
    Backup(backup::BackupArgs),
    /// Put a backup in place of the SQLite database (the server stopped).
    Restore(backup::RestoreArgs),
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
    /// Sign in to a oneclaw server: approve a code in the dashboard, or `--api-key` on stdin.
    #[command(next_help_heading = "Client")]
    Login(client::account::LoginArgs),
    /// End the stored sign-in (a session on the server too) and delete it from this machine.
    Logout(client::Common),
    /// Who the current credentials are.
    Whoami(client::account::WhoamiArgs),
    /// List or create vaults.
    Vaults(client::secrets::VaultsArgs),
    /// List, read, write, delete, version and rotate secrets.
    Secrets(client::secrets::SecretsArgs),
    /// Run a command with an environment's variables (or a prefix's secrets) in its environment.
    Run(client::run::RunArgs),
    /// Export an environment (dotenv, JSON, shell) or import a .env file.
    Env(client::env::EnvArgs),
}

fn main() -> ExitCode {
    // Usage errors exit 1 (the documented status); help and --version exit 0.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() { ExitCode::from(1) } else { ExitCode::SUCCESS };
        }
    };
    oneclaw_types::tls::install_provider();

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("oneclaw: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        if let Command::Run(args) = cli.command {
            return client::run::run(args).await;
        }
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Dev(args) => dev::run(args).await,
            Command::Audit(args) => audit::run(args).await,
            Command::Keys(args) => keys::run(args).await,
            Command::Backup(args) => backup::backup(args).await,
            Command::Restore(args) => backup::restore(args).await,
            Command::Mcp => mcp::run().await,
            Command::Org(args) => org::run_org(args).await,
            Command::Billing(args) => org::run_billing(args).await,
            Command::User(args) => user::run_user(args).await,
            Command::Mail(args) => user::run_mail(args).await,
            Command::Login(args) => client::account::login(args).await,
            Command::Logout(common) => client::account::logout(common).await,
            Command::Whoami(args) => client::account::whoami(args).await,
            Command::Vaults(args) => client::secrets::vaults(args).await,
            Command::Secrets(args) => client::secrets::secrets(args).await,
            Command::Env(args) => client::env::run(args).await,
            Command::Run(_) => Ok(()),
        }
        .map(|()| ExitCode::SUCCESS)
    });
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("oneclaw: {err}");
            err.exit_code()
        }
    }
}
