DROP FUNCTION ruth_time(timestamptz);
