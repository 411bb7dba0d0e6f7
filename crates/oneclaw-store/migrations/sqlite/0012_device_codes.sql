-- Issue 17: the device flow of `oneclaw login`. A code is found by the keyed digest of its
-- device_code (the CLI's secret, never stored) or by its user_code (what the human types);
-- only the account of `email` may approve it, once, before it expires.
CREATE TABLE device_codes (
    device_digest BLOB PRIMARY KEY,
    user_code TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL,
    email TEXT NOT NULL,
    -- pending, approved, denied or used
    status TEXT NOT NULL,
    user_id BLOB,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    last_polled_at INTEGER
);
