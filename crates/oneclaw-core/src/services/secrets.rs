//! Secrets: versioned, envelope-encrypted values at paths in a vault.
//!
//! A read is one transaction: find the version (with its sealed value and KEK reference in the
//! same query), check it may be read, count it if it has an access limit, decrypt, record the
//! read, commit. The value is decrypted before the commit, so a read is only recorded when it
//! can be answered, and only answered once it is recorded.

use super::Deps;
use super::access::{Access, VaultWithPolicies, evaluate};
use super::change::{Change, record_alone};
use super::generate::{DEFAULT_LENGTH, parse_charset, random_value};
use crate::audit::{AuditEvent, Outcome, action};
use crate::billing::PaidOperation;
use crate::billing::Resource;
use crate::env_vars::EnvVar;
use crate::ids::{SecretId, VaultId};
use crate::model::{SecretVersion, Vault};
use crate::path::{PathPrefix, SecretPath};
use crate::policy::{Operation, PolicySet};
use crate::ports::ValueBinding;
use crate::principal::Caller;
use crate::{Error, Result};
use oneclaw_types::SecretString;
use time::OffsetDateTime;

const MAX_TYPE_CHARS: usize = 64;
const MAX_JSON_BYTES: usize = 16 * 1024;
const DEFAULT_TYPE: &str = "generic";

/// What a PUT asks to store.
#[derive(Debug, Default)]
pub struct NewSecret {
    pub secret_type: Option<String>,
    pub value: SecretString,
    pub metadata: Option<serde_json::Value>,
    pub expires_at: Option<OffsetDateTime>,
    pub rotation_policy: Option<serde_json::Value>,
    pub max_access_count: Option<i64>,
}

/// What a rotation asks for.
#[derive(Debug, Default)]
pub struct Rotation {
    pub length: Option<i64>,
    pub charset: Option<String>,
    pub secret_type: Option<String>,
}

/// A version and its decrypted value.
#[derive(Debug)]
pub struct RevealedSecret {
    pub version: SecretVersion,
    pub value: SecretString,
}

/// Secret service.
pub struct Secrets<'a> {
    deps: &'a Deps,
}

impl<'a> Secrets<'a> {
    pub(crate) fn new(deps: &'a Deps) -> Self {
        Self { deps }
    }

    /// Stores a new version of the secret at `path`.
    pub async fn put(
        &self,
        caller: &Caller,
        vault_id: VaultId,
        path: &SecretPath,
        new: NewSecret,
    ) -> Result<SecretVersion> {
        let vault = self.vault_for(caller, vault_id, path, Operation::Write).await?;
        let now = self.deps.clock.now();
        let secret_type = checked_type(new.secret_type.as_deref().unwrap_or(DEFAULT_TYPE))?;
        if new.value.len() > self.deps.settings.max_secret_bytes {
            return Err(Error::invalid_field(
                "value",
                format!("is larger than {} bytes", self.deps.settings.max_secret_bytes),
            ));
        }
        let metadata = match new.metadata {
            None | Some(serde_json::Value::Null) => serde_json::Value::Object(serde_json::Map::new()),
            Some(value @ serde_json::Value::Object(_)) => checked_json_size("metadata", value)?,
            Some(_) => return Err(Error::invalid_field("metadata", "must be a JSON object")),
        };
        let rotation_policy = match new.rotation_policy {
            None | Some(serde_json::Value::Null) => None,
            Some(value @ serde_json::Value::Object(_)) => Some(checked_json_size("rotation_policy", value)?),
            Some(_) => return Err(Error::invalid_field("rotation_policy", "must be a JSON object")),
        };
        if new.expires_at.is_some_and(|at| at <= now) {
            return Err(Error::invalid_field("expires_at", "must be in the future"));
        }
        if new.max_access_count.is_some_and(|n| n < 1) {
            return Err(Error::invalid_field("max_access_count", "must be at least 1"));
        }
        let draft = Draft {
            secret_type,
            metadata,
            rotation_policy,
            expires_at: new.expires_at,
            max_access_count: new.max_access_count,
        };
        // A new path (or one that was deleted) is one more secret against the plan's limit.
        if super::Billing::new(self.deps).enabled() {
            let latest = self.deps.store.latest_secret_version(vault.id, path.as_str()).await?;
            if latest.is_none_or(|latest| latest.deleted_at.is_some()) {
                super::Billing::new(self.deps).check_resource(vault.org_id, Resource::Secrets).await?;
            }
        }
        self.store_version(caller, &vault, path, draft, &new.value, action::SECRET_WRITE, Companion::None).await
    }

