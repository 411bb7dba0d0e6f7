//! Tamper tests: the audit tables are edited directly (SQLite or PostgreSQL, whichever the run
//! uses) and `GET /v1/audit/records/verify` (and 1claw's `/v1/audit/verify`) must name the
//! first broken event. Also: concurrent writers never fork a chain, and a write whose audit
//! record fails is refused.

use oneclaw_core::audit::chain::{Head, Link};
use oneclaw_core::ids::OrgId;
use oneclaw_testkit::{Account, TestApp, spawn_app};
use serde_json::json;
use uuid::Uuid;

enum Raw {
    Sqlite(sqlx::SqlitePool),
    Pg(sqlx::PgPool),
}

/// Runs one statement on whichever database the app uses.
macro_rules! run {
    ($raw:expr, $query:expr) => {
        match $raw {
            Raw::Sqlite(pool) => {
                $query.execute(pool).await.unwrap();
            }
            Raw::Pg(pool) => {
                $query.execute(pool).await.unwrap();
            }
        }
    };
}

async fn raw(app: &TestApp) -> Raw {
    match app.backend() {
        "sqlite" => Raw::Sqlite(sqlx::SqlitePool::connect(&app.config.database_url).await.unwrap()),
        _ => Raw::Pg(sqlx::PgPool::connect(&app.config.database_url).await.unwrap()),
    }
}

/// An org with a dozen audited actions, a signed checkpoint in the middle, and its chain.
async fn audited_org(app: &TestApp) -> (Account, OrgId) {
    let account = app.signup(&format!("tamper-{}@example.com", Uuid::new_v4().simple())).await;
    let vault = app.create_vault(&account.token, "v").await;
    for i in 0..4 {
        app.put_secret(&account.token, &vault, &format!("k{i}"), "v").await;
    }
    assert_eq!(app.core.audit().checkpoint_all().await.unwrap(), 2, "this org and the system chain");
    assert_eq!(app.core.audit().checkpoint_all().await.unwrap(), 0, "no chain moved since");
    for i in 0..5 {
        app.get(&format!("/v1/vaults/{vault}/secrets/k{}", i % 4), &account.token).await;
    }
    let org = app
        .core
        .deps()
        .store
        .user(oneclaw_core::ids::UserId(app.user_id(&account.token).await.parse().unwrap()))
        .await
        .unwrap()
        .unwrap()
        .org_id;
    (account, org)
}

async fn verify(app: &TestApp, account: &Account) -> serde_json::Value {
    // Verification reads the log without writing to it, so it cannot heal what it checks.
    let response = app.get("/v1/audit/records/verify?limit=100000", &account.token).await;
    assert_eq!(response.status, 200, "{}", response.text);
    // 1claw's route gives the same verdict in its own fields only.
    let claws = app.get("/v1/audit/verify?limit=100000", &account.token).await;
    for field in ["chain_valid", "events_verified", "events_checked", "broken_at_event_id", "scheme"] {
        assert_eq!(claws.body.get(field), response.body.get(field), "{field}: {}", claws.text);
    }
    assert!(claws.body.get("reason").is_none() && claws.body.get("checkpoints_checked").is_none(), "{}", claws.text);
    // The same verification read three events at a time must reach the same verdict.
    let user = oneclaw_core::ids::UserId(app.user_id(&account.token).await.parse().unwrap());
    let org = app.core.deps().store.user(user).await.unwrap().unwrap().org_id;
    let small = app.core.audit().verify_org_in_batches(org, None, None, i64::MAX, 3).await.unwrap();
    assert_eq!(small.chain_valid, response.body["chain_valid"].as_bool().unwrap(), "{}", response.body);
    assert_eq!(small.broken_at_seq, response.body["broken_at_seq"].as_i64(), "{}", response.body);
    let small_at = small.broken_at_event_id.map(|id| id.to_string());
    assert_eq!(small_at.as_deref(), response.body["broken_at_event_id"].as_str(), "{}", response.body);
    response.body
}

async fn chain(app: &TestApp, org: OrgId) -> Vec<oneclaw_core::audit::AuditEvent> {
    app.core.deps().store.audit_chain(org, 0, 10_000).await.unwrap()
}

fn id_at(events: &[oneclaw_core::audit::AuditEvent], seq: i64) -> String {
    events.iter().find(|e| e.link.unwrap().seq == seq).unwrap().id.to_string()
}

