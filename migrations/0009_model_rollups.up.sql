-- 0009_model_rollups: what GET /analytics/* and GET /models/status read
-- instead of raw events, and the runtime capability declaration's columns.
--
-- event_rollups and event_rollups_hourly gain the sums behind averages
-- (confidence, inference latency) and the exact time of the bucket's last
-- event; the hourly rows also count the minutes that had events
-- (active_minutes), so a camera's frames per second over a range is its
-- frames over the minutes it was producing, without reading minutes.
--
-- model_rollups: per minute, model and camera: frames, errors, latency sum
-- and count, the largest latency and a latency histogram (16 buckets, upper
-- bounds 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 2000,
-- 5000 ms and +inf: common/latency_hist.h), so p99 is read from counts.
-- model_cameras: per model and camera, running totals and the last result.
-- Both are keyed by camera because a camera's results are one partition's,
-- i.e. one worker's: concurrent workers never wait on each other's rows.
ALTER TABLE event_rollups
    ADD COLUMN confidence_sum double precision NOT NULL DEFAULT 0 CHECK (confidence_sum >= 0),
    ADD COLUMN latency_sum_ms double precision NOT NULL DEFAULT 0 CHECK (latency_sum_ms >= 0),
    ADD COLUMN latency_count  bigint NOT NULL DEFAULT 0 CHECK (latency_count >= 0),
    ADD COLUMN last_event_at  timestamptz;
ALTER TABLE event_rollups_hourly
    ADD COLUMN confidence_sum double precision NOT NULL DEFAULT 0 CHECK (confidence_sum >= 0),
    ADD COLUMN latency_sum_ms double precision NOT NULL DEFAULT 0 CHECK (latency_sum_ms >= 0),
    ADD COLUMN latency_count  bigint NOT NULL DEFAULT 0 CHECK (latency_count >= 0),
    ADD COLUMN last_event_at  timestamptz,
    ADD COLUMN active_minutes integer NOT NULL DEFAULT 0
               CHECK (active_minutes >= 0 AND active_minutes <= 60);

-- Rollups written before this migration: their sums from the events.
UPDATE event_rollups r
   SET confidence_sum = e.cs, latency_sum_ms = e.ls, latency_count = e.lc, last_event_at = e.le
  FROM (SELECT date_trunc('minute', "timestamp" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS minute,
               camera_id, event_type, sum(confidence) AS cs,
               coalesce(sum(inference_time_ms), 0) AS ls, count(inference_time_ms) AS lc,
               max("timestamp") AS le
          FROM events GROUP BY 1, 2, 3) e
 WHERE r.minute = e.minute AND r.camera_id = e.camera_id AND r.event_type = e.event_type;
UPDATE event_rollups_hourly h
   SET confidence_sum = m.cs, latency_sum_ms = m.ls, latency_count = m.lc, last_event_at = m.le,
       active_minutes = m.am
  FROM (SELECT date_trunc('hour', minute AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour,
               camera_id, event_type, sum(confidence_sum) AS cs, sum(latency_sum_ms) AS ls,
               sum(latency_count) AS lc, max(last_event_at) AS le, count(*) AS am
          FROM event_rollups GROUP BY 1, 2, 3) m
 WHERE h.hour = m.hour AND h.camera_id = m.camera_id AND h.event_type = m.event_type;

CREATE TABLE model_rollups (
    minute         timestamptz NOT NULL CHECK (extract(epoch FROM minute) % 60 = 0),
    model_id       text NOT NULL,
    camera_id      text NOT NULL,
    frames         bigint NOT NULL DEFAULT 0 CHECK (frames >= 0),
    errors         bigint NOT NULL DEFAULT 0 CHECK (errors >= 0),
    latency_sum_ms double precision NOT NULL DEFAULT 0 CHECK (latency_sum_ms >= 0),
    latency_count  bigint NOT NULL DEFAULT 0 CHECK (latency_count >= 0),
    latency_max_ms double precision NOT NULL DEFAULT 0 CHECK (latency_max_ms >= 0),
    latency_hist   bigint[] NOT NULL CHECK (cardinality(latency_hist) = 16),
    PRIMARY KEY (minute, model_id, camera_id)
);
CREATE INDEX model_rollups_model_idx ON model_rollups (model_id, minute);

CREATE TABLE model_cameras (
    model_id           text NOT NULL CHECK (model_id <> ''),
    camera_id          text NOT NULL CHECK (camera_id <> ''),
    model_version      text,             -- of the latest result (capture time)
    frames_total       bigint NOT NULL DEFAULT 0 CHECK (frames_total >= 0),
    errors_total       bigint NOT NULL DEFAULT 0 CHECK (errors_total >= 0),
    first_inference_at timestamptz NOT NULL,
    last_inference_at  timestamptz NOT NULL, -- capture time of the latest result
    PRIMARY KEY (model_id, camera_id)
);
CREATE INDEX model_cameras_last_idx ON model_cameras (last_inference_at);

-- Totals of results stored before this migration (model_rollups start
-- empty: they cover the last minutes only and fill within them).
INSERT INTO model_cameras (model_id, camera_id, model_version, frames_total, errors_total,
                           first_inference_at, last_inference_at)
SELECT model_id, camera_id, (array_agg(model_version ORDER BY "timestamp" DESC))[1], count(*),
       count(*) FILTER (WHERE event_type = 'error' OR error_code IS NOT NULL),
       min("timestamp"), max("timestamp")
  FROM events GROUP BY 1, 2;

-- The architecture's capability declaration, one column per field (the
-- whole declaration as sent stays in `declaration`; runtimes that send the
-- runtime design's nested form keep their per-model entries in `models`).
ALTER TABLE runtimes
    ADD COLUMN supports_gpu           boolean,
    ADD COLUMN hardware_type          text CHECK (hardware_type IN ('cpu', 'gpu', 'jetson', 'tpu')),
    ADD COLUMN supported_models       text[] NOT NULL DEFAULT '{}',
    ADD COLUMN max_fps                integer CHECK (max_fps >= 0),
    ADD COLUMN max_concurrent_streams integer CHECK (max_concurrent_streams >= 0),
    ADD COLUMN inference_batch_size   integer CHECK (inference_batch_size >= 1),
    ADD COLUMN memory_available_mb    bigint CHECK (memory_available_mb >= 0),
    ADD COLUMN declaration            jsonb NOT NULL DEFAULT '{}'
               CHECK (jsonb_typeof(declaration) = 'object');
UPDATE runtimes
   SET supported_models = ARRAY(SELECT coalesce(m->>'model_id', m->>'id', m#>>'{}')
                                  FROM jsonb_array_elements(models) m);
