-- Issue 18: event webhooks and their outbox. A delivery is written in the transaction of the
-- audit event it announces (one row per subscribed webhook, keyed by webhook and event), and a
-- worker sends it with retries; a receiver that is down loses nothing. The signing secret is
-- sealed by the key provider.
CREATE TABLE webhooks (
    id UUID PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    description TEXT NOT NULL,
    secret_sealed BYTEA NOT NULL,
    is_active BOOLEAN NOT NULL,
    created_by UUID NOT NULL,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX webhooks_by_org ON webhooks (org_id);
CREATE TABLE webhook_deliveries (
    webhook_id UUID NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id UUID NOT NULL,
    org_id UUID NOT NULL,
    event_type TEXT NOT NULL,
    -- pending, delivered or failed
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    last_status BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    delivered_at BIGINT,
    PRIMARY KEY (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
