//! `oneclaw user verify|reset-password` and `oneclaw mail status`: operator commands for
//! accounts and the mail outbox, offline against the database with the same configuration as
//! `serve`. With no mail server they are how an operator hands over what mail would carry.

use crate::error::CliResult;
use crate::serve::ServeArgs;
use clap::{Args, Subcommand};
use oneclaw_core::principal::{RequestMeta, Surface};

#[derive(Args, Debug)]
pub struct UserArgs {
    #[command(subcommand)]
    command: UserCommand,
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Mark an account's email address verified.
    Verify {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        server: ServeArgs,
    },
    /// Print a one-time password-reset link (one hour) to hand to the account's owner.
    ResetPassword {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        server: ServeArgs,
    },
}

#[derive(Args, Debug)]
pub struct MailArgs {
    #[command(subcommand)]
    command: MailCommand,
}

#[derive(Subcommand, Debug)]
enum MailCommand {
    /// The outbox: counts of queued, sent and failed mail, and the newest that are not sent.
    Status {
        #[command(flatten)]
        server: ServeArgs,
    },
}

pub async fn run_user(args: UserArgs) -> CliResult {
    let meta = RequestMeta::internal(Surface::Cli);
    match args.command {
        UserCommand::Verify { email, server } => {
            let core = server.open_core().await?;
            let user = core.accounts().mark_verified(&meta, &email).await?;
            println!("{} is verified", user.email);
        }
        UserCommand::ResetPassword { email, server } => {
            let core = server.open_core().await?;
            let link = core.accounts().reset_link(&meta, &email).await?;
            // The link is the credential: printed once, for the operator to hand over.
            println!("{link}");
            eprintln!("It works once, within one hour, and signs out every session of {email}.");
        }
    }
    Ok(())
}

pub async fn run_mail(args: MailArgs) -> CliResult {
    match args.command {
        MailCommand::Status { server } => {
            let core = server.open_core().await?;
            let mails = core.mail().status(10_000).await?;
            let sent = mails.iter().filter(|m| m.sent_at.is_some()).count();
            let failed: Vec<_> = mails.iter().filter(|m| m.failed_at.is_some()).collect();
            let queued: Vec<_> = mails.iter().filter(|m| m.sent_at.is_none() && m.failed_at.is_none()).collect();
            println!("queued {}, sent {}, failed {}", queued.len(), sent, failed.len());
            for mail in failed.iter().chain(queued.iter()).take(50) {
                let state = if mail.failed_at.is_some() { "FAILED" } else { "queued" };
                println!(
                    "{state} {} {} to {} after {} attempt(s): {}",
                    mail.id,
                    mail.kind,
                    mail.recipient,
                    mail.attempts,
                    mail.last_error.as_deref().unwrap_or("not tried yet")
                );
            }
        }
    }
    Ok(())
}
