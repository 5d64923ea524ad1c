ALTER TABLE cameras
    DROP COLUMN inference_confidence_threshold,
    DROP COLUMN inference_fps,
    DROP COLUMN description;
ALTER TABLE violations DISABLE TRIGGER violations_version;
UPDATE violations SET confidence = coalesce(opening_confidence, confidence);
ALTER TABLE violations ENABLE TRIGGER violations_version;
ALTER TABLE violations DROP COLUMN model_version, DROP COLUMN opening_confidence;
