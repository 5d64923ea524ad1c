-- 0003_defaults down: removes the rows 0003_defaults.up.sql inserted.
DELETE FROM rules
 WHERE camera_id IS NULL AND model_id IS NULL
   AND event_type IN ('fall_detected', 'ppe_violation');

DELETE FROM event_type_map WHERE raw_label IN (
    'missing_hardhat', 'no_hardhat', 'missing_helmet', 'no_helmet', 'missing_vest', 'no_vest',
    'no_safety_vest', 'missing_gloves', 'no_gloves', 'missing_mask', 'no_mask',
    'missing_goggles', 'no_goggles', 'no_safety_glasses', 'missing_boots', 'no_safety_boots',
    'missing_harness', 'no_harness', 'fall', 'fall_detected', 'person_fallen', 'fallen_person',
    'person_down');
