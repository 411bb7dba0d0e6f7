//! Column lists of the foundation tables, as macros so `concat!` can build whole statements.

macro_rules! user_cols {
    () => {
        "id, org_id, email, display_name, password_hash, role, auth_method, email_verified, marketing_emails, \
         totp_enabled, created_at, disabled_at, credential_generation"
    };
}
macro_rules! vault_cols {
    () => {
        "id, org_id, name, description, created_by_type, created_by, created_at, kek_version, owner_user_id"
    };
}
/// A vault's columns under the `v_` names a join reads them by (`JOINED_VAULT_COLUMNS`).
macro_rules! joined_vault_cols {
    () => {
        "v.id AS v_id, v.org_id AS v_org_id, v.name AS v_name, v.description AS v_description, \
         v.created_by_type AS v_created_by_type, v.created_by AS v_created_by, v.created_at AS v_created_at, \
         v.kek_version AS v_kek_version, v.owner_user_id AS v_owner_user_id, v.policy_generation AS v_policy_generation"
    };
}
macro_rules! version_cols {
    () => {
        "s.id, s.vault_id, s.path, v.version, v.secret_type, v.metadata, v.rotation_policy, v.expires_at, \
         v.max_access_count, v.access_count, v.is_disabled, v.deleted_at, v.created_by_type, v.created_by, v.created_at"
    };
}
macro_rules! api_key_cols {
    () => {
        "id, user_id, org_id, name, key_prefix, digest, scopes, is_active, created_at, expires_at, last_used_at"
    };
}
macro_rules! session_cols {
    () => {
        "id, user_id, org_id, refresh_digest, created_at, expires_at, revoked_at"
    };
}
macro_rules! audit_cols {
    () => {
        "id, org_id, actor_type, actor_id, action, resource_type, resource_id, details, ip_address, user_agent, \
         surface, outcome, created_at, seq, prev_hash, hash"
    };
}

/// One secret version with its sealed value and KEK reference: the whole read in one query.
/// `$1` vault, `$2` path, `$3` version (NULL for the latest).
macro_rules! secret_read_sql {
    () => {
        concat!(
            "SELECT ",
            version_cols!(),
            ", v.ciphertext, v.wrapped_dek, v.kek_version, k.provider, k.handle \
             FROM secrets s \
             JOIN secret_versions v ON v.secret_id = s.id AND v.version = COALESCE($3, s.current_version) \
             JOIN vault_keys k ON k.vault_id = s.vault_id AND k.version = v.kek_version \
             WHERE s.vault_id = $1 AND s.path = $2"
        )
    };
}

/// Takes a path's next version number: creates the secret (version 1) or moves its counter,
/// reviving a deleted one. `$1` new id, `$2` vault, `$3` path, `$4` now. Backends may add
/// columns after `current_version` (`SqlBackend::NEXT_VERSION_WITH_KEK`).
macro_rules! next_version_insert {
    () => {
        "INSERT INTO secrets (id, vault_id, path, current_version, deleted_at, created_at, updated_at) \
         VALUES ($1, $2, $3, 1, NULL, $4, $4) \
         ON CONFLICT (vault_id, path) DO UPDATE SET current_version = secrets.current_version + 1, \
         deleted_at = NULL, updated_at = excluded.updated_at \
         RETURNING id, current_version"
    };
}
