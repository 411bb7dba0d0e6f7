//! KEK rotation through the API: every data key moves to the new KEK, values stay intact, the
//! old KEK is destroyed (asked of PKCS#11 itself when the suite runs on the SoftHSM token), and
//! reads and writes running during the rotation never fail.

use oneclaw_core::ids::VaultId;
use oneclaw_core::ports::{DataKey, KekRef, KeyProvider};
use oneclaw_core::principal::{RequestMeta, Surface};
use oneclaw_testkit::{TestApp, hsm_probe, spawn_app, spawn_app_with, spawn_app_with_keys};
use serde_json::json;
use std::sync::Arc;

async fn read(app: &TestApp, token: &str, vault: &str, path: &str) -> String {
    let response = app.get(&format!("/v1/vaults/{vault}/secrets/{path}"), token).await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.body["value"].as_str().unwrap().to_owned()
}

/// On the SoftHSM token: how many objects each KEK version of the vault has there.
async fn kek_objects(app: &TestApp, vault: &str, versions: &[i64]) -> Option<Vec<usize>> {
    if app.core.deps().keys.kind() != "pkcs11" {
        return None;
    }
    let hsm = hsm_probe()?;
    let vault = VaultId(vault.parse().unwrap());
    let mut counts = Vec::new();
    for version in versions {
        counts.push(hsm.count_kek_objects(vault, *version).await.unwrap());
    }
    Some(counts)
}

#[tokio::test]
async fn rotation_moves_every_data_key_and_destroys_the_old_kek() {
    let app = spawn_app().await;
    let owner = app.signup("rotate@example.com").await;
    let vault = app.create_vault(&owner.token, "keys").await;
    for i in 0..5 {
        assert_eq!(app.put_secret(&owner.token, &vault, &format!("s{i}"), &format!("value-{i}")).await.status, 201);
    }
    assert_eq!(app.put_secret(&owner.token, &vault, "s0", "value-0-new").await.status, 201);
    assert_eq!(read(&app, &owner.token, &vault, "s1").await, "value-1");

    let rotated = app.post(&format!("/v1/vaults/{vault}/rotate-key"), Some(&owner.token), json!({})).await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    assert_eq!(rotated.body["kek_version"], 2);
    assert_eq!(rotated.body["rewrapped"], 6, "every version's data key moves");
    assert_eq!(rotated.body["destroyed_versions"], json!([1]));
    assert_eq!(rotated.body["key_provider"], app.core.deps().keys.kind());

    assert_eq!(read(&app, &owner.token, &vault, "s0").await, "value-0-new");
    let first = app.get(&format!("/v1/vaults/{vault}/secret-version/s0/1"), &owner.token).await;
    assert_eq!(first.body["value"], "value-0", "{}", first.text);
    for i in 1..5 {
        assert_eq!(read(&app, &owner.token, &vault, &format!("s{i}")).await, format!("value-{i}"));
    }
    assert_eq!(app.put_secret(&owner.token, &vault, "after", "sealed-under-v2").await.status, 201);

    let keys = app.get(&format!("/v1/vaults/{vault}/keys"), &owner.token).await;
    assert_eq!(keys.status, 200, "{}", keys.text);
    assert_eq!(keys.body["current_version"], 2);
    assert_eq!(keys.body["keys"][0]["version"], 1);
    assert!(keys.body["keys"][0]["retired_at"].is_string() && keys.body["keys"][0]["destroyed_at"].is_string());
    assert!(keys.body["keys"][1]["destroyed_at"].is_null());
    assert!(!keys.text.contains("handle"), "no key handle is shown: {}", keys.text);

    let again = app.post(&format!("/v1/vaults/{vault}/rotate-key"), Some(&owner.token), json!({})).await;
    assert_eq!((again.body["kek_version"].as_i64(), again.body["rewrapped"].as_u64()), (Some(3), Some(7)));
    assert_eq!(read(&app, &owner.token, &vault, "after").await, "sealed-under-v2");
    if let Some(counts) = kek_objects(&app, &vault, &[1, 2, 3]).await {
        assert_eq!(counts, vec![0, 0, 1], "only the current KEK is left in the HSM");
    }

    let events = app.audit_events(&owner).await;
    let rotations: Vec<_> = events.iter().filter(|e| e.action == "vault.key_rotate").collect();
    assert_eq!(rotations.len(), 2);
    assert!(rotations.iter().any(|e| e.details["from_version"] == 1 && e.details["to_version"] == 2));
    assert_eq!(events.iter().filter(|e| e.action == "vault.key_destroy").count(), 2);
    assert!(rotations.iter().all(|e| e.actor_type == "user" && e.resource_id.as_deref() == Some(vault.as_str())));
}

