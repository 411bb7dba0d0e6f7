-- Agents, policies, team invites, org IP rules and shares (SQLite).
-- Keep in step with migrations/postgres/0002_access_model.sql.

-- The human answerable for a vault: its creator, or for an agent's vault the agent's creator.
ALTER TABLE vaults ADD COLUMN owner_user_id BLOB;
UPDATE vaults SET owner_user_id = created_by WHERE created_by_type = 'user';

-- Removed members keep their row (and their audit trail) but can no longer sign in.
ALTER TABLE users ADD COLUMN disabled_at INTEGER;

CREATE TABLE agents (
    id BLOB PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES orgs (id),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    auth_method TEXT NOT NULL,
    scopes TEXT,
    is_active BOOLEAN NOT NULL,
    token_ttl_seconds INTEGER,
    vault_ids TEXT NOT NULL,
    expires_at INTEGER,
    api_key_expires_at INTEGER,
    intents_api_enabled BOOLEAN NOT NULL,
    created_by BLOB NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    last_active_at INTEGER,
    deleted_at INTEGER,
    key_prefix TEXT NOT NULL,
    key_digest BLOB NOT NULL,
    token_generation INTEGER NOT NULL
);
CREATE INDEX agents_org ON agents (org_id);
CREATE INDEX agents_key_prefix ON agents (key_prefix);

CREATE TABLE policies (
    id BLOB PRIMARY KEY,
    vault_id BLOB NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
    principal_type TEXT NOT NULL,
    principal_id BLOB NOT NULL,
    secret_path_pattern TEXT NOT NULL,
    permissions TEXT NOT NULL,
    conditions TEXT NOT NULL,
    expires_at INTEGER,
    effect TEXT NOT NULL,
    priority INTEGER NOT NULL,
    created_by_type TEXT NOT NULL,
    created_by BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    policy_schema_version INTEGER NOT NULL
);
CREATE INDEX policies_principal ON policies (principal_id, vault_id);
CREATE INDEX policies_vault ON policies (vault_id);

CREATE TABLE invites (
    id BLOB PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES orgs (id),
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    invited_by BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    accepted_at INTEGER
);
CREATE INDEX invites_email ON invites (email);

CREATE TABLE ip_rules (
    id BLOB PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES orgs (id),
    rule_type TEXT NOT NULL,
    cidr TEXT NOT NULL,
    label TEXT NOT NULL,
    applies_to TEXT NOT NULL,
    created_by BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX ip_rules_org ON ip_rules (org_id);

CREATE TABLE shares (
    id BLOB PRIMARY KEY,
    org_id BLOB NOT NULL,
    secret_id BLOB NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
    created_by_type TEXT NOT NULL,
    created_by BLOB NOT NULL,
    recipient_type TEXT NOT NULL,
    recipient_id BLOB,
    recipient_email TEXT,
    permissions TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    max_access_count INTEGER,
    access_count INTEGER NOT NULL,
    passphrase_hash TEXT,
    ip_allowlist TEXT,
    failed_attempts INTEGER NOT NULL,
    locked_until INTEGER,
    accepted_at INTEGER,
    declined_at INTEGER,
    revoked_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX shares_creator ON shares (created_by);
CREATE INDEX shares_recipient ON shares (recipient_id);
CREATE INDEX shares_recipient_email ON shares (recipient_email);
