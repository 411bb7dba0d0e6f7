//! On PostgreSQL, notices of the changes every node must learn of at once: revoked tokens and
//! sessions, new agent and user credential generations, org IP rules. Migration 0010's triggers
//! send one on the channel `oneclaw_sync` when such a change commits; each node listens on a
//! connection of its own and reloads its revocation list and IP rules on the notice.

use crate::errors::db_error;
use crate::hot_reads::HotReads;
use oneclaw_core::Result;
use sqlx::postgres::PgListener;
use std::sync::Weak;

/// The channel the triggers notify.
const CHANNEL: &str = "oneclaw_sync";

/// A node's subscription to change notices.
pub struct SyncNotices(PgListener);

impl SyncNotices {
    /// Listens on a connection of its own to the database at `url`.
    pub async fn listen(url: &str) -> Result<Self> {
        let mut listener = PgListener::connect(url).await.map_err(db_error)?;
        listener.listen(CHANNEL).await.map_err(db_error)?;
        Ok(Self(listener))
    }

    /// Waits for the next notice. It also returns when the connection was lost, since notices
    /// may have been missed meanwhile: either way the caller reloads. The listener reconnects
    /// on the next call; an error means it could not.
    pub async fn next(&mut self) -> Result<()> {
        self.0.try_recv().await.map(|_notice_or_lost_connection| ()).map_err(db_error)
    }
}

/// The channel migration 0018's triggers notify when a vault, policy, secret, version or vault
/// key changes.
const READS_CHANNEL: &str = "oneclaw_reads";

/// Keeps `reads` coherent with other nodes' changes (`hot_reads.rs`): each notice makes what
/// was kept stale, and while the listener is not connected (before it first is, after a lost
/// connection until it is again) nothing is answered from memory. Ends once the store is gone.
pub(crate) async fn follow_read_notices(url: String, reads: Weak<HotReads>) {
    loop {
        match listen_for_reads(&url).await {
            Ok(mut listener) => {
                let Some(held) = reads.upgrade() else { return };
                // Whatever committed before the subscription took hold was not noticed.
                held.noticing(true);
                drop(held);
                loop {
                    let notice = listener.try_recv().await;
                    let Some(held) = reads.upgrade() else { return };
                    match notice {
                        Ok(Some(_)) => held.changed(),
                        // A lost connection: notices may have been missed, and more would be.
                        Ok(None) | Err(_) => {
                            held.noticing(false);
                            break;
                        }
                    }
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for read notices; secret reads go to the database meanwhile");
            }
        }
        if reads.strong_count() == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

async fn listen_for_reads(url: &str) -> Result<PgListener> {
    let mut listener = PgListener::connect(url).await.map_err(db_error)?;
    listener.listen(READS_CHANNEL).await.map_err(db_error)?;
    Ok(listener)
}