#[tokio::test]
async fn only_the_vault_owner_or_an_org_admin_may_rotate() {
    let app = spawn_app().await;
    let owner = app.signup("owner-rot@example.com").await;
    let vault = app.create_vault(&owner.token, "guarded").await;
    let member = app.invite_and_join(&owner.token, "member-rot@example.com", "member").await;
    let admin = app.invite_and_join(&owner.token, "admin-rot@example.com", "admin").await;
    let outsider = app.signup("outsider-rot@example.com").await;
    let agent = app.register_agent(&owner.token, "bot", json!({})).await;
    let agent_token = app.agent_token(&agent).await;

    let path = format!("/v1/vaults/{vault}/rotate-key");
    assert_eq!(app.post(&path, Some(&member.token), json!({})).await.status, 403);
    assert_eq!(app.post(&path, Some(&agent_token), json!({})).await.status, 403);
    assert_eq!(app.post(&path, Some(&outsider.token), json!({})).await.status, 404);
    assert_eq!(app.post(&path, None, json!({})).await.status, 401);
    assert_eq!(app.get(&format!("/v1/vaults/{vault}/keys"), &member.token).await.status, 403);
    assert_eq!(app.post("/v1/vaults/not-a-uuid/rotate-key", Some(&owner.token), json!({})).await.status, 400);
    let refused = app.get(&format!("/v1/vaults/{vault}/keys"), &owner.token).await;
    assert_eq!(refused.body["current_version"], 1, "refusals changed nothing");

    let by_admin = app.post(&path, Some(&admin.token), json!({})).await;
    assert_eq!((by_admin.status, by_admin.body["kek_version"].as_i64()), (200, Some(2)), "{}", by_admin.text);
}

#[tokio::test]
async fn reads_and_writes_during_rotations_never_fail_and_lose_nothing() {
    // No DEK cache: every read unwraps, so reads race the re-wrapping and the destruction.
    let app = Arc::new(spawn_app_with(|config| config.dek_cache_size = 0).await);
    let owner = app.signup("busy@example.com").await;
    let vault = app.create_vault(&owner.token, "busy").await;
    for i in 0..30 {
        assert_eq!(app.put_secret(&owner.token, &vault, &format!("k{i}"), &format!("v{i}")).await.status, 201);
    }
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for worker in 0..3 {
        let (app, token, vault, stop) = (app.clone(), owner.token.clone(), vault.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let mut done = 0u32;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) || done < 30 {
                let i = (done as usize * 7 + worker) % 30;
                let response = app.get(&format!("/v1/vaults/{vault}/secrets/k{i}"), &token).await;
                assert_eq!(response.status, 200, "read during rotation failed: {}", response.text);
                assert_eq!(response.body["value"], format!("v{i}"));
                done += 1;
            }
            done
        }));
    }
    let writer = {
        let (app, token, vault, stop) = (app.clone(), owner.token.clone(), vault.clone(), stop.clone());
        tokio::spawn(async move {
            let mut written = 0u32;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) || written < 10 {
                let response = app.put_secret(&token, &vault, &format!("new{written}"), &format!("w{written}")).await;
                assert_eq!(response.status, 201, "write during rotation failed: {}", response.text);
                written += 1;
            }
            written
        })
    };
    for expected in 2..=4 {
        let rotated = app.post(&format!("/v1/vaults/{vault}/rotate-key"), Some(&owner.token), json!({})).await;
        assert_eq!((rotated.status, rotated.body["kek_version"].as_i64()), (200, Some(expected)), "{}", rotated.text);
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for worker in workers {
        assert!(worker.await.unwrap() >= 30);
    }
    let written = writer.await.unwrap();
    for i in 0..written {
        assert_eq!(read(&app, &owner.token, &vault, &format!("new{i}")).await, format!("w{i}"));
    }
    let id = VaultId(vault.parse().unwrap());
    for old in 1..4 {
        assert!(app.core.deps().store.deks_under_kek(id, old, 10).await.unwrap().is_empty(), "v{old} still used");
    }
    let (_, history) = app.core.keys().history_as_operator(id).await.unwrap();
    assert!(history.iter().filter(|k| k.kek.version < 4).all(|k| k.destroyed_at.is_some()), "{history:?}");
    if let Some(counts) = kek_objects(&app, &vault, &[1, 2, 3, 4]).await {
        assert_eq!(counts, vec![0, 0, 0, 1]);
    }
}

