//! Upgrades lose nothing: a SQLite database written by the schema main had before issue 12
//! (migrations 1–6, as at beeec40) opens with this binary, which applies 7 (`trust`) and 8
//! (`mail`), and every row it held is still there and means what it meant; one written before
//! migration 17 keeps its request counts.

use oneclaw_core::ids::{OrgId, UserId};
use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use std::borrow::Cow;
use std::str::FromStr;

/// SQLite's migrations as main had them before migration 17 (request leases).
const BEFORE_LEASES: &[(i64, &str, &str)] = &[
    (1, "foundation", include_str!("../../migrations/sqlite/0001_foundation.sql")),
    (2, "access model", include_str!("../../migrations/sqlite/0002_access_model.sql")),
    (3, "audit chain", include_str!("../../migrations/sqlite/0003_audit_chain.sql")),
    (4, "key lifecycle", include_str!("../../migrations/sqlite/0004_key_lifecycle.sql")),
    (5, "billing", include_str!("../../migrations/sqlite/0005_billing.sql")),
    (6, "mfa", include_str!("../../migrations/sqlite/0006_mfa.sql")),
    (7, "trust", include_str!("../../migrations/sqlite/0007_trust.sql")),
    (8, "mail", include_str!("../../migrations/sqlite/0008_mail.sql")),
    (9, "policy generation", include_str!("../../migrations/sqlite/0009_policy_generation.sql")),
    (11, "env vars", include_str!("../../migrations/sqlite/0011_env_vars.sql")),
    (12, "device codes", include_str!("../../migrations/sqlite/0012_device_codes.sql")),
    (13, "approvals", include_str!("../../migrations/sqlite/0013_approvals.sql")),
    (14, "webhooks", include_str!("../../migrations/sqlite/0014_webhooks.sql")),
    (15, "approval links", include_str!("../../migrations/sqlite/0015_approval_links.sql")),
    (16, "bindings", include_str!("../../migrations/sqlite/0016_bindings.sql")),
];

/// Migrations 1–6, as main had them before issue 12.
const BEFORE: &[(i64, &str, &str)] = BEFORE_LEASES.split_at(6).0;

/// A SQLite database in a new folder with exactly `migrations` applied, as an earlier main
/// left it: the folder (kept while the test runs), its URL and a connection to fill it.
async fn database_at(
    migrations: &[(i64, &'static str, &'static str)],
) -> (tempfile::TempDir, String, sqlx::SqlitePool) {
    let dir = tempfile::tempdir().unwrap();
    let url = oneclaw_store::default_sqlite_url(dir.path());
    let options = SqliteConnectOptions::from_str(&url).unwrap().create_if_missing(true);
    let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
    let migrations = migrations
        .iter()
        .map(|(v, d, sql)| Migration::new(*v, Cow::Borrowed(*d), MigrationType::Simple, sql.into_sql_str(), false))
        .collect();
    Migrator::with_migrations(migrations).run(&pool).await.unwrap();
    (dir, url, pool)
}

/// An org as an earlier main wrote it.
async fn old_org(pool: &sqlx::SqlitePool) -> uuid::Uuid {
    let org = uuid::Uuid::now_v7();
    sqlx::query("INSERT INTO orgs (id, name, created_at) VALUES ($1, 'old org', 1)")
        .bind(org)
        .execute(pool)
        .await
        .unwrap();
    org
}

