-- 0001_core: cameras, label mapping, rules and their state, violations,
-- evidence, AI runtimes, the publication outbox and per-minute rollups.
--
-- Column names are the REST API's field names (camera_id, event_type, type,
-- status, confidence, ...) so SQL written by operators keeps working.
-- Camera ids are referenced by value, not by foreign key: events and
-- violations for a camera the pipeline has not been told about yet must never
-- be rejected (such cameras are added with discovered = true).
-- Applied in one transaction by ruth-migrate; 0001_core.down.sql undoes it.

-- updated_at is maintained by the database so no writer can forget it.
CREATE FUNCTION ruth_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

-- violations.version is the ViolationChange version: monotonic per violation,
-- bumped by every UPDATE whatever the writer (worker, API, evidence). Writers
-- read it back with RETURNING version; optimistic concurrency works as usual
-- (UPDATE ... WHERE id = $1 AND version = $2).
CREATE FUNCTION ruth_violation_bump_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

-- Cameras known from VAS (vas_device_id) or discovered from inference results.
CREATE TABLE cameras (
    id                   text PRIMARY KEY CHECK (id <> ''),
    vas_device_id        text UNIQUE,
    name                 text,
    location             text,
    stream_id            text,          -- VAS stream used for evidence when a result has none
    active               boolean NOT NULL DEFAULT true,
    discovered           boolean NOT NULL DEFAULT false, -- first seen in an inference result
    inference_active     boolean NOT NULL DEFAULT false,
    inference_model_id   text,
    inference_started_at timestamptz,
    metadata             jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CHECK (inference_active OR inference_started_at IS NULL)
);
CREATE TRIGGER cameras_touch BEFORE UPDATE ON cameras
    FOR EACH ROW EXECUTE FUNCTION ruth_touch_updated_at();

-- Model label -> canonical event type. Lookup is exact on raw_label; labels
-- without a row keep their own name (nothing is dropped).
CREATE TABLE event_type_map (
    raw_label  text PRIMARY KEY CHECK (raw_label <> ''),
    event_type text NOT NULL CHECK (event_type <> ''),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Threshold rules. NULL camera_id / model_id means "any". The rule applied to
-- an event is the most specific enabled one:
--   ORDER BY (camera_id IS NOT NULL) DESC, (model_id IS NOT NULL) DESC LIMIT 1
-- At most one rule per (camera or any, model or any, event_type).
CREATE TABLE rules (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    camera_id        text,
    model_id         text,
    event_type       text NOT NULL CHECK (event_type <> ''),
    enabled          boolean NOT NULL DEFAULT true,
    min_confidence   double precision NOT NULL DEFAULT 0.5
                     CHECK (min_confidence >= 0 AND min_confidence <= 1),
    min_hits         integer NOT NULL DEFAULT 1 CHECK (min_hits BETWEEN 1 AND 1000),
    window_seconds   integer NOT NULL DEFAULT 10 CHECK (window_seconds BETWEEN 0 AND 86400),
    cooldown_seconds integer NOT NULL DEFAULT 60 CHECK (cooldown_seconds BETWEEN 0 AND 86400),
    severity         text NOT NULL DEFAULT 'medium'
                     CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    description      text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX rules_scope_key
    ON rules ((coalesce(camera_id, '')), (coalesce(model_id, '')), event_type);
CREATE INDEX rules_event_type_idx ON rules (event_type) WHERE enabled;
CREATE TRIGGER rules_touch BEFORE UPDATE ON rules
    FOR EACH ROW EXECUTE FUNCTION ruth_touch_updated_at();

-- One incident per row. Review status is the operators'; ended_at is the
-- worker's (NULL = ongoing: qualifying events within the cooldown attach).
-- confidence is the confidence of the event that opened the violation,
-- max_confidence the highest of all attached events (best_event_id, whose
-- boxes are in bounding_boxes).
CREATE TABLE violations (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    type             text NOT NULL CHECK (type <> ''),
    camera_id        text NOT NULL CHECK (camera_id <> ''),
    stream_id        text,
    model_id         text,
    rule_id          uuid REFERENCES rules (id) ON DELETE SET NULL,
    status           text NOT NULL DEFAULT 'open'
                     CHECK (status IN ('open', 'reviewed', 'dismissed', 'resolved')),
    severity         text NOT NULL DEFAULT 'medium'
                     CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    confidence       double precision NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
    max_confidence   double precision NOT NULL
                     CHECK (max_confidence >= 0 AND max_confidence <= 1),
    event_count      bigint NOT NULL DEFAULT 1 CHECK (event_count >= 1),
    first_event_at   timestamptz NOT NULL,
    last_event_at    timestamptz NOT NULL,
    ended_at         timestamptz,
    bounding_boxes   jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(bounding_boxes) = 'array'),
    best_event_id    uuid,
    reviewed_by      text,
    reviewed_at      timestamptz,
    resolution_notes text CHECK (char_length(resolution_notes) <= 2000),
    version          bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (last_event_at >= first_event_at),
    CHECK (max_confidence >= confidence)
);
-- At most one ongoing violation per (camera, type), enforced here (§5.5).
CREATE UNIQUE INDEX violations_ongoing_key ON violations (camera_id, type) WHERE ended_at IS NULL;
-- GET /violations list orders and filters.
CREATE INDEX violations_created_idx ON violations (created_at DESC, id);
CREATE INDEX violations_status_created_idx ON violations (status, created_at DESC);
CREATE INDEX violations_camera_created_idx ON violations (camera_id, created_at DESC);
CREATE INDEX violations_type_created_idx ON violations (type, created_at DESC);
CREATE INDEX violations_confidence_idx ON violations (confidence DESC);
CREATE TRIGGER violations_version BEFORE UPDATE ON violations
    FOR EACH ROW EXECUTE FUNCTION ruth_violation_bump_version();

-- Debounce and cooldown state per (camera, event type), so a partition moving
-- to another worker continues exactly where it was. recent_hits holds the
-- timestamps of qualifying events still inside the rule's window, oldest
-- first (the worker keeps at most min_hits of them): the rule fires when
-- cardinality(recent_hits) reaches min_hits.
CREATE TABLE rule_state (
    camera_id            text NOT NULL,
    event_type           text NOT NULL,
    rule_id              uuid REFERENCES rules (id) ON DELETE SET NULL,
    recent_hits          timestamptz[] NOT NULL DEFAULT '{}'
                         CHECK (cardinality(recent_hits) <= 1000),
    last_hit_at          timestamptz,  -- timestamp of the last qualifying event
    last_fired_at        timestamptz,  -- when the rule last opened a violation
    ongoing_violation_id uuid REFERENCES violations (id) ON DELETE SET NULL,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (camera_id, event_type)
);
CREATE TRIGGER rule_state_touch BEFORE UPDATE ON rule_state
    FOR EACH ROW EXECUTE FUNCTION ruth_touch_updated_at();

-- Snapshot and bookmark per violation, pending -> processing -> ready | failed.
CREATE TABLE evidence (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    violation_id     uuid NOT NULL REFERENCES violations (id) ON DELETE CASCADE,
    kind             text NOT NULL CHECK (kind IN ('snapshot', 'bookmark')),
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'processing', 'ready', 'failed')),
    camera_id        text NOT NULL,
    stream_id        text,
    center_timestamp timestamptz,
    before_seconds   integer CHECK (before_seconds >= 0),
    after_seconds    integer CHECK (after_seconds >= 0),
    vas_id           text,          -- snapshot or bookmark id on VAS
    url              text,          -- image_url / video URL once ready
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error       text,
    requested_at     timestamptz NOT NULL DEFAULT now(),
    completed_at     timestamptz,   -- when it became ready or failed
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (violation_id, kind)
);
-- Finding stuck work (pending/processing for too long).
CREATE INDEX evidence_unfinished_idx ON evidence (updated_at)
    WHERE status IN ('pending', 'processing');
