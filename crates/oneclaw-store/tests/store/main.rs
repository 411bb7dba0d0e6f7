//! Store contract tests. Each runs on SQLite, and on PostgreSQL when
//! `ONECLAW_TEST_DATABASE_URL` is set (each test in a schema of its own).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod batch_appends;
mod hot_reads;
mod leases;
mod upgrade;

use oneclaw_core::Error;
use oneclaw_core::audit::AuditEvent;
use oneclaw_core::clock::{Clock, SystemClock};
use oneclaw_core::ids::{OrgId, UserId, VaultId};
use oneclaw_core::model::{Org, Role, SealedValue, SecretVersion, User, Vault};
use oneclaw_core::ports::{KekRef, Store};
use oneclaw_core::principal::{PrincipalKind, PrincipalRef, RequestMeta, Surface};
use sqlx::Connection;
use std::sync::Arc;

/// A fresh, migrated database and how to reopen it.
struct TestDb {
    url: String,
    /// (server URL, schema) of the PostgreSQL schema to drop afterwards.
    schema: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((base, schema)) = self.schema.take() else { return };
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&base).await {
                    let drop = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&mut conn).await;
                }
            });
        })
        .join();
    }
}

async fn test_db() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    match std::env::var("ONECLAW_TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => {
            let schema = format!("oneclaw_store_test_{}", uuid::Uuid::new_v4().simple());
            let mut conn = sqlx::PgConnection::connect(&base).await.expect("PostgreSQL must be reachable");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&mut conn).await.unwrap();
            let separator = if base.contains('?') { '&' } else { '?' };
            let url = format!("{base}{separator}options[search_path]={schema}");
            TestDb { url, schema: Some((base, schema)), _dir: dir }
        }
        _ => TestDb { url: oneclaw_store::default_sqlite_url(dir.path()), schema: None, _dir: dir },
    }
}

fn user_ref(id: UserId) -> PrincipalRef {
    PrincipalRef { kind: PrincipalKind::User, id: id.0 }
}

/// An org, its owner and a vault, committed.
async fn seed(store: &Arc<dyn Store>) -> (OrgId, UserId, VaultId) {
    let now = SystemClock.now();
    let org = Org { id: OrgId::generate(), name: "o".into(), created_at: now };
    let user = User {
        id: UserId::generate(),
        org_id: org.id,
        email: format!("{}@example.com", uuid::Uuid::new_v4()),
        display_name: "u".into(),
        password_hash: None,
        role: Role::Owner,
        auth_method: "password".into(),
        email_verified: false,
        marketing_emails: false,
        totp_enabled: false,
        created_at: now,
        disabled_at: None,
        credential_generation: 0,
    };
    let vault = Vault {
        id: VaultId::generate(),
        org_id: org.id,
        name: "v".into(),
        description: String::new(),
        created_by: user_ref(user.id),
        owner_user_id: user.id,
        created_at: now,
        kek_version: 1,
    };
    let kek = KekRef { vault_id: vault.id, version: 1, provider: "local".into(), handle: vec![1, 2, 3] };
    let mut tx = store.begin().await.unwrap();
    tx.insert_org(&org).await.unwrap();
    tx.insert_user(&user).await.unwrap();
    tx.insert_vault(&vault, &kek).await.unwrap();
    tx.commit().await.unwrap();
    (org.id, user.id, vault.id)
}

fn version(secret: oneclaw_core::ids::SecretId, vault: VaultId, path: &str, n: i64, by: UserId) -> SecretVersion {
    SecretVersion {
        secret_id: secret,
        vault_id: vault,
        path: path.into(),
        version: n,
        secret_type: "generic".into(),
        metadata: serde_json::json!({"k": "v"}),
        rotation_policy: None,
        expires_at: None,
        max_access_count: Some(2),
        access_count: 0,
        is_disabled: false,
        deleted_at: None,
        created_by: user_ref(by),
        created_at: SystemClock.now(),
    }
}

