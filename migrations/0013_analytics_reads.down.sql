DROP FUNCTION ruth_serial_plan();
UPDATE event_rollups_hourly SET confidence_sum = 0 WHERE confidence_sum IS NULL;
UPDATE event_rollups SET confidence_sum = 0 WHERE confidence_sum IS NULL;
ALTER TABLE event_rollups_hourly ALTER COLUMN confidence_sum SET DEFAULT 0,
                                 ALTER COLUMN confidence_sum SET NOT NULL;
ALTER TABLE event_rollups ALTER COLUMN confidence_sum SET DEFAULT 0,
                          ALTER COLUMN confidence_sum SET NOT NULL;
