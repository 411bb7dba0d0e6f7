-- oneclaw foundation schema (PostgreSQL). Ids are UUIDs; times are unix milliseconds;
-- JSON is stored as text. Keep in step with migrations/sqlite/0001_foundation.sql.

CREATE TABLE orgs (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id UUID PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES orgs (id),
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT,
    role TEXT NOT NULL,
    auth_method TEXT NOT NULL,
    email_verified BOOLEAN NOT NULL,
    marketing_emails BOOLEAN NOT NULL,
    totp_enabled BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX users_org ON users (org_id);

CREATE TABLE sessions (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id),
    org_id UUID NOT NULL,
    refresh_digest BYTEA UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE revoked_tokens (
    jti UUID PRIMARY KEY,
    forget_after BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id),
    org_id UUID NOT NULL,
    name TEXT NOT NULL,
    key_prefix TEXT NOT NULL,
    digest BYTEA NOT NULL,
    scopes TEXT NOT NULL,
    is_active BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    last_used_at BIGINT
);
CREATE INDEX api_keys_prefix ON api_keys (key_prefix);
CREATE INDEX api_keys_user ON api_keys (user_id);

CREATE TABLE vaults (
    id UUID PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES orgs (id),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    created_by_type TEXT NOT NULL,
    created_by UUID NOT NULL,
    created_at BIGINT NOT NULL,
    kek_version BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE vault_keys (
    vault_id UUID NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    provider TEXT NOT NULL,
    handle BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (vault_id, version)
);

CREATE TABLE secrets (
    id UUID PRIMARY KEY,
    vault_id UUID NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    current_version BIGINT NOT NULL,
    deleted_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (vault_id, path)
);

CREATE TABLE secret_versions (
    secret_id UUID NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    secret_type TEXT NOT NULL,
    metadata TEXT NOT NULL,
    rotation_policy TEXT,
    expires_at BIGINT,
    max_access_count BIGINT,
    access_count BIGINT NOT NULL DEFAULT 0,
    is_disabled BOOLEAN NOT NULL DEFAULT FALSE,
    deleted_at BIGINT,
    created_by_type TEXT NOT NULL,
    created_by UUID NOT NULL,
    created_at BIGINT NOT NULL,
    ciphertext BYTEA NOT NULL,
    wrapped_dek BYTEA NOT NULL,
    kek_version BIGINT NOT NULL,
    PRIMARY KEY (secret_id, version)
);

CREATE TABLE system_secrets (
    purpose TEXT PRIMARY KEY,
    sealed BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE audit_events (
    id UUID PRIMARY KEY,
    org_id UUID NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id UUID,
    action TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT,
    details TEXT NOT NULL,
    ip_address TEXT,
    user_agent TEXT,
    surface TEXT NOT NULL,
    outcome TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX audit_org_time ON audit_events (org_id, created_at);
