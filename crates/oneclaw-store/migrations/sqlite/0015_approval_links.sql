-- Issue 18: the one-click links mailed to approvers. A link is found by the keyed digest of
-- its token (the token itself is never stored), decides as the user it was minted for (who
-- must still be allowed to), and works once.
CREATE TABLE approval_links (
    digest BLOB PRIMARY KEY,
    approval_id BLOB NOT NULL REFERENCES approvals (id) ON DELETE CASCADE,
    org_id BLOB NOT NULL,
    user_id BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
