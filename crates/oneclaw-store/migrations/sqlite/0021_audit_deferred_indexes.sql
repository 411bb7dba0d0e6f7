-- Issue 15: the audit log's filter indexes (actor, resource, action) are kept for records in
-- bulk, not with every batch. A record the journal writer appends has `indexed = 0`: it is in
-- none of them, only in `audit_unindexed`; once enough have gathered the writer sets
-- `indexed = 1` on all of them in one statement, in the same transaction as a batch
-- (`sqlite_audit_folds.rs`). A filtered query reads the indexed records through the partial
-- indexes and the unindexed ones through `audit_unindexed`, merged in sequence order
-- (`sql_audit_query.rs`). Records from before this migration, and every record written
-- another way, are indexed as they are written (the default). Only SQLite: PostgreSQL keeps
-- its indexes as they were.
ALTER TABLE audit_events ADD COLUMN indexed INTEGER NOT NULL DEFAULT 1;

DROP INDEX IF EXISTS audit_org_actor;
DROP INDEX IF EXISTS audit_org_resource;
DROP INDEX IF EXISTS audit_org_action;
CREATE INDEX audit_org_actor ON audit_events (org_id, actor_id, seq) WHERE indexed = 1;
CREATE INDEX audit_org_resource ON audit_events (org_id, resource_id, seq) WHERE indexed = 1;
CREATE INDEX audit_org_action ON audit_events (org_id, action, seq) WHERE indexed = 1;
CREATE INDEX audit_unindexed ON audit_events (org_id, seq) WHERE indexed = 0;
