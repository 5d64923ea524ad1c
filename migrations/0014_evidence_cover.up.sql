-- 0014_evidence_cover: GET /violations joins each violation's snapshot and
-- bookmark evidence row (status, url, vas_id, the bookmark's length). With
-- those columns in the index the two lookups per listed violation are
-- index-only scans instead of a heap fetch each (measured: about a quarter of
-- PostgreSQL's time on a page of 50). UNIQUE (violation_id, kind) stays for
-- ON CONFLICT.
CREATE INDEX evidence_violation_cover_idx ON evidence (violation_id, kind)
    INCLUDE (status, url, vas_id, duration_seconds, before_seconds, after_seconds);
