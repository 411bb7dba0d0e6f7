-- Issue 13: mail that must leave the server (verification, password reset, invitations, email
-- change) is written to an outbox in the transaction of the change that causes it, and a
-- worker sends it with retries. The message is sealed by the key provider: its links carry
-- single-use tokens. Those tokens are kept only as keyed digests in email_tokens.
CREATE TABLE mail_outbox (
    id BLOB PRIMARY KEY,
    recipient TEXT NOT NULL,
    kind TEXT NOT NULL,
    sealed BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    sent_at INTEGER,
    failed_at INTEGER,
    last_error TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at);

CREATE TABLE email_tokens (
    digest BLOB PRIMARY KEY,
    user_id BLOB NOT NULL,
    purpose TEXT NOT NULL,
    new_email TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);