    /// Replaces the value with a server-generated one, as a new version. Metadata and rotation
    /// policy carry over; expiry and access limits belonged to the old value and do not.
    pub async fn rotate(
        &self,
        caller: &Caller,
        vault_id: VaultId,
        path: &SecretPath,
        rotation: Rotation,
    ) -> Result<SecretVersion> {
        let vault = self.vault_for(caller, vault_id, path, Operation::Rotate).await?;
        let length = match rotation.length {
            None => DEFAULT_LENGTH,
            Some(n) => usize::try_from(n).map_err(|_| Error::invalid_field("length", "must be positive"))?,
        };
        let charset = parse_charset(rotation.charset.as_deref().unwrap_or("hex"))?;
        let value = random_value(length, charset)?;
        let current = self.current_version(caller, &vault, path).await?;
        let secret_type = match rotation.secret_type {
            Some(t) => checked_type(&t)?,
            None => current.secret_type.clone(),
        };
        let draft = Draft {
            secret_type,
            metadata: current.metadata.clone(),
            rotation_policy: current.rotation_policy.clone(),
            expires_at: None,
            max_access_count: None,
        };
        self.store_version(caller, &vault, path, draft, &value, action::SECRET_ROTATE, Companion::None).await
    }

    /// Reads the latest version, or `version` when given.
    pub async fn read(
        &self,
        caller: &Caller,
        vault_id: VaultId,
        path: &SecretPath,
        version: Option<i64>,
    ) -> Result<RevealedSecret> {
        // The common read changes nothing: one store read outside any transaction (the vault,
        // the caller's policies unless cached, and the secret), then the record goes through
        // the group-committing journal and the value is answered only once that record is
        // durable. A version with an access limit must count the read in the same transaction
        // as its record, so it takes the transactional path.
        let access = Access::new(self.deps);
        let found = access.vault_access_with_secret(self.deps.store.as_ref(), caller, vault_id, path, version);
        let found = self.vault_found(caller, vault_id, path, Operation::Read, found.await).await;
        let (VaultWithPolicies { vault, policies }, found) = found?;
        self.check(caller, &vault, &policies, path, Operation::Read).await?;
        let now = self.deps.clock.now();
        let event = AuditEvent::by(caller, action::SECRET_READ, "secret", now)
            .detail("vault_id", vault.id.to_string())
            .detail("path", path.as_str());
        let Some(found) = found else {
            return Err(self.refuse(event, Error::NotFound(no_secret(path, version))).await);
        };
        let event = event.resource(found.version.secret_id).detail("version", found.version.version);
        if let Err(gone) = readable(&found.version, now) {
            return Err(self.refuse(event, gone).await);
        }
        let binding = binding(&vault, path, found.version.version);
        if found.version.max_access_count.is_none() {
            let value = open_value(self.deps, binding, &found).await?;
            // Paid once the value is in hand, and answered only once the read is recorded.
            super::charging::charge_and_record(self.deps, caller, PaidOperation::ReadSecret, event).await?;
            return Ok(RevealedSecret { version: found.version, value });
        }
        // Used up already: refused before anything is paid (the transaction counts atomically).
        if found.version.max_access_count.is_some_and(|max| found.version.access_count >= max) {
            return Err(self
                .refuse(event, Error::Gone("Secret has reached its maximum access count".to_owned()))
                .await);
        }
        let payment = super::charging::pay_before(self.deps, caller, PaidOperation::ReadSecret).await?;
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if !change.tx().count_secret_access(found.version.secret_id, found.version.version).await? {
            drop(change);
            return Err(self
                .refuse(event, Error::Gone("Secret has reached its maximum access count".to_owned()))
                .await);
        }
        let value = open_value(self.deps, binding, &found).await?;
        super::charging::commit_paid(self.deps, change, caller, PaidOperation::ReadSecret, payment, [event]).await?;
        Ok(RevealedSecret { version: found.version, value })
    }

