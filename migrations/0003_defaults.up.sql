-- 0003_defaults: the label mapping and global rules a fresh installation
-- starts with. Operators change them through the API; 0003_defaults.down.sql
-- removes exactly these rows.

-- Common PPE and fall labels of the models in use -> canonical event types.
INSERT INTO event_type_map (raw_label, event_type) VALUES
    ('missing_hardhat',    'ppe_violation'),
    ('no_hardhat',         'ppe_violation'),
    ('missing_helmet',     'ppe_violation'),
    ('no_helmet',          'ppe_violation'),
    ('missing_vest',       'ppe_violation'),
    ('no_vest',            'ppe_violation'),
    ('no_safety_vest',     'ppe_violation'),
    ('missing_gloves',     'ppe_violation'),
    ('no_gloves',          'ppe_violation'),
    ('missing_mask',       'ppe_violation'),
    ('no_mask',            'ppe_violation'),
    ('missing_goggles',    'ppe_violation'),
    ('no_goggles',         'ppe_violation'),
    ('no_safety_glasses',  'ppe_violation'),
    ('missing_boots',      'ppe_violation'),
    ('no_safety_boots',    'ppe_violation'),
    ('missing_harness',    'ppe_violation'),
    ('no_harness',         'ppe_violation'),
    ('fall',               'fall_detected'),
    ('fall_detected',      'fall_detected'),
    ('person_fallen',      'fall_detected'),
    ('fallen_person',      'fall_detected'),
    ('person_down',        'fall_detected');

-- Global rules (any camera, any model).
INSERT INTO rules (camera_id, model_id, event_type, enabled, min_confidence, min_hits,
                   window_seconds, cooldown_seconds, severity, description) VALUES
    (NULL, NULL, 'fall_detected', true, 0.7, 1, 10, 60, 'high',
     'Default: any camera, any model'),
    (NULL, NULL, 'ppe_violation', true, 0.7, 1, 10, 60, 'medium',
     'Default: any camera, any model');
