-- 0004_api_indexes: the GET /violations default order is (created_at, id)
-- both descending (the keyset cursor compares the pair). An index in exactly
-- that order lets PostgreSQL stop after one page instead of re-sorting ties;
-- scanned backwards it serves the ascending order too.
CREATE INDEX violations_created_id_idx ON violations (created_at DESC, id DESC);
DROP INDEX violations_created_idx;
