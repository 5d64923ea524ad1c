-- 0005_hourly_rollups: per-hour counts beside the per-minute ones. A day of
-- per-minute rollups is up to 1,440 rows per camera and type, so analytics
-- over days read hundreds of thousands of rows; the worker maintains this
-- table in the same statement as event_rollups, and GET /analytics/* reads
-- whole hours from here and only the ragged edges of a range per minute.
CREATE TABLE event_rollups_hourly (
    hour           timestamptz NOT NULL CHECK (extract(epoch FROM hour) % 3600 = 0),
    camera_id      text NOT NULL,
    event_type     text NOT NULL,
    count          bigint NOT NULL DEFAULT 0 CHECK (count >= 0),
    max_confidence double precision NOT NULL DEFAULT 0
                   CHECK (max_confidence >= 0 AND max_confidence <= 1),
    PRIMARY KEY (hour, camera_id, event_type)
);
CREATE INDEX event_rollups_hourly_camera_idx ON event_rollups_hourly (camera_id, hour);

INSERT INTO event_rollups_hourly (hour, camera_id, event_type, count, max_confidence)
SELECT date_trunc('hour', minute AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', camera_id, event_type,
       sum(count), max(max_confidence)
  FROM event_rollups GROUP BY 1, 2, 3;
