-- TOTP second factor: the sealed secret (and one awaiting confirmation), the last time step
-- accepted (a code is good once), single-use recovery codes (digests), and login challenges
-- that wait for the second factor (digests, short-lived, single use).
ALTER TABLE users ADD COLUMN totp_sealed BYTEA;
ALTER TABLE users ADD COLUMN totp_pending_sealed BYTEA;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;

CREATE TABLE mfa_recovery_codes (
    user_id UUID NOT NULL,
    digest BYTEA NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, digest)
);

CREATE TABLE mfa_challenges (
    digest BYTEA PRIMARY KEY,
    user_id UUID NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
