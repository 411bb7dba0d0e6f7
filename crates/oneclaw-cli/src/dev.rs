//! `oneclaw dev`: the newcomer's one command. Serves on embedded defaults and, when the store is
//! empty, creates a first user and org and prints the credentials once.

use crate::serve::{ServeArgs, init_logging, shutdown_signal};
use clap::Args;
use oneclaw_core::clock::SystemClock;
use oneclaw_core::principal::{RequestMeta, Surface};
use oneclaw_core::services::NewAccount;
use oneclaw_server::App;
use oneclaw_types::SecretString;
use std::sync::Arc;

/// The first account `dev` creates.
const DEV_EMAIL: &str = "admin@oneclaw.local";

#[derive(Args, Debug, Default)]
pub struct DevArgs {
    /// Address to listen on [default: 127.0.0.1:8443].
    #[arg(long)]
    listen: Option<String>,
    /// Data directory [default: ./oneclaw-data].
    #[arg(long)]
    data_dir: Option<String>,
}

pub async fn run(args: DevArgs) -> Result<(), String> {
    let serve = ServeArgs { listen: args.listen, data_dir: args.data_dir, ..ServeArgs::default() };
    let config = serve.config().map_err(|err| err.to_string())?;
    init_logging(config.log_format);
    let app = App::build(&config, Arc::new(SystemClock)).await.map_err(|err| err.to_string())?;
    let addr = app.local_addr().map_err(|err| err.to_string())?;
    let url = format!("http://{addr}");
    let users = app.core().deps().store.count_users().await.map_err(|err| err.to_string())?;
    println!("oneclaw dev server: {url}");
    println!("  data: {} (SQLite, local keyring — for development only)", config.data_dir.display());
    if users == 0 {
        let password = first_password();
        let account = NewAccount {
            email: DEV_EMAIL.to_owned(),
            password: password.clone(),
            display_name: Some("Admin".to_owned()),
            invite_token: None,
        };
        app.core()
            .auth()
            .signup(&RequestMeta::internal(Surface::Cli), account)
            .await
            .map_err(|err| format!("cannot create the first user: {err}"))?;
        println!("  created the first user (shown only this once):");
        println!("    email:    {DEV_EMAIL}");
        println!("    password: {}", password.expose());
        println!("  sign in:  curl -s {url}/v1/auth/token -H 'Content-Type: application/json' \\");
        println!("              -d '{{\"email\":\"{DEV_EMAIL}\",\"password\":\"<password>\"}}'");
    } else {
        println!("  the store already has users; sign in with an existing account");
    }
    app.serve(shutdown_signal()).await.map_err(|err| format!("server error: {err}"))
}

/// A random 24-character password from an alphabet that survives copy and paste.
fn first_password() -> SecretString {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let password: String = (0..24).map(|_| char::from(ALPHABET[rand::random_range(0..ALPHABET.len())])).collect();
    SecretString::new(password)
}
