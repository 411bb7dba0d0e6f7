//! `oneclaw login` (the device flow: approve the printed code in the dashboard), `oneclaw login
//! --api-key`, `oneclaw logout` and `oneclaw whoami`.

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
    /// The account to sign in as (the device flow; asked for when not given).
    #[arg(long, conflicts_with = "api_key")]
    pub email: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

fn base_url(common: &Common) -> String {
    common
        .url
        .clone()
        .or_else(|| std::env::var("ONECLAW_BASE_URL").ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned())
}

pub async fn login(args: LoginArgs) -> CliResult {
    if !args.api_key {
        return login_with_device(args).await;
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
    let base = base_url(&args.common);
    let key = SecretString::new(key.to_owned());
    let client = Client::new(&base, Credentials::ApiKey(key.clone()), Surface::Cli);
    let me = client.me().await.map_err(|err| match err.kind {
        oneclaw_client::ErrorCode::Unauthenticated => {
            CliError::Auth(format!("the server refused that key: {}", err.detail))
        }
        _ => CliError::Api(err),
    })?;
    let stored = credentials::Stored {
        base_url: client.base_url().to_owned(),
        api_key: Some(key),
        email: Some(me.email.clone()),
        refresh_token: None,
        access_token: None,
        access_expires_at: None,
    };
    let path = credentials::save(&stored)?;
    eprintln!("Signed in to {} as {} (saved in {}).", client.base_url(), me.email, path.display());
    Ok(())
}

/// The device flow: a code for the account, approved by its human in the dashboard.
async fn login_with_device(args: LoginArgs) -> CliResult {
    let email = match args.email {
        Some(email) => email,
        None => {
            eprint!("Email of your oneclaw account: ");
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim().to_owned()
        }
    };
    if email.is_empty() {
        return Err(CliError::Usage("name the account: `oneclaw login --email you@example.com`".to_owned()));
    }
    let base = base_url(&args.common);
    // The flow's two calls need no credentials; the token is a placeholder never sent.
    let client = Client::new(&base, Credentials::Token(SecretString::new(String::new())), Surface::Cli);
    let started = client.device_code("oneclaw-cli", &email).await?;
    eprintln!("To sign in, open {} and approve the code {}", started.verification_uri_complete(), started.user_code);
    eprintln!("(or open {} and type it). Waiting…", started.verification_uri);
    let mut interval = std::time::Duration::from_secs(u64::try_from(started.interval.max(1)).unwrap_or(5));
    let deadline =
        std::time::Instant::now() + std::time::Duration::from_secs(u64::try_from(started.expires_in).unwrap_or(600));
    loop {
        tokio::time::sleep(interval).await;
        let polled = client.device_token(&started.device_code).await?;
        let (answer, refresh_token) = (polled.token, polled.refresh_token);
        match answer.error.as_deref() {
            None => {
                let (Some(access), Some(refresh)) = (answer.access_token, refresh_token) else {
                    return Err(CliError::Auth("the server answered without a session; try again".to_owned()));
                };
                let lifetime =
                    std::time::Duration::from_secs(u64::try_from(answer.expires_in.unwrap_or(0)).unwrap_or(0));
                let expires = std::time::SystemTime::now() + lifetime;
                let stored = credentials::Stored {
                    base_url: client.base_url().to_owned(),
                    api_key: None,
                    email: answer.email.clone(),
                    refresh_token: Some(refresh),
                    access_token: Some(access),
                    access_expires_at: expires.duration_since(std::time::UNIX_EPOCH).ok().map(|d| d.as_secs()),
                };
                let path = credentials::save(&stored)?;
                let who = answer.email.unwrap_or(email);
                eprintln!("Signed in to {} as {who} (saved in {}).", client.base_url(), path.display());
                return Ok(());
            }
            Some("authorization_pending") => {}
            Some("slow_down") => interval += std::time::Duration::from_secs(5),
            Some("access_denied") => return Err(CliError::Auth("the sign-in was denied in the dashboard".to_owned())),
            Some(_) => {
                return Err(CliError::Auth(
                    "the code expired before it was approved; run `oneclaw login` again".to_owned(),
                ));
            }
        }
        if std::time::Instant::now() > deadline {
            return Err(CliError::Auth(
                "the code expired before it was approved; run `oneclaw login` again".to_owned(),
            ));
        }
    }
}

pub async fn logout(common: Common) -> CliResult {
    let Some(stored) = credentials::load()? else {
        eprintln!("Not signed in on this machine.");
        return Ok(());
    };
    if stored.refresh_token.is_some() {
        // A session is ended on the server too (its refresh token with it); the file goes
        // whether or not the server could be reached.
        let ended = match super::connect(&Common { url: Some(stored.base_url.clone()), ..common }) {
            Ok(client) => client.sign_out().await.map_err(|err| err.to_string()),
            Err(err) => Err(err.to_string()),
        };
        credentials::remove()?;
        match ended {
            Ok(()) => eprintln!("Signed out: the session is ended and its tokens are deleted from this machine."),
            Err(err) => eprintln!(
                "Deleted the session's tokens from this machine, but could not end it on the server ({err}): \
                 it stays valid until it expires; sign out everywhere by changing your password."
            ),
        }
        return Ok(());
    }
    credentials::remove()?;
    eprintln!(
        "Signed out: the stored key is deleted from this machine. The key itself still works; revoke it under API Keys if it should not."
    );
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
