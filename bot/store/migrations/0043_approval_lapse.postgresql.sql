-- When a succeeded block's `--expires` time passes, the lapse job removes it (exactly once, by
-- compare-and-set on rollback_state). Set when the block succeeds; NULL when it never lapses.
ALTER TABLE approvals ADD COLUMN lapse_at DOUBLE PRECISION;
UPDATE approvals SET lapse_at = (options::jsonb ->> 'block_expires_at')::double precision
    WHERE state = 'succeeded' AND rollback_state = ''
    AND options::jsonb ->> 'block_expires_at' IS NOT NULL;
CREATE INDEX approvals_lapse ON approvals (lapse_at) WHERE lapse_at IS NOT NULL;
