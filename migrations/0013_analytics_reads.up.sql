-- 0013_analytics_reads: what GET /analytics/* needs of the rollups.
--
-- 1. A rollup's confidence sum may be unknown. Migration 0009 added
-- confidence_sum as NOT NULL DEFAULT 0 and backfilled it from the events
-- still stored; rollups older than event retention kept
-- 0, so GET /analytics/cameras/{id} over such a range answered
-- avg_confidence 0 instead of null (review finding 12). From here on NULL
-- means "not known" and the averages divide by the events of rows that
-- carry a sum only. A row with events whose sum is 0 while its largest
-- confidence is above 0 cannot be a maintained sum, so it is one 0009 could
-- not backfill. The worker adds to the sum (NULL + x stays NULL: a partly
-- known sum is not known), and a row inserted without one (a seed, a
-- restore) is unknown rather than 0.
ALTER TABLE event_rollups ALTER COLUMN confidence_sum DROP NOT NULL,
                          ALTER COLUMN confidence_sum DROP DEFAULT;
ALTER TABLE event_rollups_hourly ALTER COLUMN confidence_sum DROP NOT NULL,
                                 ALTER COLUMN confidence_sum DROP DEFAULT;
UPDATE event_rollups SET confidence_sum = NULL
 WHERE confidence_sum = 0 AND max_confidence > 0;
UPDATE event_rollups_hourly SET confidence_sum = NULL
 WHERE confidence_sum = 0 AND max_confidence > 0;

-- 2. ruth_serial_plan(): always true, PARALLEL UNSAFE (and plpgsql, so never
-- inlined): a query that calls it, even once in an InitPlan, is planned
-- without parallel workers. The summary's rollup scan (~14,000 rows for 24 h
-- and 100 cameras) was planned as a Parallel Append with two workers: 35-47 ms
-- per request against 7-10 ms serial on this 2-core machine, where every
-- request's worker start-ups and tuple queues compete with the other requests.
CREATE FUNCTION ruth_serial_plan() RETURNS boolean
    LANGUAGE plpgsql STABLE PARALLEL UNSAFE AS $$BEGIN RETURN true; END$$;
