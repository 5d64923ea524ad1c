-- 0013_unknown_confidence_sums: a rollup's confidence sum may be unknown.
--
-- Migration 0009 added confidence_sum as NOT NULL DEFAULT 0 and backfilled
-- it from the events still stored; rollups older than event retention kept
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
