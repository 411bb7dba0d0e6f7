//! The hot read cache (issue 15): a secret read's store read is answered again from memory
//! until this store commits any change; another process's change is seen at the end of the
//! entry's lifetime at the latest, and on PostgreSQL as soon as its notice arrives. Versions
//! with an access limit and callers without the current policy generation always go to the
//! database. Runs on SQLite, and on PostgreSQL in CI.

use super::{TestDb, seed, test_db, version};
use oneclaw_core::clock::{Clock, SystemClock};
use oneclaw_core::ids::{OrgId, UserId, VaultId};
use oneclaw_core::model::SealedValue;
use oneclaw_core::ports::Store;
use oneclaw_core::principal::{PrincipalKind, PrincipalRef};
use sqlx::Connection;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

const PATH: &str = "hot/key";
const LIMITED: &str = "hot/limited";

fn reader() -> PrincipalRef {
    PrincipalRef { kind: PrincipalKind::Agent, id: uuid::Uuid::from_u128(7) }
}

/// Commits the next version of `path`, whose ciphertext is its number repeated; answers it.
async fn write(store: &Arc<dyn Store>, vault: VaultId, user: UserId, path: &str, limit: Option<i64>) -> i64 {
    let mut tx = store.begin().await.unwrap();
    let (secret, n) = tx.next_secret_version(vault, path, SystemClock.now()).await.unwrap();
    let sealed = SealedValue { ciphertext: vec![n as u8; 40], wrapped_dek: vec![8; 60], kek_version: 1 };
    let mut stored = version(secret, vault, path, n, user);
    stored.max_access_count = limit;
    tx.insert_secret_version(&stored, &sealed).await.unwrap();
    tx.commit().await.unwrap();
    n
}

/// The vault's policy generation (no policy changes in these tests, so it stays).
async fn generation(store: &Arc<dyn Store>, org: OrgId, vault: VaultId) -> i64 {
    store.vault_access(org, vault, reader(), None).await.unwrap().unwrap().policy_generation
}

/// The latest version of `path` as (number, first ciphertext byte, access count), read as a
/// caller that holds the vault's current policy generation (the only caller a kept read can
/// answer).
async fn read_at(store: &Arc<dyn Store>, org: OrgId, vault: VaultId, path: &str) -> (i64, u8, i64) {
    let held = Some(generation(store, org, vault).await);
    let found = store.vault_access_with_secret(org, vault, reader(), held, path, None).await.unwrap();
    let secret = found.unwrap().1.expect("the secret");
    (secret.version.version, secret.sealed.ciphertext[0], secret.version.access_count)
}

async fn read(store: &Arc<dyn Store>, org: OrgId, vault: VaultId) -> (i64, u8, i64) {
    read_at(store, org, vault, PATH).await
}

/// Another process's change: `sql` binding `value`, on a connection of its own, so this store
/// is not told. `silent`: on PostgreSQL with triggers off (no notice is sent), as a change no
/// notice announced; on SQLite there are no notices anyway.
async fn elsewhere(db: &TestDb, store: &Arc<dyn Store>, sql: &'static str, value: Vec<u8>, silent: bool) {
    if store.backend() == "sqlite" {
        let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::query(sql).bind(value).execute(&mut conn).await.unwrap();
        return;
    }
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    if silent {
        sqlx::query("SET session_replication_role = replica").execute(&mut conn).await.unwrap();
    }
    sqlx::query(sql).bind(value).execute(&mut conn).await.unwrap();
}

const SET_CIPHERTEXT: &str = "UPDATE secret_versions SET ciphertext = $1";

/// Waits until reads of `PATH` are answered from memory (on PostgreSQL, once the store listens
/// for other nodes' notices): a silent change is not seen by the read after it. Leaves the
/// stored ciphertext at 0x55 and the kept one as it was.
async fn until_reads_are_kept(db: &TestDb, store: &Arc<dyn Store>, org: OrgId, vault: VaultId) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let before = read(store, org, vault).await.1;
        elsewhere(db, store, SET_CIPHERTEXT, vec![0x55; 4], true).await;
        if read(store, org, vault).await.1 == before {
            return;
        }
        elsewhere(db, store, SET_CIPHERTEXT, vec![before; 4], true).await;
        assert!(std::time::Instant::now() < deadline, "reads were never kept");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A store keeping reads for `lifetime`, seeded with an org, its owner, a vault and version 1
/// of `PATH`.
async fn store_with_a_secret(lifetime: Duration) -> (TestDb, Arc<dyn Store>, OrgId, UserId, VaultId) {
    let db = test_db().await;
    let store = oneclaw_store::open_with(&db.url, lifetime).await.unwrap();
    let (org, user, vault) = seed(&store).await;
    write(&store, vault, user, PATH, None).await;
    (db, store, org, user, vault)
}

const LIFETIME: Duration = Duration::from_millis(300);