#[tokio::test]
async fn a_rotation_cut_off_after_its_first_step_is_finished_later() {
    let app = spawn_app().await;
    let owner = app.signup("resume@example.com").await;
    let vault = app.create_vault(&owner.token, "resume").await;
    for i in 0..4 {
        app.put_secret(&owner.token, &vault, &format!("r{i}"), &format!("value{i}")).await;
    }
    // Step 1 alone, as a process killed right after it would leave things: KEK version 2 made
    // and current, every data key still under version 1.
    let id = VaultId(vault.parse().unwrap());
    let deps = app.core.deps();
    let kek = deps.keys.create_kek(id, 2).await.unwrap();
    let mut tx = deps.store.begin().await.unwrap();
    assert!(tx.add_vault_key(&kek, 1, deps.clock.now()).await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(deps.store.deks_under_kek(id, 1, 10).await.unwrap().len(), 4);
    // Half done, everything still reads, and new writes go under version 2.
    assert_eq!(read(&app, &owner.token, &vault, "r2").await, "value2");
    app.put_secret(&owner.token, &vault, "during", "under-v2").await;

    let finished = app.core.keys().finish_pending(&RequestMeta::internal(Surface::Cli)).await.unwrap();
    let mine: Vec<_> = finished.iter().filter(|r| r.vault_id == id).collect();
    assert_eq!(mine.len(), 1);
    assert_eq!((mine[0].rewrapped, mine[0].destroyed_versions.clone()), (4, vec![1]));
    for i in 0..4 {
        assert_eq!(read(&app, &owner.token, &vault, &format!("r{i}")).await, format!("value{i}"));
    }
    assert_eq!(read(&app, &owner.token, &vault, "during").await, "under-v2");
    assert!(
        app.core
            .keys()
            .finish_pending(&RequestMeta::internal(Surface::Cli))
            .await
            .unwrap()
            .iter()
            .all(|r| r.vault_id != id)
    );
    let destroy = app.audit_events(&owner).await.into_iter().find(|e| e.action == "vault.key_destroy").unwrap();
    assert_eq!(destroy.actor_type, "system");
    if let Some(counts) = kek_objects(&app, &vault, &[1, 2]).await {
        assert_eq!(counts, vec![0, 1]);
    }
}

/// TEST DOUBLE: the configured key provider, except that one armed unwrap of KEK version 1
/// waits for a signal, so a read can be held between fetching its row and opening it while a
/// whole rotation runs. Everything else goes straight through to the real provider.
struct GatedUnwrap {
    inner: Arc<dyn KeyProvider>,
    armed: std::sync::atomic::AtomicBool,
    holding: tokio::sync::Notify,
    release: tokio::sync::Notify,
}

#[async_trait::async_trait]
impl KeyProvider for GatedUnwrap {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    async fn create_kek(&self, vault: VaultId, version: i64) -> oneclaw_core::Result<KekRef> {
        self.inner.create_kek(vault, version).await
    }
    async fn destroy_kek(&self, kek: &KekRef) -> oneclaw_core::Result<()> {
        self.inner.destroy_kek(kek).await
    }
    async fn wrap_dek(&self, kek: &KekRef, dek: &DataKey, aad: &[u8]) -> oneclaw_core::Result<Vec<u8>> {
        self.inner.wrap_dek(kek, dek, aad).await
    }
    async fn unwrap_dek(&self, kek: &KekRef, wrapped: &[u8], aad: &[u8]) -> oneclaw_core::Result<DataKey> {
        if kek.version == 1 && self.armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
            self.holding.notify_one();
            self.release.notified().await;
        }
        self.inner.unwrap_dek(kek, wrapped, aad).await
    }
    async fn seal_system_secret(&self, purpose: &str, secret: &[u8]) -> oneclaw_core::Result<Vec<u8>> {
        self.inner.seal_system_secret(purpose, secret).await
    }
    async fn unseal_system_secret(
        &self,
        purpose: &str,
        sealed: &[u8],
    ) -> oneclaw_core::Result<zeroize::Zeroizing<Vec<u8>>> {
        self.inner.unseal_system_secret(purpose, sealed).await
    }
}

