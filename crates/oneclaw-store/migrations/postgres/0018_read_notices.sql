-- Issue 15: each node keeps a secret read's store read in memory for a moment
-- (`hot_reads.rs`). A change to what such a read holds (a vault, its policies, a secret and its
-- versions, a vault's keys) sends a notice on the channel `oneclaw_reads` when its transaction
-- commits; every node listens and drops what it kept, so another node's change is seen within
-- the notice's delivery, not only at the end of an entry's lifetime. Triggers, not application
-- code, send it: no write path can forget to.
CREATE FUNCTION oneclaw_notify_reads() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('oneclaw_reads', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER vaults_notify_reads AFTER INSERT OR UPDATE OR DELETE ON vaults
    FOR EACH STATEMENT EXECUTE FUNCTION oneclaw_notify_reads();
CREATE TRIGGER policies_notify_reads AFTER INSERT OR UPDATE OR DELETE ON policies
    FOR EACH STATEMENT EXECUTE FUNCTION oneclaw_notify_reads();
CREATE TRIGGER secrets_notify_reads AFTER INSERT OR UPDATE OR DELETE ON secrets
    FOR EACH STATEMENT EXECUTE FUNCTION oneclaw_notify_reads();
CREATE TRIGGER secret_versions_notify_reads AFTER INSERT OR UPDATE OR DELETE ON secret_versions
    FOR EACH STATEMENT EXECUTE FUNCTION oneclaw_notify_reads();
CREATE TRIGGER vault_keys_notify_reads AFTER INSERT OR UPDATE OR DELETE ON vault_keys
    FOR EACH STATEMENT EXECUTE FUNCTION oneclaw_notify_reads();
