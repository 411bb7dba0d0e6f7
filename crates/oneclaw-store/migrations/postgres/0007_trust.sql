-- Issue 12 (security). Identifiers are not credentials, and every token is bound to what
-- issued it:
--  * a link share carries its own random token, kept only as a keyed digest (shares made
--    before this migration have none, so they no longer open: the id alone opens nothing);
--  * an invite is a single-use random token (digest) with an expiry, and can be revoked
--    (invites made before this migration have no token and can no longer be accepted);
--  * a user's credential generation is bumped on password change, TOTP change and removal,
--    and every user token carries the generation it was issued under;
--  * per-account attempt counters, so a guessing limit holds across nodes.
ALTER TABLE shares ADD COLUMN link_digest BYTEA;
CREATE UNIQUE INDEX shares_link_digest ON shares (link_digest);
CREATE INDEX shares_secret ON shares (secret_id);

ALTER TABLE invites ADD COLUMN token_digest BYTEA;
ALTER TABLE invites ADD COLUMN expires_at BIGINT;
ALTER TABLE invites ADD COLUMN revoked_at BIGINT;
CREATE UNIQUE INDEX invites_token ON invites (token_digest);
CREATE INDEX invites_org ON invites (org_id);

ALTER TABLE users ADD COLUMN credential_generation BIGINT NOT NULL DEFAULT 0;
-- Removed members were revoked by user id before; their generation now does it.
UPDATE users SET credential_generation = 1 WHERE disabled_at IS NOT NULL;

ALTER TABLE agents ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
CREATE INDEX agents_created_by ON agents (created_by);

CREATE TABLE auth_attempts (
    account TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    attempts BIGINT NOT NULL
);
