-- Issue 15: every change that other nodes must learn of at once (a revoked token or session,
-- a new agent or user credential generation, an org IP rule) sends a notice on the channel
-- `oneclaw_sync` when its transaction commits; every node listens and reloads its revocation
-- list and IP rules on the notice, so a revocation made on one node is refused on every node
-- within a second, not at the next periodic sync. Triggers, not application code, send it: no
-- write path can forget to. NOTIFY takes no row lock, so these writes never wait on each other.
CREATE FUNCTION oneclaw_notify_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('oneclaw_sync', TG_TABLE_NAME);
    RETURN NULL;
END;
$$;

CREATE TRIGGER revoked_tokens_notify AFTER INSERT OR UPDATE ON revoked_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION oneclaw_notify_sync();
CREATE TRIGGER sessions_notify AFTER UPDATE OF revoked_at ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION oneclaw_notify_sync();
CREATE TRIGGER agents_notify AFTER UPDATE OF token_generation ON agents
    FOR EACH STATEMENT EXECUTE FUNCTION oneclaw_notify_sync();
CREATE TRIGGER users_notify AFTER UPDATE OF credential_generation ON users
    FOR EACH STATEMENT EXECUTE FUNCTION oneclaw_notify_sync();
CREATE TRIGGER ip_rules_notify AFTER INSERT OR UPDATE OR DELETE ON ip_rules
    FOR EACH STATEMENT EXECUTE FUNCTION oneclaw_notify_sync();
