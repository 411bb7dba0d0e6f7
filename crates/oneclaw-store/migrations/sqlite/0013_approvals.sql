-- Issue 18: approval requests. A gated secret use names its vault, path and operation (and
-- the policy asking); an agent's own request names only its action and target. A decision is
-- one conditional update from pending, so two approvers (or a decision racing expiry) cannot
-- both win; a one-use approval is spent by one conditional update too.
CREATE TABLE approvals (
    id BLOB PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    requester_type TEXT NOT NULL,
    requester_id BLOB NOT NULL,
    addressed_to BLOB NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    vault_id BLOB REFERENCES vaults (id) ON DELETE CASCADE,
    path TEXT,
    operation TEXT,
    policy_id BLOB,
    summary TEXT NOT NULL,
    reason TEXT,
    risk_tier INTEGER NOT NULL,
    requester_ip TEXT,
    approvers TEXT NOT NULL,
    max_window_seconds INTEGER NOT NULL,
    -- pending, approved, rejected, expired or used
    status TEXT NOT NULL,
    decided_by BLOB,
    decision_reason TEXT,
    decided_at INTEGER,
    expires_at INTEGER NOT NULL,
    grant_until INTEGER,
    uses_left INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX approvals_by_org ON approvals (org_id, created_at);
CREATE INDEX approvals_by_use ON approvals (org_id, requester_id, vault_id, path, operation, status);