#[tokio::test]
async fn migrations_are_idempotent_and_a_newer_database_is_refused() {
    let db = test_db().await;
    oneclaw_store::open(&db.url).await.unwrap();
    let store = oneclaw_store::open(&db.url).await.unwrap();
    seed(&store).await;
    // Pretend a newer oneclaw applied a migration this binary does not know.
    let future = "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
                  VALUES (9999, 'from the future', TRUE, $1, 0)";
    match store.backend() {
        "sqlite" => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            sqlx::query(future).bind(vec![0u8; 48]).execute(&pool).await.unwrap();
        }
        _ => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            sqlx::query(future).bind(vec![0u8; 48]).execute(&pool).await.unwrap();
        }
    }
    let err = oneclaw_store::open(&db.url).await.err().expect("a newer database must be refused");
    assert!(err.to_string().contains("newer version"), "{err}");
}

#[tokio::test]
async fn a_transaction_dropped_without_commit_changes_nothing() {
    let db = test_db().await;
    let store = oneclaw_store::open(&db.url).await.unwrap();
    let (org, user, vault) = seed(&store).await;
    {
        let mut tx = store.begin().await.unwrap();
        let (secret, n) = tx.next_secret_version(vault, "a/b", SystemClock.now()).await.unwrap();
        let sealed = SealedValue { ciphertext: vec![9; 40], wrapped_dek: vec![8; 60], kek_version: 1 };
        tx.insert_secret_version(&version(secret, vault, "a/b", n, user), &sealed).await.unwrap();
        let event = AuditEvent::by_principal(
            user_ref(user),
            org,
            &RequestMeta::internal(Surface::Api),
            "secret.write",
            "secret",
            SystemClock.now(),
        );
        tx.append_audit(&event).await.unwrap();
    }
    assert!(store.secret_versions(vault, "a/b").await.unwrap().is_empty());
    let query = oneclaw_core::ports::AuditQuery { limit: 100, ..Default::default() };
    assert!(store.audit_events(org, &query).await.unwrap().is_empty());
}

#[tokio::test]
async fn concurrent_writers_get_distinct_consecutive_versions() {
    let db = test_db().await;
    let store = oneclaw_store::open(&db.url).await.unwrap();
    let (_, user, vault) = seed(&store).await;
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = store.begin().await.unwrap();
            let (secret, n) = tx.next_secret_version(vault, "race", SystemClock.now()).await.unwrap();
            let sealed = SealedValue { ciphertext: vec![n as u8; 40], wrapped_dek: vec![8; 60], kek_version: 1 };
            tx.insert_secret_version(&version(secret, vault, "race", n, user), &sealed).await.unwrap();
            tx.commit().await.unwrap();
            n
        }));
    }
    let mut seen = Vec::new();
    for task in tasks {
        seen.push(task.await.unwrap());
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=16).collect::<Vec<i64>>());
    let stored = store.secret_versions(vault, "race").await.unwrap();
    assert_eq!(stored.len(), 16);
    assert_eq!(stored[0].metadata, serde_json::json!({"k": "v"}));
}

