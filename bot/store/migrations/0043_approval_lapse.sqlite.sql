-- When a succeeded block's `--expires` time passes, the lapse job removes it (exactly once, by
-- compare-and-set on rollback_state). Set when the block succeeds; NULL when it never lapses.
ALTER TABLE approvals ADD COLUMN lapse_at DOUBLE PRECISION;
UPDATE approvals SET lapse_at = json_extract(options, '$.block_expires_at')
    WHERE state = 'succeeded' AND rollback_state = ''
    AND json_extract(options, '$.block_expires_at') IS NOT NULL;
CREATE INDEX approvals_lapse ON approvals (lapse_at) WHERE lapse_at IS NOT NULL;
