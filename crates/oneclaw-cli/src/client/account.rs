//! `oneclaw login --api-key`, `oneclaw logout` and `oneclaw whoami`.

use super::{Common, DEFAULT_BASE_URL, connect, credentials, print_json};
use crate::error::{CliError, CliResult};
use oneclaw_client::{Client, Credentials, Surface};
use oneclaw_types::SecretString;
use std::io::{IsTerminal, Read};

#[derive(clap::Args, Debug)]
pub struct LoginArgs {
    /// Sign in with a personal API key (`1ck_…`), read from stdin (never from an argument).
    #[arg(long)]
    pub api_key: bool,
    #[command(flatten)]
    pub common: Common,
}

pub async fn login(args: LoginArgs) -> CliResult {
    if !args.api_key {
        return Err(CliError::Usage(
            "sign in with `oneclaw login --api-key` and the key on stdin (make one under API Keys in the dashboard)"
                .to_owned(),
        ));
    }
    if std::io::stdin().is_terminal() {
        eprintln!("Paste the API key (1ck_…), then press Enter:");
    }
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    let key = text.trim();
    if !key.starts_with("1ck_") {
        return Err(CliError::Usage("that is not a personal API key (they start with 1ck_)".to_owned()));
    }
    let base = args
        .common
        .url
        .clone()
        .or_else(|| std::env::var("ONECLAW_BASE_URL").ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
    let key = SecretString::new(key.to_owned());
    let client = Client::new(&base, Credentials::ApiKey(key.clone()), Surface::Cli);
    let me = client.me().await.map_err(|err| match err.kind {
        oneclaw_client::ErrorCode::Unauthenticated => {
            CliError::Auth(format!("the server refused that key: {}", err.detail))
        }
        _ => CliError::Api(err),
    })?;
    let path = credentials::save(&credentials::Stored { base_url: client.base_url().to_owned(), api_key: key })?;
    eprintln!("Signed in to {} as {} (saved in {}).", client.base_url(), me.email, path.display());
    Ok(())
}

pub fn logout() -> CliResult {
    if credentials::remove()? {
        eprintln!(
            "Signed out: the stored key is deleted from this machine. The key itself still works; revoke it under API Keys if it should not."
        );
    } else {
        eprintln!("Not signed in on this machine.");
    }
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct WhoamiArgs {
    #[command(flatten)]
    pub common: Common,
}

pub async fn whoami(args: WhoamiArgs) -> CliResult {
    let client = connect(&args.common)?;
    let agent = std::env::var("ONECLAW_AGENT_API_KEY").is_ok() || std::env::var("ONECLAW_AGENT_TOKEN").is_ok();
    if agent && std::env::var("ONECLAW_API_KEY").is_err() {
        let me = client.agent_me().await?;
        if args.common.json {
            return print_json(&me);
        }
        println!("agent {} ({}) at {}", me.name, me.id, client.base_url());
        return Ok(());
    }
    let me = client.me().await?;
    if args.common.json {
        return print_json(&me);
    }
    println!("{} ({}) at {}", me.email, me.role, client.base_url());
    Ok(())
}