/// A write's two reads before its transaction (on a SQLite file, run inline through rusqlite):
/// the current version of a path and a vault key, as committed.
#[tokio::test]
async fn a_writes_early_reads_see_the_committed_version_and_the_vault_key() {
    let db = test_db().await;
    let store = oneclaw_store::open(&db.url).await.unwrap();
    let (_, user, vault) = seed(&store).await;
    assert_eq!(store.secret_current_version(vault, "guess").await.unwrap(), None);
    for _ in 0..3 {
        let mut tx = store.begin().await.unwrap();
        let (secret, n) = tx.next_secret_version(vault, "guess", SystemClock.now()).await.unwrap();
        let sealed = SealedValue { ciphertext: vec![1; 40], wrapped_dek: vec![8; 60], kek_version: 1 };
        tx.insert_secret_version(&version(secret, vault, "guess", n, user), &sealed).await.unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(store.secret_current_version(vault, "guess").await.unwrap(), Some(3));
    assert_eq!(store.secret_current_version(vault, "other").await.unwrap(), None);
    let seeded = KekRef { vault_id: vault, version: 1, provider: "local".into(), handle: vec![1, 2, 3] };
    assert_eq!(store.vault_key(vault, 1).await.unwrap(), Some(seeded));
    assert_eq!(store.vault_key(vault, 2).await.unwrap(), None);
    assert_eq!(store.vault_key(VaultId::generate(), 1).await.unwrap(), None);
}

#[tokio::test]
async fn access_limits_and_soft_deletes_hold() {
    let db = test_db().await;
    let store = oneclaw_store::open(&db.url).await.unwrap();
    let (_, user, vault) = seed(&store).await;
    let mut tx = store.begin().await.unwrap();
    let (secret, n) = tx.next_secret_version(vault, "limited", SystemClock.now()).await.unwrap();
    let sealed = SealedValue { ciphertext: vec![1; 40], wrapped_dek: vec![2; 60], kek_version: 1 };
    tx.insert_secret_version(&version(secret, vault, "limited", n, user), &sealed).await.unwrap();
    assert!(tx.count_secret_access(secret, n).await.unwrap());
    assert!(tx.count_secret_access(secret, n).await.unwrap());
    assert!(!tx.count_secret_access(secret, n).await.unwrap(), "max_access_count is 2");
    let read = tx.secret_for_read(vault, "limited", None).await.unwrap().unwrap();
    assert_eq!(read.version.access_count, 2);
    assert_eq!(read.sealed, sealed);
    assert_eq!(read.kek.handle, vec![1, 2, 3]);
    assert!(tx.soft_delete_secret(vault, "limited", SystemClock.now()).await.unwrap());
    assert!(!tx.soft_delete_secret(vault, "limited", SystemClock.now()).await.unwrap());
    tx.commit().await.unwrap();
    assert!(store.latest_secrets(vault, &Default::default()).await.unwrap().is_empty());
    assert!(store.secret_versions(vault, "limited").await.unwrap()[0].deleted_at.is_some());
}

#[tokio::test]
async fn unique_keys_become_conflicts() {
    let db = test_db().await;
    let store = oneclaw_store::open(&db.url).await.unwrap();
    let (org, user, _) = seed(&store).await;
    let existing = store.user(user).await.unwrap().unwrap();
    let copy = User { id: UserId::generate(), ..existing };
    let mut tx = store.begin().await.unwrap();
    match tx.insert_user(&copy).await {
        Err(Error::Conflict(message)) => assert!(message.contains("email")),
        other => panic!("expected a conflict, got {other:?}"),
    }
    drop(tx);
    let vault = Vault {
        id: VaultId::generate(),
        org_id: org,
        name: "v".into(),
        description: String::new(),
        created_by: user_ref(user),
        owner_user_id: user,
        created_at: SystemClock.now(),
        kek_version: 1,
    };
    let kek = KekRef { vault_id: vault.id, version: 1, provider: "local".into(), handle: vec![] };
    let mut tx = store.begin().await.unwrap();
    assert!(matches!(tx.insert_vault(&vault, &kek).await, Err(Error::Conflict(_))));
}

#[tokio::test]
async fn an_unreachable_database_is_a_clear_503_class_error() {
    let err = oneclaw_store::open("postgres://postgres@127.0.0.1:1/none").await.err().unwrap();
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    assert!(err.to_string().contains("unavailable"), "{err}");
    let err = oneclaw_store::open("mysql://x").await.err().unwrap();
    assert!(matches!(err, Error::Invalid { .. }));
}

#[tokio::test]
async fn postgresql_connections_can_require_tls() {
    let Ok(base) = std::env::var("ONECLAW_TEST_DATABASE_URL") else {
        eprintln!("skipped: needs ONECLAW_TEST_DATABASE_URL (CI runs it on PostgreSQL)");
        return;
    };
    let db = test_db().await;
    let name = format!("oneclaw_tls_{}", uuid::Uuid::new_v4().simple());
    let store = oneclaw_store::open(&format!("{}&sslmode=require&application_name={name}", db.url)).await.unwrap();
    let (_, user, _) = seed(&store).await;
    assert!(store.user(user).await.unwrap().is_some(), "the store works over TLS");
    // Every connection the store holds, seen from the server's side, is encrypted.
    let mut observer = sqlx::PgConnection::connect(&base).await.unwrap();
    let (connections, encrypted): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE s.ssl) FROM pg_stat_activity a \
         JOIN pg_stat_ssl s ON s.pid = a.pid WHERE a.application_name = $1",
    )
    .bind(&name)
    .fetch_one(&mut observer)
    .await
    .unwrap();
    assert!(connections > 0 && encrypted == connections, "{encrypted} of {connections} connections use TLS");
}

