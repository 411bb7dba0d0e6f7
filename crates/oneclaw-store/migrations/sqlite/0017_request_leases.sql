-- Issue 15: request places are leased to nodes in blocks, so a request learns whether it is
-- within the month's allowance without a durable write of its own. `leased` is the last place
-- handed to any node and `last_lease` the size of the lease that ended there; `requests`
-- stays the count of requests served. Every place counted so far was its own request's, so
-- leasing starts after them.
ALTER TABLE usage_counters ADD COLUMN leased INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_counters ADD COLUMN last_lease INTEGER NOT NULL DEFAULT 0;
UPDATE usage_counters SET leased = requests;
