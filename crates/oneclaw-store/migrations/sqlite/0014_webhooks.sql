-- Issue 18: event webhooks and their outbox. A delivery is written in the transaction of the
-- audit event it announces (one row per subscribed webhook, keyed by webhook and event), and a
-- worker sends it with retries; a receiver that is down loses nothing. The signing secret is
-- sealed by the key provider.
CREATE TABLE webhooks (
    id BLOB PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    description TEXT NOT NULL,
    secret_sealed BLOB NOT NULL,
    is_active INTEGER NOT NULL,
    created_by BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    deleted_at INTEGER
);
CREATE INDEX webhooks_by_org ON webhooks (org_id);
CREATE TABLE webhook_deliveries (
    webhook_id BLOB NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id BLOB NOT NULL,
    org_id BLOB NOT NULL,
    event_type TEXT NOT NULL,
    -- pending, delivered or failed
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    last_status INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    delivered_at INTEGER,
    PRIMARY KEY (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
