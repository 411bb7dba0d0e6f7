//! `oneclaw audit verify` and `oneclaw audit export`: offline, straight against the database
//! (and the key provider, for the checkpoint key), with the same configuration as `serve`.

use crate::serve::ServeArgs;
use clap::{Args, Subcommand};
use oneclaw_core::clock::SystemClock;
use oneclaw_core::ids::OrgId;
use std::io::Write;
use std::sync::Arc;

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

pub async fn run(args: AuditArgs) -> Result<(), String> {
    match args.command {
        AuditCommand::Verify { org, server } => verify(org, server).await,
        AuditCommand::Export { org, after_seq, server } => export(org, after_seq, server).await,
    }
}

async fn open(server: ServeArgs) -> Result<oneclaw_core::Core, String> {
    let config = server.config().map_err(|err| err.to_string())?;
    oneclaw_server::app::open_core(&config, Arc::new(SystemClock)).await.map_err(|err| err.to_string())
}

async fn orgs(core: &oneclaw_core::Core, only: Option<uuid::Uuid>) -> Result<Vec<OrgId>, String> {
    let heads = core.deps().store.audit_heads().await.map_err(|err| err.to_string())?;
    Ok(heads.into_iter().map(|(org, _)| org).filter(|org| only.is_none_or(|only| org.0 == only)).collect())
}

async fn verify(only: Option<uuid::Uuid>, server: ServeArgs) -> Result<(), String> {
    let core = open(server).await?;
    let mut broken = 0;
    for org in orgs(&core, only).await? {
        let report = core.audit().verify_org(org, None, None, i64::MAX).await.map_err(|err| err.to_string())?;
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
    if broken > 0 { Err(format!("{broken} audit chain(s) broken")) } else { Ok(()) }
}

async fn export(only: Option<uuid::Uuid>, after_seq: i64, server: ServeArgs) -> Result<(), String> {
    let core = open(server).await?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for org in orgs(&core, only).await? {
        let mut after = after_seq;
        loop {
            let events =
                core.deps().store.audit_chain(org, after, EXPORT_BATCH).await.map_err(|err| err.to_string())?;
            for event in &events {
                let line = serde_json::to_string(&oneclaw_server::routes::audit::event(event))
                    .map_err(|err| err.to_string())?;
                writeln!(out, "{line}").map_err(|err| format!("cannot write: {err}"))?;
                after = event.link.map_or(after + 1, |l| l.seq);
            }
            if events.len() < usize::try_from(EXPORT_BATCH).unwrap_or(usize::MAX) {
                break;
            }
        }
    }
    out.flush().map_err(|err| format!("cannot write: {err}"))
}
