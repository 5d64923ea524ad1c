-- 0016_violation_events: the two event lists of GET /violations/{id}
-- (`events`: the newest 50 as JSON objects; `event_ids`: the first 1000 ids,
-- oldest first), read only from the daily partitions that can hold them.
--
-- Why a function: `events` has a partition per day, each with its own
-- violation_id index. Inside the detail's one statement the violation's times
-- are known only while it runs, so PostgreSQL opened, locked and probed every
-- partition's index for both lists (two thirds of the detail's PostgreSQL
-- time on the bench's 24 partitions, and growing with retention). Here the
-- times arrive as parameters, so the plan prunes the partitions when it
-- starts and touches only the one or two days of the violation.
--
-- The bounds come from the violation's own first_event_at and last_event_at,
-- which the worker widens with every event it links (rules_apply keeps
-- first <= event time <= last; UPDATE violations writes least(first) and the
-- incident's latest time), so no linked event lies outside them. They are
-- widened here to whole UTC days, the partitions' own bounds: that prunes
-- exactly as much and keeps an event written by hand a little outside the
-- violation's times (a few ms, a few minutes) in its lists.
--
-- plan_cache_mode: the generic plan keeps the pruning at executor start-up;
-- left to `auto`, PostgreSQL costed the generic plan over every partition,
-- chose a custom plan and re-planned both statements on every call (twice
-- the time of the unbounded query).
--
-- The lists are what the detail's subqueries wrote before: json_agg of the
-- same columns. The times are ruth_time()'s expression written out:
-- ruth_time() is IMMUTABLE around the STABLE to_char(), so PostgreSQL never
-- inlines it and runs it as a SQL function per call (measured: a fifth of
-- PostgreSQL's time for a detail with 50 events).
CREATE FUNCTION ruth_violation_events(p_id uuid, p_first timestamptz, p_last timestamptz,
                                      OUT events json, OUT event_ids json)
    LANGUAGE plpgsql STABLE
    SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    lo timestamptz := date_trunc('day', p_first, 'UTC');
    hi timestamptz := date_trunc('day', p_last, 'UTC') + interval '24 hours';
BEGIN
    SELECT (SELECT coalesce(json_agg(ev), '[]')
              FROM (SELECT e.id, e.camera_id, e.stream_id, e.event_type, e.type_detail,
                           e.confidence,
                           to_char(e."timestamp" AT TIME ZONE 'UTC',
                                   'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "timestamp",
                           e.model_id, e.model_version, e.bounding_boxes, e.frame_id,
                           e.violation_id,
                           to_char(e.created_at AT TIME ZONE 'UTC',
                                   'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at
                      FROM events e
                     WHERE e.violation_id = p_id
                       AND e."timestamp" >= lo AND e."timestamp" < hi
                     ORDER BY e."timestamp" DESC, e.id DESC LIMIT 50) ev),
           (SELECT coalesce(json_agg(i.id), '[]')
              FROM (SELECT e.id
                      FROM events e
                     WHERE e.violation_id = p_id
                       AND e."timestamp" >= lo AND e."timestamp" < hi
                     ORDER BY e."timestamp", e.id LIMIT 1000) i)
      INTO events, event_ids;
END;
$$;
