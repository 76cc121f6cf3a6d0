-- Indicators a lookup could not check (a source rate-limited or down, no other data), per
-- conversation, until `check --retry-pending` (or any later lookup) checks them.
CREATE TABLE intel_pending (
    conversation_id TEXT NOT NULL,
    indicator TEXT NOT NULL,
    type TEXT NOT NULL,
    not_before DOUBLE PRECISION NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (conversation_id, indicator, type)
);
