-- 0011_site_rules: rules that fit real sites (issue 17): camera-offline
-- incidents, zones, schedules and dwell time.

-- Cameras: the offline limit (NULL = RUTH_OFFLINE_AFTER_SEC, 0 = never
-- offline), the configured resolution (for normalised zones when a result
-- carries no frame size), and when stop-inference stopped it (a stopped
-- camera is silent on purpose: never offline; start-inference clears it).
ALTER TABLE cameras
    ADD COLUMN offline_after_seconds integer CHECK (offline_after_seconds BETWEEN 0 AND 604800),
    ADD COLUMN frame_width  integer CHECK (frame_width BETWEEN 1 AND 100000),
    ADD COLUMN frame_height integer CHECK (frame_height BETWEEN 1 AND 100000),
    ADD COLUMN inference_stopped_at timestamptz;

-- When results of a camera last arrived, in the database's clock (now() of
-- the batch transaction that stored them, refreshed at most once a second
-- per camera). A camera without a row has never sent anything: it cannot be
-- offline. Kept apart from `cameras`, so the per-batch write touches no
-- row the API and camera sync update.
CREATE TABLE camera_activity (
    camera_id      text PRIMARY KEY CHECK (camera_id <> ''),
    last_result_at timestamptz NOT NULL
);

-- Zones: named polygons per camera. points is [[x, y], ...] (at least 3,
-- no self-intersection, checked by the API); units 'normalized' (0..1 of
-- the frame) or 'pixels'.
CREATE TABLE zones (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    camera_id  text NOT NULL CHECK (camera_id <> ''),
    name       text NOT NULL CHECK (name <> '' AND char_length(name) <= 100),
    units      text NOT NULL DEFAULT 'normalized' CHECK (units IN ('normalized', 'pixels')),
    points     jsonb NOT NULL CHECK (jsonb_typeof(points) = 'array' AND jsonb_array_length(points) >= 3),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (camera_id, name)
);
CREATE TRIGGER zones_touch BEFORE UPDATE ON zones
    FOR EACH ROW EXECUTE FUNCTION ruth_touch_updated_at();

-- The zones an event's boxes are in (bottom-centre point inside the
-- polygon), and the union of them over a violation's events.
ALTER TABLE events ADD COLUMN zones text[] NOT NULL DEFAULT '{}';
ALTER TABLE violations ADD COLUMN zones text[] NOT NULL DEFAULT '{}';
CREATE INDEX violations_zones_idx ON violations USING gin (zones);

-- Rules: required_zones (an event qualifies only when one of its boxes is in
-- one of them; NULL or empty = anywhere), schedule (active windows, NULL =
-- always: [{"days": ["mon", ..., "sun"], "start": "HH:MM", "end": "HH:MM",
-- "time_zone": "Europe/Berlin"}], end <= start crosses midnight), and
-- end "24:00" is midnight; min_duration_seconds (dwell: qualifying events must have lasted that long,
-- gaps no longer than window_seconds).
-- A schedule as ruth-worker reads it: windows with days mon..sun, HH:MM
-- times and a time zone PostgreSQL knows (a bad row written past the API
-- would otherwise break every worker's rule reload).
CREATE FUNCTION ruth_schedule_valid(s jsonb) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE
    w jsonb;
BEGIN
    IF jsonb_typeof(s) <> 'array' OR jsonb_array_length(s) NOT BETWEEN 1 AND 16 THEN
        RETURN false;
    END IF;
    FOR w IN SELECT * FROM jsonb_array_elements(s) LOOP
        IF jsonb_typeof(w) <> 'object' OR jsonb_typeof(w->'days') <> 'array'
           OR jsonb_array_length(w->'days') = 0
           OR EXISTS (SELECT 1 FROM jsonb_array_elements(w->'days') d
                      WHERE d NOT IN ('"mon"', '"tue"', '"wed"', '"thu"', '"fri"', '"sat"', '"sun"'))
           OR coalesce(w->>'start', '') !~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'
           OR coalesce(w->>'end', '') !~ '^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$'
           OR w->>'time_zone' IS NULL THEN
            RETURN false;
        END IF;
        PERFORM now() AT TIME ZONE (w->>'time_zone');
    END LOOP;
    RETURN true;
EXCEPTION WHEN OTHERS THEN
    RETURN false; -- an unknown time zone
END;
$$;

ALTER TABLE rules
    ADD COLUMN required_zones text[],
    ADD COLUMN schedule jsonb CHECK (schedule IS NULL OR ruth_schedule_valid(schedule)),
    ADD COLUMN min_duration_seconds integer NOT NULL DEFAULT 0
        CHECK (min_duration_seconds BETWEEN 0 AND 86400);
-- Dwell: the capture time of the first qualifying event of the current run.
ALTER TABLE rule_state ADD COLUMN run_started_at timestamptz;

-- Cache invalidation: a version row that every change of what workers
-- cache bumps in the writer's transaction. Each ruth-worker batch reads it
-- as the first statement of its transaction (same round trip as BEGIN) and
-- reloads its rules, type map and zones when it moved, so a change
-- committed before a result was produced applies to that result, on every
-- replica, without restart. Writers of these tables serialise on the row
-- (admin changes and camera sync: rare).
CREATE TABLE ruth_rules_version (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    version bigint NOT NULL DEFAULT 1
);
INSERT INTO ruth_rules_version DEFAULT VALUES;
CREATE FUNCTION ruth_bump_rules_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ruth_rules_version SET version = version + 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER rules_version_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rules
    FOR EACH STATEMENT EXECUTE FUNCTION ruth_bump_rules_version();
CREATE TRIGGER zones_version_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON zones
    FOR EACH STATEMENT EXECUTE FUNCTION ruth_bump_rules_version();
CREATE TRIGGER event_type_map_version_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON event_type_map
    FOR EACH STATEMENT EXECUTE FUNCTION ruth_bump_rules_version();
-- Cameras: the columns workers cache (the configured resolution; the
-- inference session and VAS device id that results without a model or
-- with a DeepStream sensor id are resolved with), not every update.
CREATE TRIGGER cameras_version_bump AFTER UPDATE ON cameras
    FOR EACH ROW WHEN (OLD.frame_width IS DISTINCT FROM NEW.frame_width
                       OR OLD.frame_height IS DISTINCT FROM NEW.frame_height
                       OR OLD.inference_active IS DISTINCT FROM NEW.inference_active
                       OR OLD.inference_model_id IS DISTINCT FROM NEW.inference_model_id
                       OR OLD.vas_device_id IS DISTINCT FROM NEW.vas_device_id)
    EXECUTE FUNCTION ruth_bump_rules_version();
CREATE TRIGGER cameras_insert_version_bump AFTER INSERT ON cameras
    FOR EACH ROW WHEN (NEW.frame_width IS NOT NULL OR NEW.inference_active
                       OR NEW.vas_device_id IS NOT NULL)
    EXECUTE FUNCTION ruth_bump_rules_version();
