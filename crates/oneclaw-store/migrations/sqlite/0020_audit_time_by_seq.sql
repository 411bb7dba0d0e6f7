-- Issue 15: the audit log keeps no index on time. Each org's records are stamped in chain
-- order (a record is never stamped earlier than the one before it), so a query's time range
-- is a range of sequence numbers, found by bisection on (org_id, seq) (`sql_audit_times.rs`).
-- One B-tree fewer is written with every batch of records.
DROP INDEX IF EXISTS audit_org_time;
