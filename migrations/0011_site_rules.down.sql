DROP TRIGGER cameras_frame_notify ON cameras;
DROP TRIGGER event_type_map_notify ON event_type_map;
DROP TRIGGER zones_notify ON zones;
DROP TRIGGER rules_notify ON rules;
DROP FUNCTION ruth_notify_rules();
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
