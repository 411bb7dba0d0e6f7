//! `oneclaw vaults list|create` and `oneclaw secrets list|get|set|delete|versions|rotate`.

use super::{Common, connect, print_json, print_table, vault_id};
use crate::error::{CliError, CliResult};
use oneclaw_types::SecretString;
use oneclaw_types::secrets::{PutSecretRequest, RotateSecretRequest, SecretMetadataResponse};
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct VaultsArgs {
    #[command(subcommand)]
    pub command: VaultsCommand,
    #[command(flatten)]
    pub common: Common,
}

#[derive(clap::Subcommand, Debug)]
pub enum VaultsCommand {
    /// The vaults you can see.
    List,
    /// Creates a vault.
    Create {
        name: String,
        #[arg(long, default_value = "")]
        description: String,
    },
}

pub async fn vaults(args: VaultsArgs) -> CliResult {
    let client = connect(&args.common)?;
    match args.command {
        VaultsCommand::List => {
            let vaults = client.list_vaults().await?;
            if args.common.json {
                return print_json(&vaults);
            }
            let rows = vaults
                .iter()
                .map(|v| vec![v.name.clone(), v.id.to_string(), v.description.clone()])
                .collect::<Vec<_>>();
            print_table(&["NAME", "ID", "DESCRIPTION"], &rows);
        }
        VaultsCommand::Create { name, description } => {
            let vault = client.create_vault(&name, &description).await?;
            if args.common.json {
                return print_json(&vault);
            }
            println!("{}", vault.id);
        }
    }
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct SecretsArgs {
    #[command(subcommand)]
    pub command: SecretsCommand,
    #[command(flatten)]
    pub common: Common,
}

#[derive(clap::Subcommand, Debug)]
pub enum SecretsCommand {
    /// The secrets of a vault (never values), optionally under a prefix.
    List {
        #[arg(long)]
        vault: String,
        #[arg(long)]
        prefix: Option<String>,
    },
    /// Prints only the value, for `$(oneclaw secrets get …)`.
    Get {
        #[arg(long)]
        vault: String,
        path: String,
    },
    /// Stores a new version; the value comes from stdin or `--from-file`, never an argument.
    Set {
        #[arg(long)]
        vault: String,
        path: String,
        /// Refused: a value on the command line shows in `ps` and the shell's history.
        #[arg(hide = true)]
        value: Option<String>,
        /// Read the value from this file (as is).
        #[arg(long)]
        from_file: Option<PathBuf>,
        /// The secret's type (default generic).
        #[arg(long = "type")]
        secret_type: Option<String>,
    },
    /// Deletes every version (reads then answer 410).
    Delete {
        #[arg(long)]
        vault: String,
        path: String,
    },
    /// Every version, oldest first (never values).
    Versions {
        #[arg(long)]
        vault: String,
        path: String,
    },
    /// A new version with a value the server generates (not printed).
    Rotate {
        #[arg(long)]
        vault: String,
        path: String,
        #[arg(long)]
        length: Option<i64>,
    },
}

fn metadata_rows(secrets: &[SecretMetadataResponse]) -> Vec<Vec<String>> {
    secrets
        .iter()
        .map(|s| vec![s.path.clone(), s.secret_type.clone(), s.version.to_string(), crate::client::when(s.created_at)])
        .collect()
}

pub async fn secrets(args: SecretsArgs) -> CliResult {
    let client = connect(&args.common)?;
    let json = args.common.json;
    match args.command {
        SecretsCommand::List { vault, prefix } => {
            let vault = vault_id(&client, &vault).await?;
            let secrets = client.list_secrets(vault, prefix.as_deref()).await?;
            if json {
                return print_json(&secrets);
            }
            print_table(&["PATH", "TYPE", "VERSION", "WRITTEN"], &metadata_rows(&secrets));
        }
        SecretsCommand::Get { vault, path } => {
            let vault = vault_id(&client, &vault).await?;
            let secret = client.get_secret(vault, &path).await?;
            if json {
                return print_json(&secret);
            }
            let mut out = std::io::stdout().lock();
            out.write_all(secret.value.expose().as_bytes())?;
            if std::io::stdout().is_terminal() {
                out.write_all(b"\n")?;
            }
        }
        SecretsCommand::Set { vault, path, value, from_file, secret_type } => {
            if value.is_some() {
                return Err(CliError::Usage(format!(
                    "a value is never taken from an argument (it would show in `ps` and your shell's history); \
                     pipe it in: `printf %s \"$VALUE\" | oneclaw secrets set --vault {vault} {path}`, or use --from-file"
                )));
            }
            let value = read_value(from_file)?;
            let vault = vault_id(&client, &vault).await?;
            let request = PutSecretRequest {
                secret_type,
                value,
                metadata: None,
                expires_at: None,
                rotation_policy: None,
                max_access_count: None,
            };
            let stored = client.put_secret(vault, &path, &request).await?;
            if json {
                return print_json(&stored);
            }
            eprintln!("Stored {} version {}.", stored.path, stored.version);
        }
        SecretsCommand::Delete { vault, path } => {
            let vault = vault_id(&client, &vault).await?;
            client.delete_secret(vault, &path).await?;
            eprintln!("Deleted {path}.");
        }
        SecretsCommand::Versions { vault, path } => {
            let vault = vault_id(&client, &vault).await?;
            let versions = client.list_versions(vault, &path).await?;
            if json {
                return print_json(&versions);
            }
            print_table(&["PATH", "TYPE", "VERSION", "WRITTEN"], &metadata_rows(&versions));
        }
        SecretsCommand::Rotate { vault, path, length } => {
            let vault = vault_id(&client, &vault).await?;
            let request = RotateSecretRequest { length, charset: None, secret_type: None };
            let stored = client.rotate_secret(vault, &path, &request).await?;
            if json {
                return print_json(&stored);
            }
            eprintln!("Rotated {} to version {} (the new value is not printed).", stored.path, stored.version);
        }
    }
    Ok(())
}

/// The value from a file, or from stdin without its one trailing newline (what `echo` adds).
fn read_value(from_file: Option<PathBuf>) -> CliResult<SecretString> {
    let text = match from_file {
        Some(path) => std::fs::read_to_string(&path)
            .map_err(|err| CliError::Usage(format!("cannot read {}: {err}", path.display())))?,
        None => {
            if std::io::stdin().is_terminal() {
                eprintln!("Type or paste the value, then press Ctrl-D:");
            }
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            let trimmed = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text);
            trimmed.to_owned()
        }
    };
    if text.is_empty() {
        return Err(CliError::Usage("the value is empty".to_owned()));
    }
    Ok(SecretString::new(text))
}
