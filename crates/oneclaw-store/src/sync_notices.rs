//! On PostgreSQL, notices of the changes every node must learn of at once: revoked tokens and
//! sessions, new agent and user credential generations, org IP rules. Migration 0010's triggers
//! send one on the channel `oneclaw_sync` when such a change commits; each node listens on a
//! connection of its own and reloads its revocation list and IP rules on the notice.

use crate::errors::db_error;
use oneclaw_core::Result;
use sqlx::postgres::PgListener;

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
