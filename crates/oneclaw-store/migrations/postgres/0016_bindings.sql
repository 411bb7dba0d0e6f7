-- Issue 20: execution intents. A binding ties an agent to an outside service and a credential
-- (sealed by the key provider, or a pointer to a secret path in the binding's vault); an
-- execution is reserved as 'running' under the binding's row before its call is made, so the
-- per-minute and per-day limits hold across racing requests and nodes.
CREATE TABLE bindings (
    id UUID PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    agent_id UUID NOT NULL,
    name TEXT NOT NULL,
    binding_type TEXT NOT NULL,
    config TEXT NOT NULL,
    guardrails TEXT NOT NULL,
    is_active BOOLEAN NOT NULL,
    vault_id UUID NOT NULL,
    -- NULL (none yet), inline or vault_ref
    credential_source TEXT,
    credential_path TEXT,
    credential_sealed BYTEA,
    created_by UUID NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_execution_at BIGINT
);
CREATE UNIQUE INDEX bindings_by_agent_name ON bindings (agent_id, name);
CREATE TABLE executions (
    id UUID PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    agent_id UUID NOT NULL,
    binding_id UUID NOT NULL,
    intent_type TEXT NOT NULL,
    -- running, success, error or refused
    status TEXT NOT NULL,
    request_summary TEXT NOT NULL,
    result_summary TEXT,
    error_message TEXT,
    duration_ms BIGINT NOT NULL,
    redactions_applied BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX executions_by_binding ON executions (binding_id, created_at);
CREATE INDEX executions_by_agent ON executions (agent_id, created_at);
