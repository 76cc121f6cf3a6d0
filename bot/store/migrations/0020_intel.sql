-- Enrichment: answers cached per (source, indicator), and per-source rate limits shared by instances.
CREATE TABLE intel_cache (
    source TEXT NOT NULL,
    indicator TEXT NOT NULL,
    result TEXT NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (source, indicator)
);

CREATE INDEX intel_cache_expires_at ON intel_cache (expires_at);

CREATE TABLE intel_rate (
    source TEXT PRIMARY KEY,
    minute_tokens DOUBLE PRECISION NOT NULL,
    day_tokens DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    blocked_until DOUBLE PRECISION NOT NULL
);