/// The access check's one read: the vault only within its org, and only the policies that
/// name the principal asked about.
#[tokio::test]
async fn vault_access_reads_the_vault_with_only_that_principals_policies() {
    use oneclaw_core::ids::PolicyId;
    use oneclaw_core::policy::{Conditions, Effect, PathGlob, Permission, Policy};
    let db = test_db().await;
    let store = oneclaw_store::open(&db.url).await.unwrap();
    let (org, owner, vault) = seed(&store).await;
    let (other_org, _, _) = seed(&store).await;
    let agent = PrincipalRef { kind: PrincipalKind::Agent, id: uuid::Uuid::new_v4() };
    let someone = user_ref(UserId::generate());
    let policy = |principal: PrincipalRef, pattern: &str| Policy {
        id: PolicyId::generate(),
        vault_id: vault,
        principal,
        pattern: PathGlob::parse(pattern).unwrap(),
        permissions: vec![Permission::Read],
        conditions: Conditions::parse(None).unwrap(),
        expires_at: None,
        effect: Effect::Allow,
        priority: 0,
        created_by: user_ref(owner),
        created_at: SystemClock.now(),
        policy_schema_version: 1,
    };
    let mut tx = store.begin().await.unwrap();
    for p in [policy(agent, "a/**"), policy(agent, "b/*"), policy(someone, "**")] {
        tx.insert_policy(&p).await.unwrap();
    }
    tx.commit().await.unwrap();

    let read = store.vault_access(org, vault, agent, None).await.unwrap().expect("the org's vault");
    assert_eq!(read.vault.id, vault);
    let policies = read.policies.expect("a caller holding nothing gets the policies");
    let mut patterns: Vec<String> = policies.iter().map(|p| p.pattern.as_str().to_owned()).collect();
    patterns.sort();
    assert_eq!(patterns, ["a/**", "b/*"]);
    assert!(policies.iter().all(|p| p.principal == agent));
    let none = store.vault_access(org, vault, user_ref(owner), None).await.unwrap().expect("the vault, no policies");
    assert_eq!(none.policies.as_deref().map(<[Policy]>::len), Some(0));

    // Holding the current generation: the vault, without policy rows.
    let generation = read.policy_generation;
    let held = store.vault_access(org, vault, agent, Some(generation)).await.unwrap().unwrap();
    assert_eq!((held.vault.id, held.policy_generation, held.policies.is_none()), (vault, generation, true));

    // Every kind of policy change moves the generation, and a stale holder gets the policies.
    let mut moved = policy(agent, "c/*");
    let mut tx = store.begin().await.unwrap();
    tx.insert_policy(&moved).await.unwrap();
    tx.commit().await.unwrap();
    let after_insert = store.vault_access(org, vault, agent, Some(generation)).await.unwrap().unwrap();
    assert!(after_insert.policy_generation > generation);
    assert_eq!(after_insert.policies.map(|p| p.len()), Some(3));
    moved.effect = Effect::Deny;
    let mut tx = store.begin().await.unwrap();
    tx.update_policy(&moved).await.unwrap();
    tx.commit().await.unwrap();
    let after_update =
        store.vault_access(org, vault, agent, Some(after_insert.policy_generation)).await.unwrap().unwrap();
    assert!(after_update.policy_generation > after_insert.policy_generation);
    assert!(after_update.policies.unwrap().iter().any(|p| p.effect == Effect::Deny));
    let mut tx = store.begin().await.unwrap();
    assert!(tx.delete_policy(vault, moved.id).await.unwrap());
    tx.commit().await.unwrap();
    let after_delete =
        store.vault_access(org, vault, agent, Some(after_update.policy_generation)).await.unwrap().unwrap();
    assert!(after_delete.policy_generation > after_update.policy_generation);
    assert_eq!(after_delete.policies.map(|p| p.len()), Some(2));
    assert!(
        store.vault_access(other_org, vault, agent, None).await.unwrap().is_none(),
        "another org's vault is not there"
    );
}