    /// Soft-deletes every version at `path`; later reads answer 410.
    pub async fn delete(&self, caller: &Caller, vault_id: VaultId, path: &SecretPath) -> Result<()> {
        let vault = self.vault_for(caller, vault_id, path, Operation::Delete).await?;
        let now = self.deps.clock.now();
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if !change.tx().soft_delete_secret(vault.id, path.as_str(), now).await? {
            return Err(Error::NotFound(no_secret(path, None)));
        }
        let event = AuditEvent::by(caller, action::SECRET_DELETE, "secret", now)
            .detail("vault_id", vault.id.to_string())
            .detail("path", path.as_str());
        change.commit([event]).await
    }

    /// The latest version of each live secret, optionally under a prefix. Never values.
    pub async fn list(&self, caller: &Caller, vault_id: VaultId, prefix: &PathPrefix) -> Result<Vec<SecretVersion>> {
        let access = Access::new(self.deps);
        let VaultWithPolicies { vault, policies } = access.vault_access(caller, vault_id).await?;
        if !access.see_with(caller, &vault, policies.policies()).await? {
            return Err(Error::Forbidden("You have no access to this vault".to_owned()));
        }
        let now = self.deps.clock.now();
        // Only the paths the caller may read are listed.
        let secrets: Vec<SecretVersion> = self
            .deps
            .store
            .latest_secrets(vault.id, prefix)
            .await?
            .into_iter()
            .filter(|s| {
                SecretPath::parse(&s.path)
                    .is_ok_and(|p| evaluate(caller, &vault, &policies, &p, Operation::Read, now).is_ok())
            })
            .collect();
        let event = AuditEvent::by(caller, action::SECRET_LIST, "vault", now)
            .resource(vault.id)
            .detail("prefix", prefix.as_str())
            .detail("count", secrets.len());
        super::change::record_served(self.deps.journal.as_ref(), caller, event).await?;
        Ok(secrets)
    }

    /// Every version of a secret, oldest first. Never values.
    pub async fn versions(&self, caller: &Caller, vault_id: VaultId, path: &SecretPath) -> Result<Vec<SecretVersion>> {
        let vault = self.vault_for(caller, vault_id, path, Operation::Read).await?;
        let versions = self.deps.store.secret_versions(vault.id, path.as_str()).await?;
        let Some(last) = versions.last() else {
            return Err(Error::NotFound(no_secret(path, None)));
        };
        if last.deleted_at.is_some() {
            return Err(Error::Gone("Secret has been deleted".to_owned()));
        }
        let now = self.deps.clock.now();
        let event = AuditEvent::by(caller, action::SECRET_VERSIONS, "secret", now)
            .resource(last.secret_id)
            .detail("vault_id", vault.id.to_string())
            .detail("path", path.as_str());
        super::change::record_served(self.deps.journal.as_ref(), caller, event).await?;
        Ok(versions)
    }

    /// Disables one version: kept for the record, but reads of it answer 410.
    pub async fn disable_version(
        &self,
        caller: &Caller,
        vault_id: VaultId,
        path: &SecretPath,
        version: i64,
    ) -> Result<()> {
        let vault = self.vault_for(caller, vault_id, path, Operation::Write).await?;
        let now = self.deps.clock.now();
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        if !change.tx().disable_secret_version(vault.id, path.as_str(), version).await? {
            return Err(Error::NotFound(no_secret(path, Some(version))));
        }
        let event = AuditEvent::by(caller, action::SECRET_VERSION_DISABLE, "secret", now)
            .detail("vault_id", vault.id.to_string())
            .detail("path", path.as_str())
            .detail("version", version);
        change.commit([event]).await
    }

