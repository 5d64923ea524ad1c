-- Evidence processing by ruth-evidence (ARCHITECTURE §6): each evidence row
-- carries its own due time, so a bookmark still processing on VAS or a call
-- waiting out a retry delay never holds up a Kafka partition. Replicas claim
-- due rows with FOR UPDATE SKIP LOCKED; a claim pushes the due time forward
-- (a lease), so the work of a crashed replica is picked up when it expires.
ALTER TABLE evidence
    ADD COLUMN next_attempt_at  timestamptz,      -- due time; NULL = not scheduled
    ADD COLUMN processing_since timestamptz,      -- VAS accepted it (polling starts)
    ADD COLUMN polls            integer NOT NULL DEFAULT 0 CHECK (polls >= 0),
    ADD COLUMN duration_seconds double precision, -- bookmark length on VAS
    ADD COLUMN thumbnail_url    text,
    ADD COLUMN claimed_until    timestamptz,      -- a replica works on it until then
    ADD COLUMN claim_seq        bigint NOT NULL DEFAULT 0; -- bumped by each claim
CREATE INDEX evidence_due_idx ON evidence (next_attempt_at)
    WHERE status IN ('pending', 'processing') AND next_attempt_at IS NOT NULL;

-- The VAS stream's state from camera sync (LIVE, READY, ...).
ALTER TABLE cameras ADD COLUMN stream_state text;