/// A secret read's one store read (on SQLite the inline rusqlite path, on PostgreSQL sqlx)
/// answers what `vault_access` and `secret_for_read` (sqlx on both) answer apart, and sees
/// what sqlx just committed: every version asked for, a missing path or version as no secret, policies only to a
/// stale holder, and nothing of another org's vault.
#[tokio::test]
async fn the_read_path_carries_the_vault_its_policies_and_the_secret_at_once() {
    use oneclaw_core::ids::PolicyId;
    use oneclaw_core::policy::{Conditions, Effect, PathGlob, Permission, Policy};
    let db = test_db().await;
    let store = oneclaw_store::open(&db.url).await.unwrap();
    let (org, owner, vault) = seed(&store).await;
    let (other_org, _, _) = seed(&store).await;
    let agent = PrincipalRef { kind: PrincipalKind::Agent, id: uuid::Uuid::new_v4() };
    let mut tx = store.begin().await.unwrap();
    for pattern in ["a/**", "b/*"] {
        let policy = Policy {
            id: PolicyId::generate(),
            vault_id: vault,
            principal: agent,
            pattern: PathGlob::parse(pattern).unwrap(),
            permissions: vec![Permission::Read],
            conditions: Conditions::parse(None).unwrap(),
            expires_at: None,
            effect: Effect::Allow,
            priority: 0,
            created_by: user_ref(owner),
            created_at: SystemClock.now(),
            policy_schema_version: 1,
        };
        tx.insert_policy(&policy).await.unwrap();
    }
    for value in [1u8, 2] {
        let (secret, n) = tx.next_secret_version(vault, "a/key", SystemClock.now()).await.unwrap();
        let sealed = SealedValue { ciphertext: vec![value; 40], wrapped_dek: vec![value; 60], kek_version: 1 };
        let mut v = version(secret, vault, "a/key", n, owner);
        v.max_access_count = None;
        tx.insert_secret_version(&v, &sealed).await.unwrap();
    }
    tx.commit().await.unwrap();

    for asked in [None, Some(1), Some(2)] {
        let (access, secret) =
            store.vault_access_with_secret(org, vault, agent, None, "a/key", asked).await.unwrap().unwrap();
        let apart = store.vault_access(org, vault, agent, None).await.unwrap().unwrap();
        let alone = store.secret_for_read(vault, "a/key", asked).await.unwrap().unwrap();
        let secret = secret.expect("the version asked for");
        assert_eq!(access.vault.id, vault);
        assert_eq!(access.policy_generation, apart.policy_generation);
        let patterns = |p: &[Policy]| {
            let mut all: Vec<String> = p.iter().map(|p| p.pattern.as_str().to_owned()).collect();
            all.sort();
            all
        };
        assert_eq!(patterns(access.policies.as_deref().unwrap()), ["a/**", "b/*"]);
        assert_eq!(patterns(access.policies.as_deref().unwrap()), patterns(apart.policies.as_deref().unwrap()));
        assert_eq!((secret.version.version, secret.version.path.as_str()), (alone.version.version, "a/key"));
        assert_eq!(secret.version.secret_id, alone.version.secret_id);
        assert_eq!(secret.version.metadata, alone.version.metadata);
        assert_eq!(secret.sealed, alone.sealed);
        assert_eq!((secret.kek.version, secret.kek.handle.as_slice()), (1, [1u8, 2, 3].as_slice()));
    }
    let latest = store.vault_access_with_secret(org, vault, agent, None, "a/key", None).await.unwrap().unwrap();
    assert_eq!(latest.1.unwrap().sealed.ciphertext, vec![2; 40], "the latest is version 2");

    // A holder of the current generation gets the vault and the secret without policy rows.
    let generation = latest.0.policy_generation;
    let (held, secret) =
        store.vault_access_with_secret(org, vault, agent, Some(generation), "a/key", None).await.unwrap().unwrap();
    assert!(held.policies.is_none() && secret.is_some());

    // A missing path or version is no secret, with the vault and policies all the same.
    for (path, asked) in [("a/nothing", None), ("a/key", Some(3))] {
        let (access, secret) =
            store.vault_access_with_secret(org, vault, agent, None, path, asked).await.unwrap().unwrap();
        assert!(secret.is_none(), "{path} {asked:?}");
        assert_eq!(access.policies.map(|p| p.len()), Some(2));
    }
    assert!(
        store.vault_access_with_secret(other_org, vault, agent, None, "a/key", None).await.unwrap().is_none(),
        "another org's vault and its secrets are not there"
    );
}

