//! `oneclaw audit verify` and `oneclaw audit export`: offline, straight against the database
//! (and the key provider, for the checkpoint key), with the same configuration as `serve`.

use crate::error::{CliError, CliResult};
use crate::serve::ServeArgs;
use clap::{Args, Subcommand};
use oneclaw_core::ids::OrgId;
use std::io::Write;

#[derive(Args, Debug)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Subcommand, Debug)]
enum AuditCommand {
    /// Verify every org's hash chain and signed checkpoints; exit 1 if any is broken.
    Verify {
        /// Only this org.
        #[arg(long)]
        org: Option<uuid::Uuid>,
        #[command(flatten)]
        server: ServeArgs,
    },
    /// Write every event as one JSON object per line (for a SIEM), in chain order.
    Export {
        /// Only this org.
        #[arg(long)]
        org: Option<uuid::Uuid>,
        /// Only events after this position in the chain (resume an export).
        #[arg(long, default_value_t = 0)]
        after_seq: i64,
        #[command(flatten)]
        server: ServeArgs,
    },
}

const EXPORT_BATCH: i64 = 5000;

pub async fn run(args: AuditArgs) -> CliResult {
    match args.command {
        AuditCommand::Verify { org, server } => verify(org, server).await,
        AuditCommand::Export { org, after_seq, server } => export(org, after_seq, server).await,
    }
}

async fn orgs(core: &oneclaw_core::Core, only: Option<uuid::Uuid>) -> CliResult<Vec<OrgId>> {
    let heads = core.deps().store.audit_heads().await?;
    Ok(heads.into_iter().map(|(org, _)| org).filter(|org| only.is_none_or(|only| org.0 == only)).collect())
}

async fn verify(only: Option<uuid::Uuid>, server: ServeArgs) -> CliResult {
    let core = server.open_core().await?;
    let mut broken = 0;
    for org in orgs(&core, only).await? {
        let report = core.audit().verify_org(org, None, None, i64::MAX).await?;
        if report.chain_valid {
            println!(
                "org {org}: valid ({} events, {} checkpoints)",
                report.events_verified, report.checkpoints_checked
            );
        } else {
            broken += 1;
            let at = report.broken_at_event_id.map_or_else(|| "-".to_owned(), |id| id.to_string());
            println!(
                "org {org}: BROKEN at event {} (seq {}): {}",
                at,
                report.broken_at_seq.unwrap_or_default(),
                report.reason.unwrap_or_default()
            );
        }
    }
    if broken > 0 { Err(CliError::Found(format!("{broken} audit chain(s) broken"))) } else { Ok(()) }
}

async fn export(only: Option<uuid::Uuid>, after_seq: i64, server: ServeArgs) -> CliResult {
    let core = server.open_core().await?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for org in orgs(&core, only).await? {
        let mut after = after_seq;
        loop {
            let events = core.deps().store.audit_chain(org, after, EXPORT_BATCH).await?;
            for event in &events {
                serde_json::to_writer(&mut out, &oneclaw_server::routes::audit::record(event))
                    .map_err(std::io::Error::from)?;
                writeln!(out)?;
                after = event.link.map_or(after + 1, |l| l.seq);
            }
            if events.len() < usize::try_from(EXPORT_BATCH).unwrap_or(usize::MAX) {
                break;
            }
        }
    }
    Ok(out.flush()?)
}
