-- TOTP second factor: the sealed secret (and one awaiting confirmation), the last time step
-- accepted (a code is good once), single-use recovery codes (digests), and login challenges
-- that wait for the second factor (digests, short-lived, single use).
ALTER TABLE users ADD COLUMN totp_sealed BLOB;
ALTER TABLE users ADD COLUMN totp_pending_sealed BLOB;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER;

CREATE TABLE mfa_recovery_codes (
    user_id BLOB NOT NULL,
    digest BLOB NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (user_id, digest)
);

CREATE TABLE mfa_challenges (
    digest BLOB PRIMARY KEY,
    user_id BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