    /// Stores a new value of an environment variable (its reserved secret) and writes the
    /// variable's row in the same transaction. The caller has checked access.
    pub(crate) async fn store_env_value(
        &self,
        caller: &Caller,
        vault: &Vault,
        var: &EnvVar,
        value: &SecretString,
        action: &str,
        insert: bool,
    ) -> Result<SecretVersion> {
        if value.len() > self.deps.settings.max_secret_bytes {
            return Err(Error::invalid_field(
                "value",
                format!("is larger than {} bytes", self.deps.settings.max_secret_bytes),
            ));
        }
        let draft = Draft {
            secret_type: "env_var".to_owned(),
            metadata: serde_json::Value::Object(serde_json::Map::new()),
            rotation_policy: None,
            expires_at: None,
            max_access_count: None,
        };
        let path = crate::env_vars::value_path(var.id);
        self.store_version(caller, vault, &path, draft, value, action, Companion::EnvVar { var, insert }).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn store_version(
        &self,
        caller: &Caller,
        vault: &Vault,
        path: &SecretPath,
        draft: Draft,
        value: &SecretString,
        action: &str,
        companion: Companion<'_>,
    ) -> Result<SecretVersion> {
        let now = self.deps.clock.now();
        // Paid (past the allowance) before any write transaction: no lock waits on a payment.
        let payment = super::charging::pay_before(self.deps, caller, PaidOperation::WriteSecret).await?;
        // Sealed before the write transaction, under the version number and KEK it will most
        // likely get, so the key provider's call (an HSM round trip) holds no write lock. The
        // transaction then checks both. A concurrent write to the same path or a KEK rotation
        // in between means sealing again inside the transaction: once, while holding the lock,
        // rather than queueing for another turn (under group commit the committed version the
        // guess reads lags the writers ahead in the same group, so a retry would miss again).
        let version = self.deps.store.secret_current_version(vault.id, path.as_str()).await?.map_or(1, |v| v + 1);
        // A KEK read here may be retired and destroyed by a rotation before the seal; a failed
        // early seal just leaves the sealing to the transaction, which holds it.
        let early = match self.deps.store.vault_key(vault.id, vault.kek_version).await? {
            Some(kek) if kek.handle.is_empty() => None,
            Some(kek) => match self.deps.cipher.seal(&kek, binding(vault, path, version), value).await {
                Ok(sealed) => Some((version, kek, sealed)),
                Err(_) => None,
            },
            None => None,
        };
        let mut change = Change::begin(self.deps.store.as_ref()).await?;
        let ((secret_id, version), kek) =
            change.tx().next_secret_version_under_current_kek(vault.id, path.as_str(), now).await?;
        let kek = match kek {
            Some(kek) => kek,
            None => current_kek(change.tx(), vault).await?,
        };
        let sealed = match early {
            Some((sealed_for, sealed_under, sealed)) if sealed_for == version && sealed_under == kek => sealed,
            _ => self.deps.cipher.seal(&kek, binding(vault, path, version), value).await?,
        };
        self.insert_version(
            change,
            caller,
            vault,
            path,
            &draft,
            (secret_id, version),
            sealed,
            action,
            payment,
            companion,
        )
        .await
    }

    /// Records a sealed version and its audit event in `change`, and commits.
    #[allow(clippy::too_many_arguments)]
    async fn insert_version(
        &self,
        mut change: Change,
        caller: &Caller,
        vault: &Vault,
        path: &SecretPath,
        draft: &Draft,
        (secret_id, version): (SecretId, i64),
        sealed: crate::model::SealedValue,
        action: &str,
        payment: super::charging::Payment,
        companion: Companion<'_>,
    ) -> Result<SecretVersion> {
        let now = self.deps.clock.now();
        let draft = draft.clone();
        let record = SecretVersion {
            secret_id,
            vault_id: vault.id,
            path: path.as_str().to_owned(),
            version,
            secret_type: draft.secret_type,
            metadata: draft.metadata,
            rotation_policy: draft.rotation_policy,
            expires_at: draft.expires_at,
            max_access_count: draft.max_access_count,
            access_count: 0,
            is_disabled: false,
            deleted_at: None,
            created_by: caller.principal.who,
            created_at: now,
        };
        change.tx().insert_secret_version(&record, &sealed).await?;
        let event = match companion {
            Companion::None => AuditEvent::by(caller, action, "secret", now)
                .resource(secret_id)
                .detail("vault_id", vault.id.to_string())
                .detail("path", path.as_str())
                .detail("version", version)
                .detail("type", record.secret_type.clone()),
            Companion::EnvVar { var, insert } => {
                let var = EnvVar { secret_id: Some(secret_id), version, updated_at: now, ..var.clone() };
                if insert {
                    change.tx().insert_env_var(&var).await?;
                } else {
                    change.tx().update_env_var(&var).await?;
                }
                super::env_vars::event(caller, action, &var, now)
            }
        };
        // A paid write is paid before it is kept: if it cannot be paid, the change is dropped.
        super::charging::commit_paid(self.deps, change, caller, PaidOperation::WriteSecret, payment, [event]).await?;
        Ok(record)
    }

    async fn current_version(&self, caller: &Caller, vault: &Vault, path: &SecretPath) -> Result<SecretVersion> {
        match self.deps.store.latest_secret_version(vault.id, path.as_str()).await? {
            None => Err(Error::NotFound(no_secret(path, None))),
            Some(last) if last.deleted_at.is_some() => {
                let now = self.deps.clock.now();
                let event = AuditEvent::by(caller, action::SECRET_ROTATE, "secret", now)
                    .resource(last.secret_id)
                    .detail("path", path.as_str());
                Err(self.refuse(event, Error::Gone("Secret has been deleted".to_owned())).await)
            }
            Some(last) => Ok(last),
        }
    }

    async fn vault_for(&self, caller: &Caller, vault_id: VaultId, path: &SecretPath, op: Operation) -> Result<Vault> {
        let found = Access::new(self.deps).vault_access(caller, vault_id).await;
        let VaultWithPolicies { vault, policies } = self.vault_found(caller, vault_id, path, op, found).await?;
        self.check(caller, &vault, &policies, path, op).await?;
        Ok(vault)
    }

    /// The access read's result; a vault that is not the caller's org's (or does not exist) is
    /// a refusal like any other, recorded in the caller's org, so probing for vault ids leaves
    /// a trace.
    async fn vault_found<T>(
        &self,
        caller: &Caller,
        vault_id: VaultId,
        path: &SecretPath,
        op: Operation,
        found: Result<T>,
    ) -> Result<T> {
        match found {
            Err(Error::NotFound(message)) => {
                Err(self.refuse(self.attempt(caller, vault_id, path, op), Error::NotFound(message)).await)
            }
            other => other,
        }
    }

    /// The access check of one operation on one path; a refusal is audited.
    async fn check(
        &self,
        caller: &Caller,
        vault: &Vault,
        policies: &PolicySet,
        path: &SecretPath,
        op: Operation,
    ) -> Result<()> {
        let checked = match evaluate(caller, vault, policies, path, op, self.deps.clock.now()) {
            // Allowed but for a human's approval: spend one, or answer with the request.
            Err(Error::ApprovalRequired { policy: Some(policy), .. }) => {
                super::approvals::Approvals::new(self.deps).gate(caller, vault, policies, path, op, policy).await
            }
            other => other,
        };
        if let Err(refused) = checked {
            return Err(self.refuse(self.attempt(caller, vault.id, path, op), refused).await);
        }
        Ok(())
    }

    /// Records a refused attempt with its reason, then hands back the error.
    /// The record of an attempt at `op` on `path` in a vault, before its outcome.
    fn attempt(&self, caller: &Caller, vault_id: VaultId, path: &SecretPath, op: Operation) -> AuditEvent {
        AuditEvent::by(caller, &format!("secret.{}", op.as_str()), "secret", self.deps.clock.now())
            .detail("vault_id", vault_id.to_string())
            .detail("path", path.as_str())
    }

    async fn refuse(&self, event: AuditEvent, error: Error) -> Error {
        let event = event.detail("reason", error.to_string()).outcome(Outcome::Denied);
        record_alone(self.deps.journal.as_ref(), event).await;
        error
    }
}

/// A row written in the same transaction as a new value, which also says what the audit event
/// records.
#[derive(Clone, Copy)]
enum Companion<'v> {
    None,
    /// An environment variable whose value this is (inserted, or written back).
    EnvVar {
        var: &'v EnvVar,
        insert: bool,
    },
}