#[tokio::test]
async fn a_database_from_before_the_trust_and_mail_migrations_opens_with_everything_in_it() {
    let (_dir, url, pool) = database_at(BEFORE).await;

    let (org, owner, removed) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    sqlx::query("INSERT INTO orgs (id, name, created_at) VALUES ($1, 'old org', 1)")
        .bind(org)
        .execute(&pool)
        .await
        .unwrap();
    let user = "INSERT INTO users (id, org_id, email, display_name, password_hash, role, auth_method, email_verified, \
                marketing_emails, totp_enabled, created_at, disabled_at) VALUES ($1, $2, $3, 'x', $4, $5, 'password', \
                FALSE, FALSE, FALSE, 1, $6)";
    sqlx::query(user)
        .bind(owner)
        .bind(org)
        .bind("owner@old.example")
        .bind("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo")
        .bind("owner")
        .bind(None::<i64>)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(user)
        .bind(removed)
        .bind(org)
        .bind("gone@old.example")
        .bind(None::<String>)
        .bind("member")
        .bind(Some(2_i64))
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO invites (id, org_id, email, role, invited_by, created_at, accepted_at) \
         VALUES ($1, $2, 'someone@old.example', 'member', $3, 1, NULL)",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(org)
    .bind(owner)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let store = oneclaw_store::open(&url).await.unwrap();
    let kept = store.user(UserId(owner)).await.unwrap().expect("the owner is still there");
    assert_eq!(kept.email, "owner@old.example");
    assert_eq!(kept.password_hash.as_deref(), Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"));
    assert_eq!(kept.credential_generation, 0, "tokens of active users keep working");
    let generations = store.user_generations().await.unwrap();
    assert_eq!(generations, vec![(removed, 1)], "a member removed before stays shut out by generation");
    let invites = store.invites(OrgId(org)).await.unwrap();
    assert_eq!(invites.len(), 1, "the old invitation is kept, as history");
    let now = oneclaw_core::clock::Clock::now(&oneclaw_core::clock::SystemClock);
    assert!(!invites[0].is_open(now), "but it has no token and admits nobody");
    assert!(store.due_mails(now, 10).await.unwrap().is_empty());
    // Opening again applies nothing new.
    oneclaw_store::open(&url).await.unwrap();
}

/// Migration 17 (request leases): a month counted by the schema before it keeps its count,
/// and the first lease starts after the places those requests had.
#[tokio::test]
async fn request_counts_from_before_leases_keep_their_places() {
    let (_dir, url, pool) = database_at(BEFORE_LEASES).await;
    let org = old_org(&pool).await;
    sqlx::query("INSERT INTO usage_counters (org_id, month, requests) VALUES ($1, '2026-11', 42)")
        .bind(org)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let store = oneclaw_store::open(&url).await.unwrap();
    assert_eq!(store.requests_in(OrgId(org), "2026-11").await.unwrap(), 42, "the month's count is kept");
    // The migration starts the month's places after its count: the top can be given back
    // down to it, not below.
    let mut tx = store.begin().await.unwrap();
    assert!(!tx.return_requests_lease(OrgId(org), "2026-11", 42, 41).await.unwrap(), "not below the count");
    assert!(tx.return_requests_lease(OrgId(org), "2026-11", 42, 42).await.unwrap(), "leased is 42");
    let rule = oneclaw_core::ports::LeaseRule { allowance: None, most: 8, share_of_free_left: 64 };
    let leased = tx.lease_requests(OrgId(org), "2026-11", rule).await.unwrap();
    assert_eq!((leased.places, leased.served), (43..=50, 42), "after the 42 counted");
    tx.commit().await.unwrap();
}

/// Migration 20 drops the audit log's index on time: records written before it are still
/// found by a time range (through the chain's order), and the index is gone.
#[tokio::test]
async fn audit_records_from_before_the_time_index_went_are_found_by_time() {
    let migrations: Vec<_> = BEFORE_LEASES
        .iter()
        .copied()
        .chain([(17, "request leases", include_str!("../../migrations/sqlite/0017_request_leases.sql"))])
        .collect();
    let (_dir, url, pool) = database_at(&migrations).await;
    let org = old_org(&pool).await;
    // Ten records as the earlier schema held them, stamped a second apart in chain order.
    let second = 1_000_i64;
    let start = 1_800_000_000_000_i64;
    for seq in 1..=10_i64 {
        sqlx::query(
            "INSERT INTO audit_events (id, org_id, actor_type, actor_id, action, resource_type, resource_id, \
             details, ip_address, user_agent, surface, outcome, created_at, seq, prev_hash, hash) \
             VALUES ($1, $2, 'system', NULL, 'old.record', 'org', NULL, '{}', NULL, NULL, 'cli', 'success', $3, $4, \
             $5, $5)",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(org)
        .bind(start + (seq - 1) * second)
        .bind(seq)
        .bind(vec![0_u8; 32])
        .execute(&pool)
        .await
        .unwrap();
    }
    sqlx::query("INSERT INTO audit_heads (org_id, seq, hash) VALUES ($1, 10, $2)")
        .bind(org)
        .bind(vec![0_u8; 32])
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let store = oneclaw_store::open(&url).await.unwrap();
    let ms = |at: i64| time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * 1_000_000).unwrap();
    let query = oneclaw_core::ports::AuditQuery {
        from: Some(ms(start + 3 * second)),
        to: Some(ms(start + 6 * second)),
        limit: 100,
        ..Default::default()
    };
    let seqs: Vec<i64> = store
        .audit_events(OrgId(org), &query)
        .await
        .unwrap()
        .iter()
        .filter_map(|e| Some(e.link.as_ref()?.seq))
        .collect();
    assert_eq!(seqs, [7, 6, 5, 4], "the records stamped in the range, newest first");
    drop(store);

    let pool = SqlitePoolOptions::new().max_connections(1).connect(&url).await.unwrap();
    let index: Option<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'audit_org_time'")
            .fetch_optional(&pool)
            .await
            .unwrap();
    assert_eq!(index, None, "migration 20 dropped the index on time");
}
