-- 0014_evidence_cover down: the lookups use evidence_violation_id_kind_key again.
DROP INDEX evidence_violation_cover_idx;
