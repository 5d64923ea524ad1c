ALTER TABLE cameras DROP COLUMN stream_state;
DROP INDEX evidence_due_idx;
ALTER TABLE evidence
    DROP COLUMN claim_seq,
    DROP COLUMN claimed_until,
    DROP COLUMN thumbnail_url,
    DROP COLUMN duration_seconds,
    DROP COLUMN polls,
    DROP COLUMN processing_since,
    DROP COLUMN next_attempt_at;
