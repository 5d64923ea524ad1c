DROP FUNCTION ruth_summary_rollups_rebuild();
DROP FUNCTION ruth_block(integer, timestamptz);
DROP TABLE event_rollups_type;
DROP TABLE event_rollups_camera;