#[tokio::test]
async fn events_are_stamped_no_earlier_than_the_one_chained_before_them() {
    let db = test_db().await;
    let store = oneclaw_store::open(&db.url).await.unwrap();
    let (org, _, _) = seed(&store).await;
    let meta = RequestMeta::internal(Surface::Cli);
    let start = SystemClock.now() + time::Duration::hours(1);
    let event =
        |offset: i64| AuditEvent::system_in(org, &meta, "test.order", "org", start + time::Duration::seconds(offset));
    // Requests that began in one order and commit in another: later begun, earlier chained.
    let mut tx = store.begin().await.unwrap();
    tx.append_audits(&[event(3), event(1), event(2)]).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.append_audits(&[event(0)]).await.unwrap();
    tx.commit().await.unwrap();

    let query = oneclaw_core::ports::AuditQuery { action: Some("test.order".into()), limit: 10, ..Default::default() };
    let newest_first: Vec<_> = store.audit_events(org, &query).await.unwrap().iter().map(|e| e.created_at).collect();
    assert_eq!(newest_first.len(), 4);
    assert!(
        newest_first.windows(2).all(|pair| pair[0] >= pair[1]),
        "chain order and time order agree: {newest_first:?}"
    );
    assert_eq!(newest_first[3], start + time::Duration::seconds(3), "the first keeps its own time");
}

#[tokio::test]
async fn a_batch_larger_than_one_insert_chains_every_event_in_order() {
    let db = test_db().await;
    let store = oneclaw_store::open(&db.url).await.unwrap();
    let (org, _, _) = seed(&store).await;
    let (other, _, _) = seed(&store).await;
    let meta = RequestMeta::internal(Surface::Cli);
    let now = SystemClock.now();
    // 600 of one org interleaved with 30 of another: more rows than one INSERT statement takes.
    let events: Vec<AuditEvent> = (0..630)
        .map(|n| {
            let at = if n % 21 == 20 { other } else { org };
            AuditEvent::system_in(at, &meta, "test.batch", "org", now).detail("n", n)
        })
        .collect();
    let mut tx = store.begin().await.unwrap();
    tx.append_audits(&events).await.unwrap();
    tx.commit().await.unwrap();
    assert_batch_chained(&store, &[(org, 600), (other, 30)]).await;
}

/// A batch of several orgs' events small enough for one INSERT (on SQLite one statement text
/// with the heads' UPDATEs) moves every org's head it touches, and the next batch goes on from
/// them.
#[tokio::test]
async fn a_batch_of_several_orgs_moves_each_head_and_the_next_goes_on_from_them() {
    let db = test_db().await;
    let store = oneclaw_store::open(&db.url).await.unwrap();
    let mut orgs = Vec::new();
    for _ in 0..3 {
        orgs.push(seed(&store).await.0);
    }
    let meta = RequestMeta::internal(Surface::Cli);
    let now = SystemClock.now();
    for round in 0..2 {
        let events: Vec<AuditEvent> = (0..12)
            .map(|n| AuditEvent::system_in(orgs[n % 3], &meta, "test.batch", "org", now).detail("n", round * 12 + n))
            .collect();
        let mut tx = store.begin().await.unwrap();
        tx.append_audits(&events).await.unwrap();
        tx.commit().await.unwrap();
    }
    store
        .append_audit_batch(
            vec![AuditEvent::system_in(orgs[2], &meta, "test.batch", "org", now).detail("n", 24)],
            vec![],
        )
        .await
        .unwrap();
    assert_batch_chained(&store, &[(orgs[0], 8), (orgs[1], 8), (orgs[2], 9)]).await;
}

/// Each org has `expected` `test.batch` events, in the order given, on one unbroken chain that
/// ends at its head.
async fn assert_batch_chained(store: &Arc<dyn Store>, expected: &[(OrgId, usize)]) {
    for &(who, expected) in expected {
        let chain: Vec<_> = store
            .audit_chain(who, 0, 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|event| event.action == "test.batch")
            .collect();
        assert_eq!(chain.len(), expected);
        let order: Vec<i64> = chain.iter().map(|event| event.details["n"].as_i64().unwrap()).collect();
        assert!(order.windows(2).all(|pair| pair[0] < pair[1]), "events keep their order within the org");
        let links: Vec<_> = chain.iter().map(|event| event.link.unwrap()).collect();
        assert!(
            links.windows(2).all(|pair| pair[1].seq == pair[0].seq + 1 && pair[1].prev_hash == pair[0].hash),
            "one unbroken chain per org"
        );
        assert_eq!(store.audit_head(who).await.unwrap().hash, links.last().unwrap().hash);
    }
}

