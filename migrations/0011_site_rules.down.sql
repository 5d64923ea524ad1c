DROP TRIGGER cameras_insert_version_bump ON cameras;
DROP TRIGGER cameras_version_bump ON cameras;
DROP TRIGGER event_type_map_version_bump ON event_type_map;
DROP TRIGGER zones_version_bump ON zones;
DROP TRIGGER rules_version_bump ON rules;
DROP FUNCTION ruth_bump_rules_version();
DROP TABLE ruth_rules_version;
ALTER TABLE rule_state DROP COLUMN run_started_at;
ALTER TABLE rules DROP COLUMN required_zones, DROP COLUMN schedule, DROP COLUMN min_duration_seconds;
DROP FUNCTION ruth_schedule_valid(jsonb);
DROP INDEX violations_zones_idx;
ALTER TABLE violations DROP COLUMN zones;
ALTER TABLE events DROP COLUMN zones;
DROP TABLE zones;
DROP TABLE camera_activity;
ALTER TABLE cameras
    DROP COLUMN offline_after_seconds, DROP COLUMN frame_width, DROP COLUMN frame_height,
    DROP COLUMN inference_stopped_at;
