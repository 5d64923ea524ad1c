-- 0016_violation_events down: the detail queries the events itself again.
DROP FUNCTION ruth_violation_events(uuid, timestamptz, timestamptz);
