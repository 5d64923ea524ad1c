-- 0001_core down: drops exactly what 0001_core.up.sql created (indexes and
-- triggers go with their tables), dependents first.
DROP TABLE event_rollups;
DROP TABLE outbox;
DROP TABLE runtimes;
DROP TABLE evidence;
DROP TABLE rule_state;
DROP TABLE violations;
DROP TABLE rules;
DROP TABLE event_type_map;
DROP TABLE cameras;
DROP FUNCTION ruth_violation_bump_version();
DROP FUNCTION ruth_touch_updated_at();
