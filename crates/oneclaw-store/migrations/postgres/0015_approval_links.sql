-- Issue 18: the one-click links mailed to approvers. A link is found by the keyed digest of
-- its token (the token itself is never stored), decides as the user it was minted for (who
-- must still be allowed to), and works once.
CREATE TABLE approval_links (
    digest BYTEA PRIMARY KEY,
    approval_id UUID NOT NULL REFERENCES approvals (id) ON DELETE CASCADE,
    org_id UUID NOT NULL,
    user_id UUID NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