#[tokio::test]
async fn a_read_that_fetched_its_row_before_a_whole_rotation_still_answers() {
    let gate = Arc::new(std::sync::OnceLock::<Arc<GatedUnwrap>>::new());
    let slot = gate.clone();
    let app = Arc::new(
        spawn_app_with_keys(
            |config| config.dek_cache_size = 0,
            move |inner| {
                let gated = Arc::new(GatedUnwrap {
                    inner,
                    armed: false.into(),
                    holding: tokio::sync::Notify::new(),
                    release: tokio::sync::Notify::new(),
                });
                let _ = slot.set(gated.clone());
                gated
            },
        )
        .await,
    );
    let gate = gate.get().unwrap().clone();
    let owner = app.signup("held@example.com").await;
    let vault = app.create_vault(&owner.token, "held").await;
    app.put_secret(&owner.token, &vault, "slow", "still-here").await;

    gate.armed.store(true, std::sync::atomic::Ordering::SeqCst);
    let reader = {
        let (app, token, vault) = (app.clone(), owner.token.clone(), vault.clone());
        tokio::spawn(async move { app.get(&format!("/v1/vaults/{vault}/secrets/slow"), &token).await })
    };
    gate.holding.notified().await;
    let rotated = app.post(&format!("/v1/vaults/{vault}/rotate-key"), Some(&owner.token), json!({})).await;
    assert_eq!(rotated.body["destroyed_versions"], json!([1]), "{}", rotated.text);
    gate.release.notify_one();
    let read = reader.await.unwrap();
    assert_eq!((read.status, read.body["value"].as_str()), (200, Some("still-here")), "{}", read.text);
}

#[tokio::test]
async fn environment_variables_survive_a_kek_rotation() {
    let app = spawn_app().await;
    let owner = app.signup("rotate-env@example.com").await;
    let vault = app.create_vault(&owner.token, "v").await;
    let created = app
        .post(
            &format!("/v1/vaults/{vault}/env-vars"),
            Some(&owner.token),
            json!({"key": "DB_URL", "value": "before-rotation"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let rotated = app.post(&format!("/v1/vaults/{vault}/rotate-key"), Some(&owner.token), json!({})).await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    assert_eq!(rotated.body["rewrapped"], 1, "the variable's data key moved with the secrets'");
    assert_eq!(rotated.body["destroyed_versions"], json!([1]), "so the old KEK could go");
    let resolved = app.get(&format!("/v1/vaults/{vault}/env-vars/resolve?environment=preview"), &owner.token).await;
    assert_eq!(resolved.body["vars"]["DB_URL"], "before-rotation", "{}", resolved.text);
}
