-- 0018_violation_rollups: the violation figures of GET /analytics/summary
-- (no camera_id) from per-block counts instead of a scan of the range's
-- violations (issue 16 goal 2: that scan, grouped per bucket and per camera
-- and status, was ~1.1-1.5 ms of PostgreSQL per request and grew with the
-- violations). Blocks are aligned to the epoch as in 0015 (ruth_block), by
-- the violations' created_at, the time the summary filters and buckets on:
--
-- violation_rollups_camera: per span (1 minute, 10 minutes, 1 hour, 6 hours),
--   block start, camera and writer, the counts of each review status as
--   columns (one row per camera and block, not four; a status change is an
--   update of one row).
-- violation_rollups_time: per span (1 minute, 10 minutes, 1 hour), block
--   start and writer, the violations of all cameras: the time series.
--
-- `writer` is the writing session (pg_backend_pid() % 16), as in
-- event_rollups_type: a ruth-worker's transaction keeps the rows it upserted
-- locked until its COMMIT, and an operator's PATCH /violations/{id} (another
-- session of another process) or a second worker then writes rows of its
-- own instead of waiting. So a row's counts may be negative (a status moved
-- away by a session that did not count the violation in); their sums over
-- writers are the figures. Readers sum over writer.
--
-- Triggers on violations keep both tables, whoever writes: INSERT and DELETE
-- per statement (transition tables: a batch of incidents, or a bulk load, is
-- one aggregated upsert), UPDATE per row and only when status, camera_id or
-- created_at change (the worker's frequent updates of event counts and
-- end times, and the evidence service's touches, do not fire it), TRUNCATE
-- empties them. ruth_violation_rollups_rebuild() recomputes them from
-- violations (writer 0); the migration runs it once (the backfill), and it
-- stays for after writing violations with triggers disabled (a restore with
-- session_replication_role = replica).
CREATE TABLE violation_rollups_camera (
    span      integer NOT NULL CHECK (span IN (60, 600, 3600, 21600)),
    at        timestamptz NOT NULL,
    camera_id text NOT NULL,
    writer    smallint NOT NULL,
    open      bigint NOT NULL,
    reviewed  bigint NOT NULL,
    dismissed bigint NOT NULL,
    resolved  bigint NOT NULL,
    PRIMARY KEY (span, at, camera_id, writer)
) WITH (fillfactor = 70);

CREATE TABLE violation_rollups_time (
    span   integer NOT NULL CHECK (span IN (60, 600, 3600)),
    at     timestamptz NOT NULL,
    writer smallint NOT NULL,
    count  bigint NOT NULL,
    PRIMARY KEY (span, at, writer)
) WITH (fillfactor = 70);

-- Add p_d[i] violations created at p_t[i] on camera p_cam[i] in status p_st[i] to the
-- rows of every span, as this session's writer. Rows are upserted in key
-- order (two sessions that share a writer lock them in the same order).
-- PL/pgSQL, not SQL: it keeps the statements' plans for the session (a SQL
-- function plans them on every call). What the triggers add to an insert of
-- five violations, one per transaction: ~0.9 ms (~1 ms without them).
CREATE FUNCTION ruth_violation_rollups_add(p_t timestamptz[], p_cam text[], p_st text[], p_d int[])
    RETURNS void LANGUAGE plpgsql AS $$
BEGIN
INSERT INTO violation_rollups_camera AS r
       (span, at, camera_id, writer, open, reviewed, dismissed, resolved)
SELECT s.span, ruth_block(s.span, u.t), u.cam, pg_backend_pid() % 16,
       coalesce(sum(u.d) FILTER (WHERE u.st = 'open'), 0),
       coalesce(sum(u.d) FILTER (WHERE u.st = 'reviewed'), 0),
       coalesce(sum(u.d) FILTER (WHERE u.st = 'dismissed'), 0),
       coalesce(sum(u.d) FILTER (WHERE u.st = 'resolved'), 0)
  FROM unnest(p_t, p_cam, p_st, p_d) u(t, cam, st, d)
 CROSS JOIN (VALUES (60), (600), (3600), (21600)) s(span)
 GROUP BY 1, 2, 3