/// The settings of a version about to be stored.
#[derive(Clone)]
struct Draft {
    secret_type: String,
    metadata: serde_json::Value,
    rotation_policy: Option<serde_json::Value>,
    expires_at: Option<OffsetDateTime>,
    max_access_count: Option<i64>,
}

pub(crate) fn readable(version: &SecretVersion, now: OffsetDateTime) -> Result<()> {
    if version.deleted_at.is_some() {
        return Err(Error::Gone("Secret has been deleted".to_owned()));
    }
    if version.is_disabled {
        return Err(Error::Gone(format!("Version {} is disabled", version.version)));
    }
    if version.expires_at.is_some_and(|at| at <= now) {
        return Err(Error::Gone("Secret has expired".to_owned()));
    }
    if version.max_access_count.is_some_and(|max| version.access_count >= max) {
        return Err(Error::Gone("Secret has reached its maximum access count".to_owned()));
    }
    Ok(())
}

pub(crate) fn binding<'p>(vault: &Vault, path: &'p SecretPath, version: i64) -> ValueBinding<'p> {
    ValueBinding { org_id: vault.org_id, vault_id: vault.id, path: path.as_str(), version }
}

fn no_secret(path: &SecretPath, version: Option<i64>) -> String {
    match version {
        Some(v) => format!("No version {v} of a secret at path '{path}'"),
        None => format!("No secret at path '{path}'"),
    }
}

