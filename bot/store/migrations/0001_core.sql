-- Core primitives of the store port: eTag documents, dedupe claims, counters.
CREATE TABLE kv (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    etag TEXT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (namespace, key)
);

CREATE TABLE claims (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE INDEX claims_expires_at ON claims (expires_at);

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
