//! `oneclaw backup` and `oneclaw restore`: a consistent copy of a SQLite database taken while
//! the server runs, and putting one back while it does not (`oneclaw_store::backup`). The
//! master key file is never in a backup; PostgreSQL is backed up with pg_dump
//! (docs/OPERATIONS.md).

use crate::error::{CliError, CliResult};
use crate::serve::ServeArgs;
use clap::Args;
use oneclaw_server::ServerConfig;
use oneclaw_store::Backend;
use oneclaw_store::backup::BackupReport;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct BackupArgs {
    /// The file to write (it must not exist).
    #[arg(long)]
    to: PathBuf,
    #[command(flatten)]
    server: ServeArgs,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// The backup to put in place of the configured database.
    #[arg(long)]
    from: PathBuf,
    /// Replace a database that exists (never one that is open: stop the server first).
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    server: ServeArgs,
}

/// The configuration, when its database is SQLite (the one these commands handle).
fn sqlite_config(server: ServeArgs) -> CliResult<ServerConfig> {
    let config = server.config()?;
    if Backend::of_url(&config.database_url)? == Backend::Postgres {
        return Err(CliError::Usage(
            "the database is PostgreSQL: back it up with pg_dump and restore it with pg_restore \
             (docs/OPERATIONS.md), which keep every secret version, key and audit event as they are"
                .to_owned(),
        ));
    }
    Ok(config)
}

/// What was copied where and how large, then what to do about the master key.
fn report(done: String, report: &BackupReport, advice: String) -> CliResult {
    println!("{done} ({} bytes, schema version {})", report.bytes, report.schema_version);
    println!("  {advice}");
    Ok(())
}

pub async fn backup(args: BackupArgs) -> CliResult {
    let config = sqlite_config(args.server)?;
    let database = oneclaw_store::backup::sqlite_file(&config.database_url)?;
    let written = oneclaw_store::backup::backup(&config.database_url, &args.to).await?;
    report(
        format!("backed up {} to {}", database.display(), args.to.display()),
        &written,
        format!(
            "the master key is not in it: keep a copy of {} apart from the backup (docs/OPERATIONS.md)",
            config.master_key_file.display()
        ),
    )
}

pub async fn restore(args: RestoreArgs) -> CliResult {
    let config = sqlite_config(args.server)?;
    let database = oneclaw_store::backup::sqlite_file(&config.database_url)?;
    let restored = oneclaw_store::backup::restore(&config.database_url, &args.from, args.force).await?;
    report(
        format!("restored {} from {}", database.display(), args.from.display()),
        &restored,
        format!(
            "next: on a new machine, put the master key the backup was made under at {}; then run `oneclaw audit verify`",
            config.master_key_file.display()
        ),
    )
}