HAVING bool_or(u.d <> 0)
 ORDER BY 1, 2, 3
    ON CONFLICT (span, at, camera_id, writer) DO UPDATE
   SET open = r.open + excluded.open, reviewed = r.reviewed + excluded.reviewed,
       dismissed = r.dismissed + excluded.dismissed, resolved = r.resolved + excluded.resolved;
INSERT INTO violation_rollups_time AS r (span, at, writer, count)
SELECT s.span, ruth_block(s.span, u.t), pg_backend_pid() % 16, sum(u.d)
  FROM unnest(p_t, p_d) u(t, d) CROSS JOIN (VALUES (60), (600), (3600)) s(span)
 GROUP BY 1, 2
HAVING sum(u.d) <> 0
 ORDER BY 1, 2
    ON CONFLICT (span, at, writer) DO UPDATE SET count = r.count + excluded.count;
END
$$;

CREATE FUNCTION ruth_violation_rollups_stmt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM ruth_violation_rollups_add(array_agg(created_at), array_agg(camera_id),
                                           array_agg(status), array_agg(1))
           FROM ruth_vr_new HAVING count(*) > 0;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM ruth_violation_rollups_add(array_agg(created_at), array_agg(camera_id),
                                           array_agg(status), array_agg(-1))
           FROM ruth_vr_old HAVING count(*) > 0;
    ELSE -- TRUNCATE
        DELETE FROM violation_rollups_camera;
        DELETE FROM violation_rollups_time;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION ruth_violation_rollups_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ruth_violation_rollups_add(ARRAY[OLD.created_at, NEW.created_at],
                                       ARRAY[OLD.camera_id, NEW.camera_id],
                                       ARRAY[OLD.status, NEW.status], ARRAY[-1, 1]);
    RETURN NULL;
END
$$;

CREATE TRIGGER violations_rollups_insert AFTER INSERT ON violations
    REFERENCING NEW TABLE AS ruth_vr_new
    FOR EACH STATEMENT EXECUTE FUNCTION ruth_violation_rollups_stmt();
CREATE TRIGGER violations_rollups_delete AFTER DELETE ON violations
    REFERENCING OLD TABLE AS ruth_vr_old
    FOR EACH STATEMENT EXECUTE FUNCTION ruth_violation_rollups_stmt();
CREATE TRIGGER violations_rollups_truncate AFTER TRUNCATE ON violations
    FOR EACH STATEMENT EXECUTE FUNCTION ruth_violation_rollups_stmt();
CREATE TRIGGER violations_rollups_update AFTER UPDATE OF status, camera_id, created_at
    ON violations FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.camera_id IS DISTINCT FROM NEW.camera_id
          OR OLD.created_at IS DISTINCT FROM NEW.created_at)
    EXECUTE FUNCTION ruth_violation_rollups_row();

-- Both tables from violations, as writer 0, rows in key order (a range of
-- blocks is then a few adjacent heap pages). Takes the tables' locks first:
-- a concurrent writer waits instead of upserting into rows being replaced.
CREATE FUNCTION ruth_violation_rollups_rebuild() RETURNS void
    LANGUAGE sql AS $$
LOCK TABLE violation_rollups_camera, violation_rollups_time IN EXCLUSIVE MODE;
DELETE FROM violation_rollups_camera;
DELETE FROM violation_rollups_time;
INSERT INTO violation_rollups_camera
       (span, at, camera_id, writer, open, reviewed, dismissed, resolved)
SELECT s.span, ruth_block(s.span, created_at), camera_id, 0,
       count(*) FILTER (WHERE status = 'open'), count(*) FILTER (WHERE status = 'reviewed'),
       count(*) FILTER (WHERE status = 'dismissed'), count(*) FILTER (WHERE status = 'resolved')
  FROM violations CROSS JOIN (VALUES (60), (600), (3600), (21600)) s(span)
 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
INSERT INTO violation_rollups_time (span, at, writer, count)
SELECT s.span, ruth_block(s.span, created_at), 0, count(*)
  FROM violations CROSS JOIN (VALUES (60), (600), (3600)) s(span)
 GROUP BY 1, 2 ORDER BY 1, 2;
$$;

SELECT ruth_violation_rollups_rebuild();
