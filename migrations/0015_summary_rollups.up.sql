-- 0015_summary_rollups: what GET /analytics/summary (no camera_id) reads
-- instead of the per (hour or minute, camera, type) rows of event_rollups and
-- event_rollups_hourly (issue 16 goal 2: ~9,200 hourly rows and up to
-- 2 x 59 x 400 minute rows for 24 hours of 100 cameras). The summary needs,
-- over its range, per camera the events, largest confidence and last event,
-- per type the events, and per bucket the events of all cameras and types;
-- so two tables, each with rows of several spans (blocks aligned to the
-- epoch), and a range is read as whole blocks, the coarsest that fit:
--
-- event_rollups_camera: per span (1 minute, 10 minutes, 1 hour, 6 hours),
--   block start and camera, types merged. 24 hours of 100 cameras are ~2,200
--   rows whatever the number of events.
-- event_rollups_type: per span (1 minute, 10 minutes, 1 hour), block start,
--   event type and writer, all cameras merged. `writer` is the writing
--   session (pg_backend_pid() % 16): concurrent workers upsert different rows
--   and never wait on each other's transaction for these site-wide counts;
--   a reader sums over it.
--
-- ruth-worker maintains both in the statement that maintains event_rollups
-- (consumers/worker/worker_rollups.c). ruth_summary_rollups_rebuild()
-- computes them from event_rollups and event_rollups_hourly: the spans under
-- an hour from the minute rows, the others from the hourly rows, which is
-- what the summary read from those tables before (whole hours hourly, the
-- ragged minutes per minute). The migration runs it once; run it again after
-- writing those tables by hand (a restore, a seed). Rows go in in key order:
-- a range of blocks is then a few adjacent heap pages. fillfactor 70: every
-- batch updates the current blocks' rows, and room on their page keeps those
-- updates HOT (no new index entries).
CREATE TABLE event_rollups_camera (
    span           integer NOT NULL CHECK (span IN (60, 600, 3600, 21600)),
    at             timestamptz NOT NULL,
    camera_id      text NOT NULL,
    count          bigint NOT NULL CHECK (count >= 0),
    max_confidence double precision NOT NULL,
    last_event_at  timestamptz,
    PRIMARY KEY (span, at, camera_id)
) WITH (fillfactor = 70);

CREATE TABLE event_rollups_type (
    span       integer NOT NULL CHECK (span IN (60, 600, 3600)),
    at         timestamptz NOT NULL,
    event_type text NOT NULL,
    writer     smallint NOT NULL,
    count      bigint NOT NULL CHECK (count >= 0),
    PRIMARY KEY (span, at, event_type, writer)
) WITH (fillfactor = 70);

-- The start of the span-second block holding t (blocks aligned to the epoch).
CREATE FUNCTION ruth_block(span integer, t timestamptz) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$SELECT to_timestamp(floor(extract(epoch FROM t) / span) * span)$$;

CREATE FUNCTION ruth_summary_rollups_rebuild() RETURNS void
    LANGUAGE sql AS $$
DELETE FROM event_rollups_camera;
DELETE FROM event_rollups_type;
INSERT INTO event_rollups_camera (span, at, camera_id, count, max_confidence, last_event_at)
SELECT s.span, ruth_block(s.span, minute), camera_id, sum(count), max(max_confidence),
       max(last_event_at)
  FROM event_rollups CROSS JOIN (VALUES (60), (600)) s(span) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
INSERT INTO event_rollups_camera (span, at, camera_id, count, max_confidence, last_event_at)
SELECT s.span, ruth_block(s.span, hour), camera_id, sum(count), max(max_confidence),
       max(last_event_at)
  FROM event_rollups_hourly CROSS JOIN (VALUES (3600), (21600)) s(span) GROUP BY 1, 2, 3
 ORDER BY 1, 2, 3;
INSERT INTO event_rollups_type (span, at, event_type, writer, count)
SELECT s.span, ruth_block(s.span, minute), event_type, 0, sum(count)
  FROM event_rollups CROSS JOIN (VALUES (60), (600)) s(span) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
INSERT INTO event_rollups_type (span, at, event_type, writer, count)
SELECT 3600, hour, event_type, 0, sum(count) FROM event_rollups_hourly GROUP BY 2, 3 ORDER BY 2, 3;
$$;

SELECT ruth_summary_rollups_rebuild();
