//! `oneclaw org set-tier` and `oneclaw billing grant-credits`: operator commands on an org's
//! plan, offline against the database with the same configuration as `serve`. Both audited.

use crate::error::{CliError, CliResult};
use crate::serve::ServeArgs;
use clap::{Args, Subcommand};
use oneclaw_core::billing::Tier;
use oneclaw_core::ids::OrgId;
use oneclaw_core::principal::{RequestMeta, Surface};

#[derive(Args, Debug)]
pub struct OrgArgs {
    #[command(subcommand)]
    command: OrgCommand,
}

#[derive(Subcommand, Debug)]
enum OrgCommand {
    /// Set an org's tier: free, pro, business or enterprise.
    SetTier {
        /// The org's id.
        #[arg(long)]
        org: uuid::Uuid,
        /// free, pro, business or enterprise.
        #[arg(long)]
        tier: String,
        #[command(flatten)]
        server: ServeArgs,
    },
}

#[derive(Args, Debug)]
pub struct BillingArgs {
    #[command(subcommand)]
    command: BillingCommand,
}

#[derive(Subcommand, Debug)]
enum BillingCommand {
    /// Grant an org prepaid credits, spent on requests past its monthly allowance.
    GrantCredits {
        /// The org's id.
        #[arg(long)]
        org: uuid::Uuid,
        /// Amount in US cents.
        #[arg(long)]
        cents: i64,
        /// A note for the ledger.
        #[arg(long, default_value = "granted by an operator")]
        description: String,
        #[command(flatten)]
        server: ServeArgs,
    },
}

pub async fn run_org(args: OrgArgs) -> CliResult {
    match args.command {
        OrgCommand::SetTier { org, tier, server } => {
            let tier = Tier::parse(&tier).ok_or_else(|| {
                CliError::Usage(format!("--tier must be free, pro, business or enterprise, not {tier:?}"))
            })?;
            let core = server.open_core().await?;
            core.billing().set_tier(OrgId(org), tier, &RequestMeta::internal(Surface::Cli)).await?;
            println!("org {org} is now on the {} tier", tier.as_str());
            Ok(())
        }
    }
}

pub async fn run_billing(args: BillingArgs) -> CliResult {
    match args.command {
        BillingCommand::GrantCredits { org, cents, description, server } => {
            let micros = cents.checked_mul(10_000).ok_or_else(|| CliError::Usage("--cents is too large".to_owned()))?;
            let core = server.open_core().await?;
            let balance = core
                .billing()
                .grant_credits(OrgId(org), micros, &description, &RequestMeta::internal(Surface::Cli))
                .await?;
            println!("granted {cents} cents to org {org}; balance {} cents", balance / 10_000);
            Ok(())
        }
    }
}
