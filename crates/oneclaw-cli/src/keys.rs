//! `oneclaw keys`: rotate vault KEKs, finish interrupted rotations, move a deployment between
//! the local keyring and PKCS#11, and show where every vault's key lives. Offline against the
//! database and the key providers, with the same configuration as `serve`; safe to run while
//! servers are serving (each step is a transaction that they see).

use crate::error::CliResult;
use crate::serve::ServeArgs;
use clap::{Args, Subcommand};
use oneclaw_core::Core;
use oneclaw_core::clock::SystemClock;
use oneclaw_core::ids::VaultId;
use oneclaw_core::principal::{RequestMeta, Surface};
use oneclaw_core::services::KeyRotation;
use oneclaw_server::config::KeyProviderKind;
use std::sync::Arc;

#[derive(Args, Debug)]
pub struct KeysArgs {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Rotate one vault's KEK (new version, every data key re-wrapped, old KEK destroyed), or
    /// with --resume finish every rotation a crash left half done.
    Rotate {
        /// The vault whose KEK to rotate.
        #[arg(long, required_unless_present = "resume", conflicts_with = "resume")]
        vault: Option<uuid::Uuid>,
        /// Finish interrupted rotations instead.
        #[arg(long)]
        resume: bool,
        /// Data keys re-wrapped per transaction.
        #[arg(long, default_value_t = 200)]
        batch_size: i64,
        #[command(flatten)]
        server: ServeArgs,
    },
    /// Move every vault KEK and the server secrets to another key provider (local or pkcs11).
    /// Both providers must be configured; servers keep reading throughout. Afterwards, start
    /// servers with the new ONECLAW_KEY_PROVIDER.
    Migrate {
        /// The provider to move to.
        #[arg(long, value_enum)]
        to: KeyProviderKind,
        /// Data keys re-wrapped per transaction.
        #[arg(long, default_value_t = 200)]
        batch_size: i64,
        #[command(flatten)]
        server: ServeArgs,
    },
    /// Show each vault's current KEK version and provider, and any rotation still pending.
    Status {
        #[command(flatten)]
        server: ServeArgs,
    },
}

pub async fn run(args: KeysArgs) -> CliResult {
    let meta = RequestMeta::internal(Surface::Cli);
    match args.command {
        KeysCommand::Rotate { vault, resume, batch_size, server } => {
            let core = open(server, None).await?;
            let keys = core.keys().with_page_size(batch_size);
            let rotations = match vault {
                Some(vault) if !resume => vec![keys.rotate_as_operator(VaultId(vault), &meta).await?],
                _ => keys.finish_pending(&meta).await?,
            };
            if rotations.is_empty() {
                println!("no rotation was pending");
            }
            rotations.iter().for_each(print_rotation);
            Ok(())
        }
        KeysCommand::Migrate { to, batch_size, server } => {
            let core = open(server, Some(to)).await?;
            let report = core.keys().with_page_size(batch_size).migrate_to_active(&meta).await?;
            report.vaults.iter().for_each(print_rotation);
            println!(
                "{} vault(s) now on {}; {} server secret(s) resealed; start servers with ONECLAW_KEY_PROVIDER={}",
                report.vaults.len(),
                report.provider,
                report.system_secrets_resealed,
                report.provider
            );
            Ok(())
        }
        KeysCommand::Status { server } => {
            let core = open(server, None).await?;
            status(&core).await
        }
    }
}

async fn open(server: ServeArgs, active: Option<KeyProviderKind>) -> CliResult<Core> {
    let mut config = server.config()?;
    if let Some(active) = active {
        config.key_provider = active;
    }
    Ok(oneclaw_server::app::open_core(&config, Arc::new(SystemClock)).await?)
}

async fn status(core: &Core) -> CliResult {
    let store = &core.deps().store;
    let pending = store.vaults_with_old_keys().await?;
    // Every vault: no provider is called "".
    let mut vaults = store.vaults_off_provider("").await?;
    vaults.sort_by_key(|id| id.0);
    if vaults.is_empty() {
        println!("no vaults");
    }
    for vault in vaults {
        let (current, keys) = core.keys().history_as_operator(vault).await?;
        let provider = keys.iter().find(|k| k.kek.version == current).map_or("?", |k| k.kek.provider.as_str());
        let state = if pending.contains(&vault) { "rotation pending" } else { "ok" };
        println!("{vault}  KEK v{current}  {provider}  {state}");
    }
    Ok(())
}

fn print_rotation(rotation: &KeyRotation) {
    println!(
        "vault {}: KEK v{} ({}), {} data key(s) re-wrapped, destroyed {:?}",
        rotation.vault_id, rotation.kek_version, rotation.provider, rotation.rewrapped, rotation.destroyed_versions
    );
}