#[tokio::test]
async fn an_untouched_chain_verifies_with_its_checkpoints() {
    let app = spawn_app().await;
    let (account, org) = audited_org(&app).await;
    let report = verify(&app, &account).await;
    assert_eq!(report["chain_valid"], true, "{report}");
    assert!(report["events_verified"].as_i64().unwrap() >= 10);
    assert_eq!(report["events_verified"], report["events_checked"]);
    assert_eq!(report["checkpoints_checked"], 1);
    assert_eq!(report["scheme"]["algorithm"], "SHA-256");
    // The spec's `documentation` is a URI (Schemathesis found a file name there): the document
    // is served, whole, at the address named.
    let documentation = report["scheme"]["documentation"].as_str().unwrap();
    assert_eq!(documentation, format!("{}/v1/audit/scheme", app.base_url));
    let served = app.http.get(documentation).send().await.unwrap();
    assert_eq!(served.headers()["content-type"], "text/markdown; charset=utf-8");
    assert!(served.text().await.unwrap().contains("prev_hash"), "the chain's description");
    assert_eq!(chain(&app, org).await.len() as i64, report["events_checked"].as_i64().unwrap());
}

#[tokio::test]
async fn a_changed_field_is_found() {
    let app = spawn_app().await;
    let (account, org) = audited_org(&app).await;
    let events = chain(&app, org).await;
    let db = raw(&app).await;
    run!(
        &db,
        sqlx::query("UPDATE audit_events SET details = '{\"path\":\"elsewhere\"}' WHERE org_id = $1 AND seq = 5")
            .bind(org.0)
    );
    let report = verify(&app, &account).await;
    assert_eq!(report["chain_valid"], false);
    assert_eq!(report["broken_at_event_id"], id_at(&events, 5));
    assert_eq!(report["events_verified"], 4);
}

#[tokio::test]
async fn a_deleted_row_is_found() {
    let app = spawn_app().await;
    let (account, org) = audited_org(&app).await;
    let events = chain(&app, org).await;
    let db = raw(&app).await;
    run!(&db, sqlx::query("DELETE FROM audit_events WHERE org_id = $1 AND seq = 6").bind(org.0));
    let report = verify(&app, &account).await;
    assert_eq!(report["chain_valid"], false);
    assert_eq!(report["broken_at_event_id"], id_at(&events, 7), "the event after the gap is the first out of place");
    assert_eq!(report["broken_at_seq"], 6);
}

#[tokio::test]
async fn an_inserted_row_is_found() {
    let app = spawn_app().await;
    let (account, org) = audited_org(&app).await;
    let db = raw(&app).await;
    // Make room at 4, then copy event 3 there under a new id.
    run!(&db, sqlx::query("UPDATE audit_events SET seq = seq + 1000000 WHERE org_id = $1 AND seq >= 4").bind(org.0));
    run!(
        &db,
        sqlx::query("UPDATE audit_events SET seq = seq - 999999 WHERE org_id = $1 AND seq >= 1000000").bind(org.0)
    );
    let forged = Uuid::now_v7();
    run!(&db, sqlx::query(
        "INSERT INTO audit_events (id, org_id, actor_type, actor_id, action, resource_type, resource_id, details, ip_address, \
         user_agent, surface, outcome, created_at, seq, prev_hash, hash) \
         SELECT $2, org_id, actor_type, actor_id, 'secret.delete', resource_type, resource_id, details, ip_address, user_agent, \
         surface, outcome, created_at, 4, hash, hash FROM audit_events WHERE org_id = $1 AND seq = 3"
    ).bind(org.0).bind(forged));
    let report = verify(&app, &account).await;
    assert_eq!(report["chain_valid"], false);
    assert_eq!(report["broken_at_event_id"], forged.to_string());
}

