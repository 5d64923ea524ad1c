-- Times in API answers as the Ruth AI contract writes them: UTC, milliseconds,
-- "Z" (2026-01-13T10:30:00.000Z). json_build_object would write a timestamptz
-- as 2026-01-13T10:30:00.123456+00:00; every time field the API answers with
-- goes through this function instead. NULL stays NULL (JSON null).
CREATE FUNCTION ruth_time(ts timestamptz) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
