-- Issue 15: every change to a vault's policies moves its policy_generation in the same
-- transaction, so a node may keep a principal's compiled policies in memory and learn in the
-- one read a request makes anyway (the vault's row) whether they are still current.
ALTER TABLE vaults ADD COLUMN policy_generation BIGINT NOT NULL DEFAULT 0;