/// With no index on time (migration 20), a time range is found through the chain's order:
/// every bound is inclusive, another org's records never enter, and a range whose end is at or
/// after the newest record still takes records appended after the query looked.
#[tokio::test]
async fn time_ranges_of_the_audit_log_are_found_through_the_chain() {
    let db = test_db().await;
    let store = oneclaw_store::open(&db.url).await.unwrap();
    let (org, _, _) = seed(&store).await;
    let (other, _, _) = seed(&store).await;
    let meta = RequestMeta::internal(Surface::Cli);
    // Stamps are stored in whole milliseconds: start on one.
    let now = SystemClock.now() + time::Duration::hours(1);
    let start = now.replace_nanosecond(now.nanosecond() / 1_000_000 * 1_000_000).unwrap();
    let at = |second: i64| start + time::Duration::seconds(second);
    let event = |org: OrgId, second: i64| AuditEvent::system_in(org, &meta, "test.time", "org", at(second));
    // 40 records a second apart, in transactions of 8, the other org's at the same times between.
    for chunk in (0..40).collect::<Vec<i64>>().chunks(8) {
        let mut tx = store.begin().await.unwrap();
        for &second in chunk {
            tx.append_audits(&[event(org, second), event(other, second)]).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    let seconds = |from: Option<i64>, to: Option<i64>| {
        let store = Arc::clone(&store);
        async move {
            let query = oneclaw_core::ports::AuditQuery {
                action: Some("test.time".into()),
                from: from.map(at),
                to: to.map(at),
                limit: 100,
                ..Default::default()
            };
            let events = store.audit_events(org, &query).await.unwrap();
            assert!(events.iter().all(|e| e.org_id == org), "only the org's own records");
            events.iter().map(|e| (e.created_at - start).whole_seconds()).collect::<Vec<i64>>()
        }
    };
    assert_eq!(seconds(Some(10), Some(19)).await, (10..=19).rev().collect::<Vec<_>>(), "both ends inclusive");
    assert_eq!(seconds(Some(35), None).await, (35..40).rev().collect::<Vec<_>>());
    assert_eq!(seconds(None, Some(4)).await, (0..=4).rev().collect::<Vec<_>>());
    assert_eq!(seconds(Some(0), Some(0)).await, [0], "the first record alone");
    assert_eq!(seconds(Some(39), Some(39)).await, [39], "the newest record alone");
    assert!(seconds(Some(50), None).await.is_empty(), "after the newest");
    assert!(seconds(None, Some(-1)).await.is_empty(), "before the first");
    assert!(seconds(Some(20), Some(10)).await.is_empty(), "an empty range");
    // A bound inside a millisecond: a record stamped before `from` stays out, one before `to` in.
    let half_ms = time::Duration::microseconds(500);
    let query = |from: time::OffsetDateTime, to: time::OffsetDateTime| oneclaw_core::ports::AuditQuery {
        action: Some("test.time".into()),
        from: Some(from),
        to: Some(to),
        limit: 100,
        ..Default::default()
    };
    let found = store.audit_events(org, &query(at(10) + half_ms, at(12) + half_ms)).await.unwrap();
    let found: Vec<i64> = found.iter().map(|e| (e.created_at - start).whole_seconds()).collect();
    assert_eq!(found, [12, 11], "from just after 10 leaves it out, to just after 12 takes it in");
    let found = store.audit_events(org, &query(at(10) - half_ms, at(12) - half_ms)).await.unwrap();
    let found: Vec<i64> = found.iter().map(|e| (e.created_at - start).whole_seconds()).collect();
    assert_eq!(found, [11, 10], "from just before 10 takes it in, to just before 12 leaves it out");

    // Appended after: a range open at the top, or ending after them, takes them.
    let mut tx = store.begin().await.unwrap();
    tx.append_audits(&[event(org, 60)]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(seconds(Some(38), None).await, [60, 39, 38]);
    assert_eq!(seconds(Some(38), Some(3600)).await, [60, 39, 38]);
    assert_eq!(seconds(Some(50), Some(70)).await, [60]);
}
