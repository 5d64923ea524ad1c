-- 0002_events down: the functions and the partitioned table; every partition
-- (the default one and all daily ones, however created) goes with it.
DROP FUNCTION ruth_drop_event_partitions(date);
DROP FUNCTION ruth_ensure_event_partitions(date, integer);
DROP TABLE events;
