DROP TABLE event_rollups_hourly;
