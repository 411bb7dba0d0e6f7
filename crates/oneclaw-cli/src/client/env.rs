//! `oneclaw env export` (dotenv, JSON or shell) and `oneclaw env import` (a `.env` file, as
//! dotenv tools read it: quoting, `export ` prefixes, comments, multi-line values).

use super::{Common, connect, print_json, vault_id};
use crate::error::{CliError, CliResult};
use oneclaw_types::SecretString;
use oneclaw_types::env_vars::{CreateEnvVarRequest, UpdateEnvVarRequest};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct EnvArgs {
    #[command(subcommand)]
    pub command: EnvCommand,
    #[command(flatten)]
    pub common: Common,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Format {
    /// `KEY='value'` lines.
    Dotenv,
    /// One JSON object.
    Json,
    /// `export KEY='value'` lines for `eval`.
    Shell,
}

#[derive(clap::Subcommand, Debug)]
pub enum EnvCommand {
    /// Prints an environment's variables (resolved: shared, vault, branch override).
    Export {
        #[arg(long)]
        vault: String,
        #[arg(long = "env")]
        environment: Option<String>,
        #[arg(long)]
        branch: Option<String>,
        #[arg(long, value_enum, default_value = "dotenv")]
        format: Format,
    },
    /// Reads a `.env` file into an environment: new keys are created, existing ones get a new
    /// version. A malformed file is refused before anything is written.
    Import {
        #[arg(long)]
        vault: String,
        #[arg(long = "env")]
        environment: String,
        file: PathBuf,
    },
}

pub async fn run(args: EnvArgs) -> CliResult {
    match args.command {
        EnvCommand::Export { vault, environment, branch, format } => {
            let client = connect(&args.common)?;
            let vault = vault_id(&client, &vault).await?;
            let resolved = client.resolve_env(vault, environment.as_deref(), branch.as_deref()).await?;
            let vars: BTreeMap<&str, &str> = resolved.vars.iter().map(|(k, v)| (k.as_str(), v.expose())).collect();
            let text = match format {
                Format::Json => return print_json(&vars),
                Format::Dotenv => oneclaw_core::env_vars::dotenv(vars.iter().map(|(k, v)| (*k, *v))),
                Format::Shell => shell(&vars),
            };
            std::io::stdout().lock().write_all(text.as_bytes())?;
        }
        EnvCommand::Import { vault, environment, file } => {
            let pairs = parse_file(&file)?;
            let client = connect(&args.common)?;
            let vault = vault_id(&client, &vault).await?;
            let existing: Vec<String> = client
                .list_env_vars(vault, Some(&environment))
                .await?
                .into_iter()
                .filter(|v| v.git_branch.is_none())
                .map(|v| v.key)
                .collect();
            let (mut created, mut updated) = (Vec::new(), Vec::new());
            for (key, value) in pairs {
                let value = SecretString::new(value);
                if existing.contains(&key) {
                    let request = UpdateEnvVarRequest { value: Some(value), ..UpdateEnvVarRequest::default() };
                    client.update_env_var(vault, &key, Some(&environment), &request).await?;
                    updated.push(key);
                } else {
                    let request = CreateEnvVarRequest {
                        key: key.clone(),
                        value,
                        environments: Some(vec![environment.clone()]),
                        git_branch: None,
                        sensitive: None,
                        comment: None,
                    };
                    client.create_env_var(vault, &request).await?;
                    created.push(key);
                }
            }
            if args.common.json {
                return print_json(&serde_json::json!({"created": created, "updated": updated}));
            }
            let list = |keys: &[String]| if keys.is_empty() { "none".to_owned() } else { keys.join(", ") };
            println!("Created {}: {}", created.len(), list(&created));
            println!("Updated {}: {}", updated.len(), list(&updated));
        }
    }
    Ok(())
}

/// The file's pairs, in order, or why it cannot be read; nothing is written before this passes.
/// `$VAR` in unquoted and double-quoted values expands as dotenv tools do from the file's earlier
/// lines; single-quoted values are taken literally. A value that would pull something from this
/// shell's environment refuses the file: a `.env` from elsewhere must not copy a CI job's
/// secrets (or oneclaw's own credential) into a vault.
fn parse_file(file: &PathBuf) -> CliResult<Vec<(String, String)>> {
    let raw = std::fs::read_to_string(file)
        .map_err(|err| CliError::Usage(format!("cannot read {}: {err}", file.display())))?;
    let mut pairs: Vec<(String, String)> = Vec::new();
    for item in dotenvy::from_read_iter(raw.as_bytes()) {
        // The parser's own message quotes the rest of the file, values included: never shown.
        let (key, value) = item.map_err(|_| {
            CliError::Usage(format!(
                "{} is not a valid .env file (a quote left open, or a line that is not KEY=value); nothing was imported",
                file.display()
            ))
        })?;
        oneclaw_core::env_vars::checked_key(&key).map_err(|_| {
            CliError::Usage(format!("{}: {key:?} is not a variable name; nothing was imported", file.display()))
        })?;
        match pairs.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => pairs.push((key, value)),
        }
    }
    if let Some(name) = taken_from_environment(&raw, &pairs) {
        return Err(CliError::Usage(format!(
            "{} takes ${name} from this shell's environment; define it in the file or single-quote \
             the value; nothing was imported",
            file.display()
        )));
    }
    Ok(pairs)
}

/// The name of an environment variable whose value got into a parsed value by expansion: in a
/// value but nowhere in the file's own text. (Values under 8 characters are too common to tell.)
fn taken_from_environment(raw: &str, pairs: &[(String, String)]) -> Option<String> {
    std::env::vars().find_map(|(name, value)| {
        let expanded = value.len() >= 8 && !raw.contains(&value) && pairs.iter().any(|(_, v)| v.contains(&value));
        expanded.then_some(name)
    })
}

/// `export KEY='value'` lines, each value single-quoted for a POSIX shell.
fn shell(vars: &BTreeMap<&str, &str>) -> String {
    vars.iter().map(|(key, value)| format!("export {key}='{}'\n", value.replace('\'', "'\\''"))).collect()
}
