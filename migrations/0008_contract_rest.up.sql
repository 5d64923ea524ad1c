-- The Ruth AI contract's REST shapes (issue 12).
--
-- A violation's `confidence` is the highest confidence among its events
-- (contract §3.2), as max_confidence always was; the confidence of the event
-- that opened it stays as opening_confidence. The backfill is no review, so
-- it does not bump `version` (subscribers drop copies by version; nothing
-- is published for it). NULL only for rows a writer other than ruth-worker
-- made without it (the API then answers `confidence`).
-- model_version is the version of the model of its best event (the one
-- whose boxes it carries), as ruth-worker writes it from now on.
ALTER TABLE violations
    ADD COLUMN opening_confidence double precision
        CHECK (opening_confidence >= 0 AND opening_confidence <= 1),
    ADD COLUMN model_version text;
ALTER TABLE violations DISABLE TRIGGER violations_version;
UPDATE violations v SET opening_confidence = v.confidence, confidence = v.max_confidence,
    model_version = (SELECT e.model_version FROM events e
                      WHERE e.violation_id = v.id AND e.id = v.best_event_id LIMIT 1);
ALTER TABLE violations ENABLE TRIGGER violations_version;

-- Devices (contract §1.6, §1.7): the VAS description, and the settings of
-- the active inference session (start-inference's body).
ALTER TABLE cameras
    ADD COLUMN description text,
    ADD COLUMN inference_fps integer CHECK (inference_fps BETWEEN 1 AND 120),
    ADD COLUMN inference_confidence_threshold double precision
        CHECK (inference_confidence_threshold >= 0 AND inference_confidence_threshold <= 1);
