-- 0018_violation_rollups down: the summary scans the range's violations again.
DROP TRIGGER violations_rollups_update ON violations;
DROP TRIGGER violations_rollups_truncate ON violations;
DROP TRIGGER violations_rollups_delete ON violations;
DROP TRIGGER violations_rollups_insert ON violations;
DROP FUNCTION ruth_violation_rollups_rebuild();
DROP FUNCTION ruth_violation_rollups_row();
DROP FUNCTION ruth_violation_rollups_stmt();
DROP FUNCTION ruth_violation_rollups_add(timestamptz[], text[], text[], int[]);
DROP TABLE violation_rollups_time;
DROP TABLE violation_rollups_camera;