fn checked_type(secret_type: &str) -> Result<String> {
    let secret_type = secret_type.trim();
    if secret_type.is_empty()
        || secret_type.chars().count() > MAX_TYPE_CHARS
        || secret_type.chars().any(char::is_control)
    {
        return Err(Error::invalid_field("type", format!("must be 1 to {MAX_TYPE_CHARS} printable characters")));
    }
    Ok(secret_type.to_owned())
}

fn checked_json_size(field: &str, value: serde_json::Value) -> Result<serde_json::Value> {
    let text = serde_json::to_string(&value).unwrap_or_default();
    if text.len() > MAX_JSON_BYTES || text.is_empty() {
        return Err(Error::invalid_field(field, format!("must be at most {MAX_JSON_BYTES} bytes of JSON")));
    }
    // A NUL anywhere (a key or a string) is never meant, and PostgreSQL refuses it.
    if text.contains("\\u0000") {
        return Err(Error::invalid_field(field, "must not contain NUL characters"));
    }
    Ok(value)
}

/// The vault's current KEK, read inside the write transaction that will seal under it, so a
/// rotation cannot retire it before the new value is committed. Between two statements a
/// rotation may have moved on (PostgreSQL); the next look finds the new version.
async fn current_kek(tx: &mut dyn crate::ports::StoreTx, vault: &Vault) -> Result<crate::ports::KekRef> {
    for _ in 0..3 {
        if let Some(kek) = tx.current_kek(vault.id).await? {
            return Ok(kek);
        }
    }
    Err(Error::Unavailable(format!("vault {} has no usable KEK; try again", vault.id)))
}

/// Opens a value. If that fails because a KEK rotation moved its data key (and destroyed the
/// KEK it was read with) in between, the fresh row opens; any other failure stands.
pub(crate) async fn open_value(
    deps: &Deps,
    binding: crate::ports::ValueBinding<'_>,
    found: &crate::ports::SecretRead,
) -> Result<SecretString> {
    match deps.cipher.open(&found.kek, binding, &found.sealed).await {
        Ok(value) => Ok(value),
        Err(first) => {
            let again = deps.store.secret_for_read(binding.vault_id, binding.path, Some(binding.version)).await?;
            match again {
                Some(fresh) if fresh.sealed.wrapped_dek != found.sealed.wrapped_dek => {
                    deps.cipher.open(&fresh.kek, binding, &fresh.sealed).await
                }
                _ => Err(first),
            }
        }
    }
}
