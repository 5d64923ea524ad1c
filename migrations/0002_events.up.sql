-- 0002_events: the normalized event store, partitioned by day.
--
-- One row per inference result the worker accepted (the original backend's
-- ai_events plus type_detail, violation_id and the idempotency key).
--
-- Partitioning: RANGE on "timestamp" (capture time), one partition per UTC
-- day named events_pYYYYMMDD, so retention is DROP TABLE of whole days
-- (ruth_drop_event_partitions). A DEFAULT partition catches anything outside
-- the created days, so an insert is never rejected for lack of a partition;
-- ruth_ensure_event_partitions moves such rows into a day's partition when
-- that day is created later.
--
-- Idempotency: a unique index on a partitioned table must contain the
-- partition key, so the key is UNIQUE (idempotency_key, "timestamp") rather
-- than idempotency_key alone. That is sufficient because both parts are
-- functions of the message itself: idempotency_key is the result's result_id
-- when present, otherwise "<topic>/<partition>/<offset>", and "timestamp" is
-- the result's capture time decoded from the same bytes. A redelivered
-- message (same offset) or a producer's retry (same result_id, same frame,
-- same capture time) therefore collides, and the worker inserts with
--   INSERT ... ON CONFLICT (idempotency_key, "timestamp") DO NOTHING RETURNING id
-- treating "no row returned" as "already processed" (no rollup increment, no
-- rule hit). The key check lives in the same partition as the row, so it is
-- dropped with the day's data and costs no extra table or round trip. A
-- producer that reused one result_id for different capture times would get
-- distinct events, which is the right reading of such input.
CREATE TABLE events (
    id                uuid NOT NULL DEFAULT gen_random_uuid(),
    camera_id         text NOT NULL CHECK (camera_id <> ''),
    stream_id         text,
    event_type        text NOT NULL CHECK (event_type <> ''),  -- canonical type
    type_detail       text,            -- the model's raw label when it was mapped
    confidence        double precision NOT NULL DEFAULT 0
                      CHECK (confidence >= 0 AND confidence <= 1),
    "timestamp"       timestamptz NOT NULL,                    -- capture time
    model_id          text NOT NULL,
    model_version     text,
    bounding_boxes    jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(bounding_boxes) = 'array'),
    frame_id          text,
    inference_time_ms double precision CHECK (inference_time_ms >= 0),
    runtime_id        text,
    error_code        text,
    error_message     text,
    attributes        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attributes) = 'object'),
    violation_id      uuid REFERENCES violations (id) ON DELETE SET NULL,
    idempotency_key   text NOT NULL CHECK (idempotency_key <> ''),
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, "timestamp")
) PARTITION BY RANGE ("timestamp");

CREATE UNIQUE INDEX events_idempotency_key ON events (idempotency_key, "timestamp");
CREATE INDEX events_camera_time_idx ON events (camera_id, "timestamp" DESC);
CREATE INDEX events_type_time_idx ON events (event_type, "timestamp" DESC);
CREATE INDEX events_violation_idx ON events (violation_id) WHERE violation_id IS NOT NULL;
CREATE INDEX events_time_idx ON events ("timestamp" DESC);  -- unfiltered GET /events

CREATE TABLE events_default PARTITION OF events DEFAULT;

-- Create the daily partitions for p_count days starting at p_from (UTC days)
-- that do not exist yet; returns how many were created. Safe to call
-- concurrently and repeatedly (workers call it at start-up and daily).
CREATE FUNCTION ruth_ensure_event_partitions(p_from date, p_count integer)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    d       date;
    part    text;
    lo      timestamptz;
    hi      timestamptz;
    created integer := 0;
BEGIN
    IF p_from IS NULL OR p_count IS NULL OR p_count < 0 OR p_count > 3660 THEN
        RAISE EXCEPTION 'ruth_ensure_event_partitions: need a start date and 0..3660 days, got % and %',
            p_from, p_count;
    END IF;
    -- One creator at a time; the key is private to this function.
    PERFORM pg_advisory_xact_lock(7299496881640001);
    FOR i IN 0 .. p_count - 1 LOOP
        d    := p_from + i;
        part := 'events_p' || to_char(d, 'YYYYMMDD');
        CONTINUE WHEN to_regclass(quote_ident(part)) IS NOT NULL;
        lo := d::timestamp AT TIME ZONE 'UTC';
        hi := (d + 1)::timestamp AT TIME ZONE 'UTC';
        IF EXISTS (SELECT 1 FROM events_default WHERE "timestamp" >= lo AND "timestamp" < hi) THEN
            -- The default partition already holds rows of this day: PostgreSQL
            -- refuses a new partition overlapping them, so move them in first.
            EXECUTE format('CREATE TABLE %I (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                           part);
            EXECUTE format('WITH moved AS (DELETE FROM events_default'
                           ' WHERE "timestamp" >= $1 AND "timestamp" < $2 RETURNING *)'
                           ' INSERT INTO %I SELECT * FROM moved', part)
                USING lo, hi;
            EXECUTE format('ALTER TABLE events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                           part, lo, hi);
        ELSE
            EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
                           part, lo, hi);
        END IF;
        created := created + 1;
    END LOOP;
    RETURN created;
END;
$$;

-- Retention: drop the daily partitions of days before p_before (UTC) and
-- delete default-partition rows older than that; returns partitions dropped.
CREATE FUNCTION ruth_drop_event_partitions(p_before date)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    r       record;
    dropped integer := 0;
BEGIN
    IF p_before IS NULL THEN
        RAISE EXCEPTION 'ruth_drop_event_partitions: p_before must not be NULL';
    END IF;
    PERFORM pg_advisory_xact_lock(7299496881640001);
    FOR r IN
        SELECT c.oid::regclass AS part
          FROM pg_inherits i
          JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'events'::regclass
           AND c.relname ~ '^events_p[0-9]{8}$'
           AND to_date(substr(c.relname, 9), 'YYYYMMDD') < p_before
         ORDER BY c.relname
    LOOP
        EXECUTE format('DROP TABLE %s', r.part);
        dropped := dropped + 1;
    END LOOP;
    DELETE FROM events_default WHERE "timestamp" < p_before::timestamp AT TIME ZONE 'UTC';
    RETURN dropped;
END;
$$;

-- A week back (late or replayed results) and two weeks ahead.
SELECT ruth_ensure_event_partitions((now() AT TIME ZONE 'UTC')::date - 7, 22);
