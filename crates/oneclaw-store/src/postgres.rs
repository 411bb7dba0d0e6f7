//! PostgreSQL backend: many stateless oneclaw nodes may share one database.

use crate::errors::db_error;
use crate::migrate::{migrate_error, postgres as migrator};
use oneclaw_core::Result;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

type Db = sqlx::Postgres;
const BACKEND: &str = "postgres";
/// Reads an org's audit chain head inside a write transaction, locking the row so concurrent writers queue.
const SELECT_HEAD_FOR_APPEND: &str = "SELECT seq, hash FROM audit_heads WHERE org_id = $1 FOR UPDATE";

/// Reads a vault's current KEK in a write transaction, holding it against retirement.
const LOCK_CURRENT_KEK: &str = "SELECT k.version, k.provider, k.handle FROM vaults v \
     JOIN vault_keys k ON k.vault_id = v.id AND k.version = v.kek_version \
     WHERE v.id = $1 AND k.retired_at IS NULL FOR SHARE OF k";
/// Takes an old KEK row before counting the data keys still under it.
const LOCK_KEK_FOR_RETIRE: &str =
    "SELECT version FROM vault_keys WHERE vault_id = $1 AND version = $2 AND destroyed_at IS NULL FOR UPDATE";

async fn begin_write(pool: &sqlx::Pool<Db>) -> Result<sqlx::Transaction<'static, Db>> {
    pool.begin().await.map_err(db_error)
}

// The one query set, compiled here for this backend (see the crate docs).
#[allow(clippy::duplicate_mod)]
#[macro_use]
#[path = "sql_columns.rs"]
mod sql_columns;

#[allow(clippy::duplicate_mod)]
#[path = "sql_rows.rs"]
mod sql_rows;

#[allow(clippy::duplicate_mod)]
#[path = "sql_impl.rs"]
mod sql_impl;

#[allow(clippy::duplicate_mod)]
#[path = "sql_tx.rs"]
mod sql_tx;

#[allow(clippy::duplicate_mod)]
#[path = "sql_audit.rs"]
mod sql_audit;

// The access-model queries, compiled here for this backend as well.
#[allow(clippy::duplicate_mod)]
#[path = "sql_access.rs"]
mod sql_access;

#[allow(clippy::duplicate_mod)]
#[path = "sql_keys.rs"]
mod sql_keys;

#[allow(clippy::duplicate_mod)]
#[path = "sql_billing.rs"]
mod sql_billing;

#[allow(clippy::duplicate_mod)]
#[path = "sql_mfa.rs"]
mod sql_mfa;

#[allow(clippy::duplicate_mod)]
#[path = "sql_trust.rs"]
mod sql_trust;

#[allow(clippy::duplicate_mod)]
#[path = "sql_mail.rs"]
mod sql_mail;

/// The PostgreSQL store.
pub type PgStore = sql_impl::SqlStore;

impl PgStore {
    /// Connects to a `postgres://` URL and migrates the database.
    pub async fn open(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|err| oneclaw_core::Error::invalid(format!("database URL: {err}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // A stalled or absent database answers 503 within this time instead of hanging.
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(db_error)?;
        migrator().run(&pool).await.map_err(migrate_error)?;
        let store = sql_impl::SqlStore::new(pool, crate::write_gate::WriteGate::open());
        store.chain_legacy_audit().await?;
        Ok(store)
    }
}