CREATE TRIGGER evidence_touch BEFORE UPDATE ON evidence
    FOR EACH ROW EXECUTE FUNCTION ruth_touch_updated_at();

-- AI runtimes' capability declarations (POST /internal/runtime/register).
CREATE TABLE runtimes (
    runtime_id    text PRIMARY KEY CHECK (runtime_id <> ''),
    name          text,
    version       text,
    endpoint      text,
    capabilities  jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(capabilities) = 'object'),
    models        jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(models) = 'array'),
    registered_at timestamptz NOT NULL DEFAULT now(),
    last_seen     timestamptz NOT NULL DEFAULT now()
);

-- Transactional outbox: a writer that changes a violation inserts the
-- ViolationChange (or EvidenceRequest) message here in the same transaction;
-- a relay publishes rows in id order and deletes them once the broker has
-- acknowledged them. At-least-once: a crash between acknowledgement and
-- delete republishes, and subscribers drop stale copies by `version`.
CREATE TABLE outbox (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic      text NOT NULL CHECK (topic <> ''),
    key        text,                  -- Kafka message key (camera_id)
    payload    bytea NOT NULL,        -- encoded message value
    headers    jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(headers) = 'object'),
    attempts   integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Per-minute counts for analytics. The worker increments a row only when the
-- event row was actually inserted, so redelivery never double-counts.
CREATE TABLE event_rollups (
    minute         timestamptz NOT NULL CHECK (extract(epoch FROM minute) % 60 = 0),
    camera_id      text NOT NULL,
    event_type     text NOT NULL,
    count          bigint NOT NULL DEFAULT 0 CHECK (count >= 0),
    max_confidence double precision NOT NULL DEFAULT 0
                   CHECK (max_confidence >= 0 AND max_confidence <= 1),
    PRIMARY KEY (minute, camera_id, event_type)
);
CREATE INDEX event_rollups_camera_idx ON event_rollups (camera_id, minute);