#[tokio::test]
async fn a_kept_read_holds_until_this_store_commits_a_change_or_its_lifetime_ends() {
    let (db, store, org, user, vault) = store_with_a_secret(LIFETIME).await;
    assert_eq!(read(&store, org, vault).await, (1, 1, 0));

    // A change no notice announced: within the lifetime the store answers what it read (the
    // wait returns once it has; on PostgreSQL other tests' notices share the channel, so no
    // later read is assumed to still come from memory), ...
    until_reads_are_kept(&db, &store, org, vault).await;
    // ... and once the lifetime is over it reads the database again.
    tokio::time::sleep(LIFETIME + Duration::from_millis(50)).await;
    assert_eq!(read(&store, org, vault).await.1, 0x55, "the change, seen after the lifetime");

    // A change this store commits is seen by the very next read.
    assert_eq!(write(&store, vault, user, PATH, None).await, 2);
    assert_eq!(read(&store, org, vault).await, (2, 2, 0));
    // Any change: a commit that touches nothing the read holds also ends what was kept (here
    // the value changes silently first, then an unrelated transaction commits).
    elsewhere(&db, &store, SET_CIPHERTEXT, vec![0x64; 4], true).await;
    let mut tx = store.begin().await.unwrap();
    tx.add_requests(org, "2026-12", 1).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(read(&store, org, vault).await.1, 0x64);
}

#[tokio::test]
async fn on_postgresql_another_nodes_change_is_seen_once_its_notice_arrives() {
    // A lifetime far past the wait below: only the notice can make the change seen in time.
    let (db, store, org, _, vault) = store_with_a_secret(Duration::from_secs(30)).await;
    if store.backend() == "sqlite" {
        return; // no other nodes, no notices (the lifetime bounds an operator command's change)
    }
    until_reads_are_kept(&db, &store, org, vault).await;
    elsewhere(&db, &store, SET_CIPHERTEXT, vec![0x66; 4], false).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while read(&store, org, vault).await.1 != 0x66 {
        assert!(std::time::Instant::now() < deadline, "the notice never made the change seen");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_version_with_an_access_limit_is_always_read_from_the_database() {
    let (db, store, org, user, vault) = store_with_a_secret(Duration::from_secs(30)).await;
    write(&store, vault, user, LIMITED, Some(5)).await;
    until_reads_are_kept(&db, &store, org, vault).await;
    assert_eq!(read_at(&store, org, vault, LIMITED).await, (1, 0x55, 0));
    elsewhere(&db, &store, "UPDATE secret_versions SET access_count = 5, ciphertext = $1", vec![0x56; 4], true).await;
    assert_eq!(read_at(&store, org, vault, LIMITED).await, (1, 0x56, 5), "the version as it is now");
}

#[tokio::test]
async fn a_caller_without_the_current_policy_generation_is_answered_from_the_database() {
    let (db, store, org, _, vault) = store_with_a_secret(Duration::from_secs(30)).await;
    until_reads_are_kept(&db, &store, org, vault).await;
    let generation = generation(&store, org, vault).await;
    // A caller holding none, or an older generation, gets the policy rows (and the version as
    // stored) from the database.
    for held in [None, Some(generation - 1)] {
        let (access, secret) =
            store.vault_access_with_secret(org, vault, reader(), held, PATH, None).await.unwrap().unwrap();
        assert!(access.policies.is_some(), "held {held:?}: the policies come with the answer");
        assert_eq!(secret.unwrap().sealed.ciphertext[0], 0x55, "held {held:?}");
    }
    // And another org never gets this org's kept read.
    let (other_org, _, _) = seed(&store).await;
    let held = Some(generation);
    assert!(store.vault_access_with_secret(other_org, vault, reader(), held, PATH, None).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_racing_writes_never_answer_a_version_older_than_one_already_committed() {
    // Long enough that only the commits, not the lifetime, can keep the readers current.
    let (db, store, org, user, vault) = store_with_a_secret(Duration::from_secs(30)).await;
    until_reads_are_kept(&db, &store, org, vault).await;
    let committed = Arc::new(AtomicI64::new(1));
    let mut readers = Vec::new();
    for _ in 0..4 {
        let (store, committed) = (store.clone(), committed.clone());
        readers.push(tokio::spawn(async move {
            let mut reads = 0;
            loop {
                let before = committed.load(Ordering::Acquire);
                if before < 0 {
                    return reads;
                }
                let (seen, _, _) = read(&store, org, vault).await;
                assert!(seen >= before, "read version {seen} after version {before} was committed");
                reads += 1;
                // A kept read never waits: let the writer run.
                tokio::task::yield_now().await;
            }
        }));
    }
    for _ in 0..60 {
        let n = write(&store, vault, user, PATH, None).await;
        committed.store(n, Ordering::Release);
        tokio::task::yield_now().await;
    }
    committed.store(-1, Ordering::Release);
    for reader in readers {
        assert!(reader.await.unwrap() > 0, "each reader read");
    }
}
