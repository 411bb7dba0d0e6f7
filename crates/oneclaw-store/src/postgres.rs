//! PostgreSQL backend: many stateless oneclaw nodes may share one database.

use crate::backend::{SqlBackend, Tx, run_statements_on};
use crate::errors::db_error;
use crate::migrate::{migrate_error, postgres as migrator};
use crate::sql_impl::SqlStore;
use oneclaw_core::Result;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

impl SqlBackend for sqlx::Postgres {
    const BACKEND_NAME: &'static str = "postgres";
    const MULTIPLE_STATEMENTS: bool = false;
    // No join for the newest event's time here: after waiting for the lock, READ COMMITTED
    // rechecks the updated head against the event row the join found before, which no longer
    // matches, so `newest` would come back NULL. A second statement (a fresh snapshot) reads it.
    const SELECT_HEAD_FOR_APPEND: &'static str =
        "SELECT seq, hash, CAST(NULL AS BIGINT) AS newest FROM audit_heads WHERE org_id = $1 FOR UPDATE";
    const LOCK_CURRENT_KEK: &'static str = "SELECT k.version, k.provider, k.handle FROM vaults v \
     JOIN vault_keys k ON k.vault_id = v.id AND k.version = v.kek_version \
     WHERE v.id = $1 AND k.retired_at IS NULL FOR SHARE OF k";
    // The KEK row is locked FOR SHARE in a statement of its own.
    const NEXT_VERSION_WITH_KEK: Option<&'static str> = None;
    const LOCK_KEK_FOR_RETIRE: &'static str =
        "SELECT version FROM vault_keys WHERE vault_id = $1 AND version = $2 AND destroyed_at IS NULL FOR UPDATE";

    const LOCK_VAULT_ENVIRONMENTS: &'static str = "SELECT id FROM vaults WHERE id = $1 FOR NO KEY UPDATE";

    async fn begin_write(pool: &sqlx::Pool<Self>) -> Result<Tx<Self>> {
        pool.begin().await.map_err(db_error)
    }

    run_statements_on!(bind_postgres, push_postgres);
}

/// A pooled connection idle at least this long is pinged before use, and replaced if it does
/// not answer. One used more recently is not: under load that ping was a round trip per
/// request. So after the database restarts, a connection used less than this before is found
/// broken by the request that takes it, which is answered 503 (and the connection closed).
/// The same window as HikariCP's `aliveBypassWindowMs`.
pub const PING_IDLE_AFTER: Duration = Duration::from_millis(500);

/// The PostgreSQL store.
pub type PgStore = SqlStore<sqlx::Postgres>;

impl PgStore {
    /// Connects to a `postgres://` URL and migrates the database.
    pub async fn open(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|err| oneclaw_core::Error::invalid(format!("database URL: {err}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // A ping before every use was a round trip per request (reads +15-28% without it,
            // alternated on this machine); a connection in use moments ago is taken as it is,
            // and one idle longer is checked first, as before.
            .test_before_acquire(false)
            .before_acquire(|connection, meta| {
                Box::pin(async move {
                    use sqlx::Connection;
                    Ok(meta.idle_for < PING_IDLE_AFTER || connection.ping().await.is_ok())
                })
            })
            // A stalled or absent database answers 503 within this time instead of hanging.
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(db_error)?;
        migrator().run(&pool).await.map_err(migrate_error)?;
        let appends = crate::pg_chain_appends::ChainAppends::new(pool.clone());
        let store = SqlStore::new(pool, crate::write_gate::WriteGate::open()).with_chain_appends(appends);
        store.chain_legacy_audit().await?;
        store.follow_other_nodes(url);
        Ok(store)
    }
}
