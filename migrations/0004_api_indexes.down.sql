-- 0004_api_indexes down: back to the index 0001_core created.
CREATE INDEX violations_created_idx ON violations (created_at DESC, id);
DROP INDEX violations_created_id_idx;