#[tokio::test]
async fn swapped_rows_are_found() {
    let app = spawn_app().await;
    let (account, org) = audited_org(&app).await;
    let events = chain(&app, org).await;
    let db = raw(&app).await;
    run!(&db, sqlx::query("UPDATE audit_events SET seq = -1 WHERE org_id = $1 AND seq = 7").bind(org.0));
    run!(&db, sqlx::query("UPDATE audit_events SET seq = 7 WHERE org_id = $1 AND seq = 8").bind(org.0));
    run!(&db, sqlx::query("UPDATE audit_events SET seq = 8 WHERE org_id = $1 AND seq = -1").bind(org.0));
    let report = verify(&app, &account).await;
    assert_eq!(report["chain_valid"], false);
    assert_eq!(report["broken_at_event_id"], id_at(&events, 8), "event 8 now stands where 7 was");
}

#[tokio::test]
async fn a_truncated_tail_is_found() {
    let app = spawn_app().await;
    let (account, org) = audited_org(&app).await;
    let events = chain(&app, org).await;
    let last = events.last().unwrap().link.unwrap().seq;
    let db = raw(&app).await;
    run!(&db, sqlx::query("DELETE FROM audit_events WHERE org_id = $1 AND seq > $2").bind(org.0).bind(last - 3));
    let report = verify(&app, &account).await;
    assert_eq!(report["chain_valid"], false, "{report}");
    assert_eq!(report["broken_at_seq"], last - 2);
    assert!(report["reason"].as_str().unwrap().contains("removed"), "{report}");

    // Cutting the head too leaves only the checkpoint as a witness, when the cut reaches it.
    run!(&db, sqlx::query("DELETE FROM audit_events WHERE org_id = $1 AND seq > 3").bind(org.0));
    let kept = chain(&app, org).await;
    let head = kept.last().unwrap().link.unwrap();
    run!(
        &db,
        sqlx::query("UPDATE audit_heads SET seq = $2, hash = $3 WHERE org_id = $1")
            .bind(org.0)
            .bind(head.seq)
            .bind(head.hash.to_vec())
    );
    let report = verify(&app, &account).await;
    assert_eq!(report["chain_valid"], false, "{report}");
    assert!(report["reason"].as_str().unwrap().contains("checkpoint"), "{report}");
}

#[tokio::test]
async fn a_consistently_rewritten_chain_is_caught_by_the_signed_checkpoint() {
    let app = spawn_app().await;
    let (account, org) = audited_org(&app).await;
    let events = chain(&app, org).await;
    let db = raw(&app).await;
    // Rewrite event 2 onward, recomputing every hash exactly as oneclaw would, and the head.
    let mut head = Head { seq: 1, hash: events[0].link.unwrap().hash };
    for event in events.iter().skip(1) {
        let mut forged = event.clone();
        if forged.link.unwrap().seq == 2 {
            forged.details = json!({"name": "a different vault"});
        }
        let (link, next): (Link, Head) = head.next(&forged);
        run!(
            &db,
            sqlx::query(
                "UPDATE audit_events SET details = $3, prev_hash = $4, hash = $5 WHERE org_id = $1 AND seq = $2"
            )
            .bind(org.0)
            .bind(link.seq)
            .bind(forged.details.to_string())
            .bind(link.prev_hash.to_vec())
            .bind(link.hash.to_vec())
        );
        head = next;
    }
    run!(
        &db,
        sqlx::query("UPDATE audit_heads SET seq = $2, hash = $3 WHERE org_id = $1")
            .bind(org.0)
            .bind(head.seq)
            .bind(head.hash.to_vec())
    );
    let report = verify(&app, &account).await;
    assert_eq!(report["chain_valid"], false, "{report}");
    assert!(report["reason"].as_str().unwrap().contains("signed checkpoint"), "{report}");
    assert_eq!(report["broken_at_event_id"], id_at(&events, 1), "everything before the first checkpoint is suspect");
}

#[tokio::test]
async fn concurrent_writers_in_one_org_never_fork_the_chain() {
    let app = spawn_app().await;
    let account = app.signup("concurrent-audit@example.com").await;
    let vault = app.create_vault(&account.token, "v").await;
    let before = app.audit_events(&account).await.len();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (http, base, token, vault) = (app.http.clone(), app.base_url.clone(), account.token.clone(), vault.clone());
        tasks.push(tokio::spawn(async move {
            let url = format!("{base}/v1/vaults/{vault}/secrets/c/{}", i % 8);
            let put =
                http.put(&url).bearer_auth(&token).json(&json!({"value": "v"})).send().await.unwrap().status().as_u16();
            let get = http.get(&url).bearer_auth(&token).send().await.unwrap().status().as_u16();
            (put, get)
        }));
    }
    let mut acknowledged = 0;
    for task in tasks {
        let (put, get) = task.await.unwrap();
        acknowledged += usize::from(put == 201) + usize::from(get == 200);
    }
    assert_eq!(acknowledged, 80, "every request was answered");
    assert_eq!(
        app.audit_events(&account).await.len(),
        before + acknowledged,
        "exactly one event per acknowledged action"
    );
    let report = verify(&app, &account).await;
    assert_eq!(report["chain_valid"], true, "{report}");
}

