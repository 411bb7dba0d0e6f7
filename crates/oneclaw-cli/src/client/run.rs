//! `oneclaw run -- cmd args…`: starts `cmd` with an environment's variables (or the secrets
//! under a prefix, `db/password` → `DB_PASSWORD`), forwards SIGINT and SIGTERM to it, and exits
//! with its status. Values go from the server to the child's environment and nowhere else, and
//! the credential `oneclaw` used (`ONECLAW_API_KEY`, …) is taken out of the child's environment.

use super::{Common, connect, vault_id};
use crate::error::{CliError, CliResult};
use std::collections::BTreeMap;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    #[arg(long)]
    pub vault: String,
    /// The environment to resolve (optional for an agent tagged with one).
    #[arg(long = "env")]
    pub environment: Option<String>,
    /// The git branch whose preview overrides apply.
    #[arg(long)]
    pub branch: Option<String>,
    /// Instead of environment variables, the secrets under this prefix, each named by its path
    /// in upper case with every other character as `_` (`db/password` → `DB_PASSWORD`).
    #[arg(long, conflicts_with_all = ["environment", "branch"])]
    pub prefix: Option<String>,
    /// Start the command with only these variables, not this shell's environment.
    #[arg(long)]
    pub no_inherit: bool,
    #[command(flatten)]
    pub common: Common,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

/// `db/password` → `DB_PASSWORD`, `api-keys/stripe.live` → `API_KEYS_STRIPE_LIVE`.
pub fn variable_name(path: &str) -> String {
    let name: String =
        path.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) { format!("_{name}") } else { name }
}

pub async fn run(args: RunArgs) -> CliResult<ExitCode> {
    let client = connect(&args.common)?;
    let vault = vault_id(&client, &args.vault).await?;
    let mut vars: BTreeMap<String, oneclaw_types::SecretString> = BTreeMap::new();
    match &args.prefix {
        Some(prefix) => {
            for secret in client.list_secrets(vault, Some(prefix)).await? {
                let value = client.get_secret(vault, &secret.path).await?.value;
                vars.insert(variable_name(&secret.path), value);
            }
        }
        None => {
            let resolved = client.resolve_env(vault, args.environment.as_deref(), args.branch.as_deref()).await?;
            vars.extend(resolved.vars);
        }
    }
    let Some((program, rest)) = args.command.split_first() else {
        return Err(CliError::Usage("name the command to run after --".to_owned()));
    };
    let mut command = tokio::process::Command::new(program);
    command.args(rest);
    if args.no_inherit {
        command.env_clear();
    }
    // The command gets its variables, not the credential that fetched them.
    for name in super::CREDENTIAL_VARIABLES {
        command.env_remove(name);
    }
    command.envs(vars.iter().map(|(k, v)| (k, v.expose())));
    let mut child = command.spawn().map_err(|err| CliError::Spawn(format!("cannot start {program}: {err}")))?;
    drop(vars);
    let status = forward_signals_until_exit(&mut child).await?;
    Ok(exit_code_of(status))
}

/// Waits for the child, passing SIGINT and SIGTERM on to it meanwhile.
async fn forward_signals_until_exit(child: &mut tokio::process::Child) -> CliResult<std::process::ExitStatus> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let pid = child.id().and_then(|id| i32::try_from(id).ok()).and_then(rustix::process::Pid::from_raw);
    let forward = |sig| {
        if let Some(pid) = pid {
            // The child may have exited between the signal and now; nothing else to do.
            let _ = rustix::process::kill_process(pid, sig);
        }
    };
    loop {
        tokio::select! {
            status = child.wait() => return Ok(status?),
            _ = interrupt.recv() => forward(rustix::process::Signal::INT),
            _ = terminate.recv() => forward(rustix::process::Signal::TERM),
        }
    }
}

/// The child's exit status, or 128 + the signal that ended it, as shells report it.
fn exit_code_of(status: std::process::ExitStatus) -> ExitCode {
    use std::os::unix::process::ExitStatusExt;
    let code = status.code().or_else(|| status.signal().map(|sig| 128 + sig)).unwrap_or(1);
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::variable_name;

    #[test]
    fn secret_paths_become_variable_names() {
        assert_eq!(variable_name("db/password"), "DB_PASSWORD");
        assert_eq!(variable_name("api-keys/stripe.live"), "API_KEYS_STRIPE_LIVE");
        assert_eq!(variable_name("2fa/seed"), "_2FA_SEED");
    }
}
