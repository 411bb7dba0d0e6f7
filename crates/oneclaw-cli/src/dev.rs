//! `oneclaw dev`: the newcomer's one command. Serves on embedded defaults and, when the store is
//! empty, creates a first user and org and prints the credentials once.

use crate::error::{CliError, CliResult};
use crate::serve::{ServeArgs, shutdown_signal, start};
use clap::Args;
use oneclaw_core::principal::{RequestMeta, Surface};
use oneclaw_core::services::NewAccount;
use oneclaw_types::SecretString;

/// The first account `dev` creates.
const DEV_EMAIL: &str = "admin@oneclaw.local";

/// `serve`'s settings: `dev` is `serve` plus a first account on an empty store.
#[derive(Args, Debug, Default)]
pub struct DevArgs {
    #[command(flatten)]
    serve: ServeArgs,
}

pub async fn run(mut args: DevArgs) -> CliResult {
    // For trying things out: no plan limits, no monthly allowance, unless asked for.
    args.serve.settings.billing.get_or_insert_with(|| "off".to_owned());
    let (app, config) = start(args.serve).await?;
    let url = format!("{}://{}", if app.serves_tls() { "https" } else { "http" }, app.local_addr()?);
    let users = app.core().deps().store.count_users().await?;
    println!("oneclaw dev server: {url}");
    println!("  data: {} (SQLite, local keyring — for development only)", config.data_dir.display());
    match config.billing {
        false => println!("  billing: off, so no plan limits (`--billing on` meters requests as `oneclaw serve` does)"),
        true => println!("  billing: on (the free tier's limits apply, as with `oneclaw serve`)"),
    }
    if users == 0 {
        let password = first_password();
        let account = NewAccount {
            email: DEV_EMAIL.to_owned(),
            password: password.clone(),
            display_name: Some("Admin".to_owned()),
            invite_token: None,
        };
        app.core().auth().signup(&RequestMeta::internal(Surface::Cli), account).await?;
        println!("  created the first user (shown only this once):");
        println!("    email:    {DEV_EMAIL}");
        println!("    password: {}", password.expose());
        println!("  open {url}/ in a browser and sign in with them, or from a shell:");
        println!("    curl -s {url}/v1/auth/token -H 'Content-Type: application/json' \\");
        println!("      -d '{{\"email\":\"{DEV_EMAIL}\",\"password\":\"{}\"}}'", password.expose());
    } else {
        println!("  open {url}/ in a browser; the store already has users, so sign in with yours");
        println!(
            "  lost the password? `oneclaw user reset-password --email {DEV_EMAIL} --data-dir {}` prints a reset link",
            config.data_dir.display()
        );
    }
    app.serve(shutdown_signal()).await.map_err(|err| CliError::Server(err.to_string()))
}

/// A random 24-character password from an alphabet that survives copy and paste.
fn first_password() -> SecretString {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let password: String = (0..24).map(|_| char::from(ALPHABET[rand::random_range(0..ALPHABET.len())])).collect();
    SecretString::new(password)
}
