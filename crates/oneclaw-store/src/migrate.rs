//! Embedded, forward-only migrations, one folder per backend.

use oneclaw_core::Error;
use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use std::borrow::Cow;

/// (version, description, SQL) for SQLite.
const SQLITE: &[(i64, &str, &str)] = &[
    (1, "foundation", include_str!("../migrations/sqlite/0001_foundation.sql")),
    (2, "access model", include_str!("../migrations/sqlite/0002_access_model.sql")),
    (3, "audit chain", include_str!("../migrations/sqlite/0003_audit_chain.sql")),
    (4, "key lifecycle", include_str!("../migrations/sqlite/0004_key_lifecycle.sql")),
    (5, "billing", include_str!("../migrations/sqlite/0005_billing.sql")),
    (6, "mfa", include_str!("../migrations/sqlite/0006_mfa.sql")),
    (7, "trust", include_str!("../migrations/sqlite/0007_trust.sql")),
    (8, "mail", include_str!("../migrations/sqlite/0008_mail.sql")),
    (9, "policy generation", include_str!("../migrations/sqlite/0009_policy_generation.sql")),
    // 10 and 18 are PostgreSQL's change notices, which SQLite (one process) does not need; 19
    // is PostgreSQL's one-statement audit batch (SQLite's is `sqlite_journal.rs`).
    (11, "env vars", include_str!("../migrations/sqlite/0011_env_vars.sql")),
    (12, "device codes", include_str!("../migrations/sqlite/0012_device_codes.sql")),
    (13, "approvals", include_str!("../migrations/sqlite/0013_approvals.sql")),
    (14, "webhooks", include_str!("../migrations/sqlite/0014_webhooks.sql")),
    (15, "approval links", include_str!("../migrations/sqlite/0015_approval_links.sql")),
    (16, "bindings", include_str!("../migrations/sqlite/0016_bindings.sql")),
    (17, "request leases", include_str!("../migrations/sqlite/0017_request_leases.sql")),
    (20, "audit time by seq", include_str!("../migrations/sqlite/0020_audit_time_by_seq.sql")),
];

/// (version, description, SQL) for PostgreSQL.
const POSTGRES: &[(i64, &str, &str)] = &[
    (1, "foundation", include_str!("../migrations/postgres/0001_foundation.sql")),
    (2, "access model", include_str!("../migrations/postgres/0002_access_model.sql")),
    (3, "audit chain", include_str!("../migrations/postgres/0003_audit_chain.sql")),
    (4, "key lifecycle", include_str!("../migrations/postgres/0004_key_lifecycle.sql")),
    (5, "billing", include_str!("../migrations/postgres/0005_billing.sql")),
    (6, "mfa", include_str!("../migrations/postgres/0006_mfa.sql")),
    (7, "trust", include_str!("../migrations/postgres/0007_trust.sql")),
    (8, "mail", include_str!("../migrations/postgres/0008_mail.sql")),
    (9, "policy generation", include_str!("../migrations/postgres/0009_policy_generation.sql")),
    (10, "change notices", include_str!("../migrations/postgres/0010_change_notices.sql")),
    (11, "env vars", include_str!("../migrations/postgres/0011_env_vars.sql")),
    (12, "device codes", include_str!("../migrations/postgres/0012_device_codes.sql")),
    (13, "approvals", include_str!("../migrations/postgres/0013_approvals.sql")),
    (14, "webhooks", include_str!("../migrations/postgres/0014_webhooks.sql")),
    (15, "approval links", include_str!("../migrations/postgres/0015_approval_links.sql")),
    (16, "bindings", include_str!("../migrations/postgres/0016_bindings.sql")),
    (17, "request leases", include_str!("../migrations/postgres/0017_request_leases.sql")),
    (18, "read notices", include_str!("../migrations/postgres/0018_read_notices.sql")),
    (19, "audit batch append", include_str!("../migrations/postgres/0019_audit_batch_append.sql")),
    (20, "audit time by seq", include_str!("../migrations/postgres/0020_audit_time_by_seq.sql")),
];

fn migrator(set: &'static [(i64, &'static str, &'static str)]) -> Migrator {
    let migrations = set
        .iter()
        .map(|(version, description, sql)| {
            Migration::new(*version, Cow::Borrowed(*description), MigrationType::Simple, sql.into_sql_str(), false)
        })
        .collect();
    // `ignore_missing` stays false: a database that has a migration this binary does not know
    // (it was opened by a newer oneclaw) is refused rather than used.
    Migrator::with_migrations(migrations)
}

pub(crate) fn sqlite() -> Migrator {
    migrator(SQLITE)
}

pub(crate) fn postgres() -> Migrator {
    migrator(POSTGRES)
}

pub(crate) fn migrate_error(err: sqlx::migrate::MigrateError) -> Error {
    match err {
        sqlx::migrate::MigrateError::VersionMissing(version) => Error::Unavailable(format!(
            "the database has migration {version}, which this oneclaw does not know: it was used by a newer version; \
             refusing to start (never migrate backwards)"
        )),
        other => Error::Unavailable(format!("database migration failed: {other}")),
    }
}