#[tokio::test]
async fn a_write_whose_audit_record_fails_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let account = app.signup("audit-fault@example.com").await;
    let vault = app.create_vault(&account.token, "v").await;
    assert_eq!(app.put_secret(&account.token, &vault, "k", "kept").await.status, 201);
    let db = raw(&app).await;
    match &db {
        Raw::Sqlite(pool) => {
            sqlx::query("CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit disk gone'); END")
                .execute(pool)
                .await
                .unwrap();
        }
        Raw::Pg(pool) => {
            sqlx::query("CREATE FUNCTION refuse_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit disk gone'; END $$ LANGUAGE plpgsql")
                .execute(pool)
                .await
                .unwrap();
            sqlx::query("CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_audit()")
                .execute(pool)
                .await
                .unwrap();
        }
    }
    let refused = app.put_secret(&account.token, &vault, "k", "never-stored").await;
    assert_eq!(refused.status, 503, "{}", refused.text);
    assert!(refused.detail().contains("audit"), "{}", refused.text);
    let read = app.get(&format!("/v1/vaults/{vault}/secrets/k"), &account.token).await;
    assert_eq!(read.status, 503, "a read that cannot be recorded is not answered either");
    match &db {
        Raw::Sqlite(pool) => {
            sqlx::query("DROP TRIGGER refuse_audit").execute(pool).await.unwrap();
        }
        Raw::Pg(pool) => {
            sqlx::query("DROP TRIGGER refuse_audit ON audit_events").execute(pool).await.unwrap();
        }
    }
    let read = app.get(&format!("/v1/vaults/{vault}/secrets/k"), &account.token).await;
    assert_eq!((read.body["value"].as_str(), read.body["version"].as_i64()), (Some("kept"), Some(1)));
}

/// A chain verified while reads append to it verifies: records committed during the
/// verification come after the head it started from (a red-team run saw `audit verify` report
/// "events were removed" in three of five runs under load).
#[tokio::test]
async fn a_chain_verified_while_reads_append_to_it_verifies() {
    let app = std::sync::Arc::new(spawn_app().await);
    let (account, org) = audited_org(&app).await;
    let vault = app.create_vault(&account.token, "busy").await;
    app.put_secret(&account.token, &vault, "busy", "v").await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut readers = Vec::new();
    for _ in 0..4 {
        let (app, token, vault, stop) =
            (std::sync::Arc::clone(&app), account.token.clone(), vault.clone(), stop.clone());
        readers.push(tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let response = app.get(&format!("/v1/vaults/{vault}/secrets/busy"), &token).await;
                assert_eq!(response.status, 200, "{}", response.text);
                // A read every few milliseconds each is plenty to land between the
                // verification's round trips, and keeps the chain (which each round verifies
                // whole) from growing without bound while it runs.
                tokio::time::sleep(std::time::Duration::from_millis(3)).await;
            }
        }));
    }
    let before = chain(&app, org).await.len();
    for round in 0..20 {
        // Three events a round trip: many chances for a read's record to commit in between.
        let report = app.core.audit().verify_org_in_batches(org, None, None, i64::MAX, 3).await.unwrap();
        assert!(report.chain_valid, "round {round}: {:?}", report.reason);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for reader in readers {
        reader.await.unwrap();
    }
    // The whole chain: the readers may have added more than `chain`'s 10,000.
    let recorded = app.core.deps().store.audit_chain(org, 0, i64::MAX).await.unwrap().len();
    assert!(recorded > before + 20, "the reads ran while the chain was verified");
    let report = app.core.audit().verify_org_in_batches(org, None, None, i64::MAX, 3).await.unwrap();
    assert!(report.chain_valid, "{:?}", report.reason);
    assert_eq!(report.events_checked as usize, recorded);
}
