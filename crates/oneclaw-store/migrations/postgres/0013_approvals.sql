-- Issue 18: approval requests. A gated secret use names its vault, path and operation (and
-- the policy asking); an agent's own request names only its action and target. A decision is
-- one conditional update from pending, so two approvers (or a decision racing expiry) cannot
-- both win; a one-use approval is spent by one conditional update too.
CREATE TABLE approvals (
    id UUID PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    requester_type TEXT NOT NULL,
    requester_id UUID NOT NULL,
    addressed_to UUID NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    vault_id UUID REFERENCES vaults (id) ON DELETE CASCADE,
    path TEXT,
    operation TEXT,
    policy_id UUID,
    summary TEXT NOT NULL,
    reason TEXT,
    risk_tier BIGINT NOT NULL,
    requester_ip TEXT,
    approvers TEXT NOT NULL,
    max_window_seconds BIGINT NOT NULL,
    -- pending, approved, rejected, expired or used
    status TEXT NOT NULL,
    decided_by UUID,
    decision_reason TEXT,
    decided_at BIGINT,
    expires_at BIGINT NOT NULL,
    grant_until BIGINT,
    uses_left BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX approvals_by_org ON approvals (org_id, created_at);
CREATE INDEX approvals_by_use ON approvals (org_id, requester_id, vault_id, path, operation, status);
