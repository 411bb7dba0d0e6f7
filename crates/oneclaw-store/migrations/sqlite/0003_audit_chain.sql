-- The per-org audit hash chain, its heads, signed checkpoints, and query indexes (SQLite).
-- Keep in step with migrations/postgres/0003_audit_chain.sql. Events written before this
-- migration are chained at start-up (see `chain_legacy_events`).

ALTER TABLE audit_events ADD COLUMN seq INTEGER;
ALTER TABLE audit_events ADD COLUMN prev_hash BLOB;
ALTER TABLE audit_events ADD COLUMN hash BLOB;
CREATE UNIQUE INDEX audit_org_seq ON audit_events (org_id, seq);
CREATE INDEX audit_org_actor ON audit_events (org_id, actor_id, seq);
CREATE INDEX audit_org_resource ON audit_events (org_id, resource_id, seq);
CREATE INDEX audit_org_action ON audit_events (org_id, action, seq);

-- One row per org: the last sequence number and hash. Writers lock it, so a chain never forks.
CREATE TABLE audit_heads (
    org_id BLOB PRIMARY KEY,
    seq INTEGER NOT NULL,
    hash BLOB NOT NULL
);

CREATE TABLE audit_checkpoints (
    org_id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    hash BLOB NOT NULL,
    signature BLOB NOT NULL,
    key_id TEXT NOT NULL,
    signed_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, seq)
);
