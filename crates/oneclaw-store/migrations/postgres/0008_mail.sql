-- Issue 13: mail that must leave the server (verification, password reset, invitations, email
-- change) is written to an outbox in the transaction of the change that causes it, and a
-- worker sends it with retries. The message is sealed by the key provider: its links carry
-- single-use tokens. Those tokens are kept only as keyed digests in email_tokens.
CREATE TABLE mail_outbox (
    id UUID PRIMARY KEY,
    recipient TEXT NOT NULL,
    kind TEXT NOT NULL,
    sealed BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    sent_at BIGINT,
    failed_at BIGINT,
    last_error TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at);

CREATE TABLE email_tokens (
    digest BYTEA PRIMARY KEY,
    user_id UUID NOT NULL,
    purpose TEXT NOT NULL,
    new_email TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);
