ALTER TABLE runtimes
    DROP COLUMN supports_gpu, DROP COLUMN hardware_type, DROP COLUMN supported_models,
    DROP COLUMN max_fps, DROP COLUMN max_concurrent_streams, DROP COLUMN inference_batch_size,
    DROP COLUMN memory_available_mb, DROP COLUMN declaration;
DROP TABLE model_cameras;
DROP TABLE model_rollups;
ALTER TABLE event_rollups_hourly
    DROP COLUMN confidence_sum, DROP COLUMN latency_sum_ms, DROP COLUMN latency_count,
    DROP COLUMN last_event_at, DROP COLUMN active_minutes;
ALTER TABLE event_rollups
    DROP COLUMN confidence_sum, DROP COLUMN latency_sum_ms, DROP COLUMN latency_count,
    DROP COLUMN last_event_at;
