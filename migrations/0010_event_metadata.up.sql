-- 0010_event_metadata: what a runtime sends beyond the InferenceResult's
-- fields is kept with the event, never dropped (issue 12, runtime input):
--   metadata  the runtime's `metadata` (AI model contract §5.3: any JSON, e.g.
--             pose_keypoints, tracking_id, scene_context; for the contract's
--             error payloads also error_source, recoverable and details; for
--             DeepStream the nvmsgconv message), NULL when none was sent;
--   extra     an object of the top-level fields the pipeline does not know,
--             NULL when there were none.
-- Both are nullable without a default, so adding them rewrites no rows and
-- every existing partition (and ruth_ensure_event_partitions's LIKE copies)
-- takes them at once.
ALTER TABLE events
    ADD COLUMN metadata jsonb,
    ADD COLUMN extra    jsonb CHECK (extra IS NULL OR jsonb_typeof(extra) = 'object');
