-- oneclaw foundation schema (SQLite). Ids are 16-byte UUID blobs; times are unix milliseconds;
-- JSON is stored as text. Keep in step with migrations/postgres/0001_foundation.sql.

CREATE TABLE orgs (
    id BLOB PRIMARY KEY,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE users (
    id BLOB PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES orgs (id),
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT,
    role TEXT NOT NULL,
    auth_method TEXT NOT NULL,
    email_verified BOOLEAN NOT NULL,
    marketing_emails BOOLEAN NOT NULL,
    totp_enabled BOOLEAN NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX users_org ON users (org_id);

CREATE TABLE sessions (
    id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id),
    org_id BLOB NOT NULL,
    refresh_digest BLOB UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE revoked_tokens (
    jti BLOB PRIMARY KEY,
    forget_after INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id),
    org_id BLOB NOT NULL,
    name TEXT NOT NULL,
    key_prefix TEXT NOT NULL,
    digest BLOB NOT NULL,
    scopes TEXT NOT NULL,
    is_active BOOLEAN NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    last_used_at INTEGER
);
CREATE INDEX api_keys_prefix ON api_keys (key_prefix);
CREATE INDEX api_keys_user ON api_keys (user_id);

CREATE TABLE vaults (
    id BLOB PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES orgs (id),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    created_by_type TEXT NOT NULL,
    created_by BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    kek_version INTEGER NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE vault_keys (
    vault_id BLOB NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    provider TEXT NOT NULL,
    handle BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (vault_id, version)
);

CREATE TABLE secrets (
    id BLOB PRIMARY KEY,
    vault_id BLOB NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    current_version INTEGER NOT NULL,
    deleted_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (vault_id, path)
);

CREATE TABLE secret_versions (
    secret_id BLOB NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    secret_type TEXT NOT NULL,
    metadata TEXT NOT NULL,
    rotation_policy TEXT,
    expires_at INTEGER,
    max_access_count INTEGER,
    access_count INTEGER NOT NULL DEFAULT 0,
    is_disabled BOOLEAN NOT NULL DEFAULT FALSE,
    deleted_at INTEGER,
    created_by_type TEXT NOT NULL,
    created_by BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    ciphertext BLOB NOT NULL,
    wrapped_dek BLOB NOT NULL,
    kek_version INTEGER NOT NULL,
    PRIMARY KEY (secret_id, version)
);

CREATE TABLE system_secrets (
    purpose TEXT PRIMARY KEY,
    sealed BLOB NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE audit_events (
    id BLOB PRIMARY KEY,
    org_id BLOB NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id BLOB,
    action TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT,
    details TEXT NOT NULL,
    ip_address TEXT,
    user_agent TEXT,
    surface TEXT NOT NULL,
    outcome TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX audit_org_time ON audit_events (org_id, created_at);
