-- Undo 0010_event_metadata: the kept metadata and unknown fields are lost.
ALTER TABLE events DROP COLUMN extra, DROP COLUMN metadata;
