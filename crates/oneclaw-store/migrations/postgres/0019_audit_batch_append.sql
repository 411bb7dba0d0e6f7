-- The audit journal's batch in one statement (PostgreSQL; `pg_chain_appends.rs`). The server
-- chains a batch of events onto the heads it last wrote and hands over the whole batch: each
-- org's head moves only from the exact (seq, hash) the events were chained onto, then the
-- events and the batch's request counts are written. If any head has moved since (another
-- server or another transaction appended), the function raises SQLSTATE OC001 and nothing is
-- written; the server then writes the batch the locking way. One statement is one commit:
-- a batch costs one round trip instead of six. Heads are taken in the order given: the
-- server sorts them by org, as it does when it locks them the other way.
CREATE FUNCTION oneclaw_append_audit_batch(
    head_orgs UUID[], from_seqs BIGINT[], from_hashes BYTEA[], to_seqs BIGINT[], to_hashes BYTEA[],
    event_ids UUID[], event_orgs UUID[], actor_types TEXT[], actor_ids UUID[], event_actions TEXT[],
    resource_types TEXT[], resource_ids TEXT[], event_details TEXT[], ip_addresses TEXT[],
    user_agents TEXT[], event_surfaces TEXT[], event_outcomes TEXT[], created_ats BIGINT[],
    event_seqs BIGINT[], prev_hashes BYTEA[], event_hashes BYTEA[],
    count_orgs UUID[], count_months TEXT[], count_ns BIGINT[]
) RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1 .. coalesce(array_length(head_orgs, 1), 0) LOOP
        UPDATE audit_heads SET seq = to_seqs[i], hash = to_hashes[i]
            WHERE org_id = head_orgs[i] AND seq = from_seqs[i] AND hash = from_hashes[i];
        IF NOT FOUND THEN
            RAISE EXCEPTION 'an audit chain head moved since the batch was chained' USING ERRCODE = 'OC001';
        END IF;
    END LOOP;
    INSERT INTO audit_events (id, org_id, actor_type, actor_id, action, resource_type, resource_id,
            details, ip_address, user_agent, surface, outcome, created_at, seq, prev_hash, hash)
        SELECT * FROM unnest(event_ids, event_orgs, actor_types, actor_ids, event_actions,
            resource_types, resource_ids, event_details, ip_addresses, user_agents, event_surfaces,
            event_outcomes, created_ats, event_seqs, prev_hashes, event_hashes);
    -- As ADD_REQUESTS_SQL: `leased` never falls below `requests`.
    INSERT INTO usage_counters AS c (org_id, month, requests, leased)
        SELECT * FROM unnest(count_orgs, count_months, count_ns, count_ns)
        ON CONFLICT (org_id, month) DO UPDATE SET requests = c.requests + EXCLUDED.requests,
            leased = GREATEST(c.leased, c.requests + EXCLUDED.requests);
END $$;
