-- KEK lifecycle: a rotated-out KEK is retired once no data key is wrapped by it any more, then
-- destroyed in its key provider. Rows stay as the record of every KEK a vault ever had.
ALTER TABLE vault_keys ADD COLUMN retired_at BIGINT;
ALTER TABLE vault_keys ADD COLUMN destroyed_at BIGINT;
-- Finds the data keys still wrapped by an old KEK version (rotation sweeps).
CREATE INDEX secret_versions_kek ON secret_versions (kek_version, secret_id);
