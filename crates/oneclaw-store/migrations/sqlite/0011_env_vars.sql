-- Issue 16: environment variables. A vault variable's value is a secret of its vault at the
-- reserved path `@oneclaw/env/<id>` (sealed under the vault's KEK, versioned, rewrapped by
-- KEK rotation like any secret); `secret_id` names it. An org-shared variable belongs to no
-- vault: its versions are sealed by the key provider's system key in env_var_values.
CREATE TABLE vault_environments (
    id BLOB PRIMARY KEY,
    vault_id BLOB NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
    slug TEXT NOT NULL,
    description TEXT,
    copied_from TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (vault_id, slug)
);

CREATE TABLE env_vars (
    id BLOB PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    -- NULL for an org-shared variable.
    vault_id BLOB REFERENCES vaults (id) ON DELETE CASCADE,
    env_key TEXT NOT NULL,
    -- '' when the variable is no branch override.
    git_branch TEXT NOT NULL DEFAULT '',
    sensitive BOOLEAN NOT NULL,
    comment TEXT,
    version INTEGER NOT NULL,
    secret_id BLOB REFERENCES secrets (id) ON DELETE CASCADE,
    created_by_type TEXT NOT NULL,
    created_by BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX env_vars_by_vault ON env_vars (vault_id, env_key);
CREATE INDEX env_vars_by_org ON env_vars (org_id, env_key);

-- One row per environment a variable applies to; the unique key is what makes a second
-- variable with the same key in the same environment (and branch) a conflict. `scope_id` is
-- the vault, or the org for an org-shared variable.
CREATE TABLE env_var_environments (
    env_var_id BLOB NOT NULL REFERENCES env_vars (id) ON DELETE CASCADE,
    scope_id BLOB NOT NULL,
    env_key TEXT NOT NULL,
    environment TEXT NOT NULL,
    git_branch TEXT NOT NULL,
    PRIMARY KEY (env_var_id, environment),
    UNIQUE (scope_id, env_key, environment, git_branch)
);

CREATE TABLE env_var_values (
    env_var_id BLOB NOT NULL REFERENCES env_vars (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    sealed BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (env_var_id, version)
);

CREATE TABLE env_var_links (
    env_var_id BLOB NOT NULL REFERENCES env_vars (id) ON DELETE CASCADE,
    vault_id BLOB NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (env_var_id, vault_id)
);
CREATE INDEX env_var_links_by_vault ON env_var_links (vault_id);

-- An agent's environment tag: env-var resolve defaults to it and holds the agent to it.
ALTER TABLE agents ADD COLUMN environment TEXT;
