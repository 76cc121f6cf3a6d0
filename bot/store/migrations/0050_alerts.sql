-- Alerts: every accepted alert (stored before the sender gets 202), its routing state, and
-- the cards it folds into. An alert_groups row is also the outbox entry for its card: it is due
-- while version > delivered_version, so repeats coalesce into one post or update.
CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    source_id TEXT NOT NULL,
    title TEXT NOT NULL,
    rule TEXT NOT NULL,
    category TEXT NOT NULL,
    severity TEXT NOT NULL,
    status TEXT NOT NULL,
    first_seen DOUBLE PRECISION NOT NULL,
    last_seen DOUBLE PRECISION NOT NULL,
    entities TEXT NOT NULL,
    description TEXT NOT NULL,
    link TEXT NOT NULL,
    warnings TEXT NOT NULL,
    raw TEXT NOT NULL,
    received_at DOUBLE PRECISION NOT NULL,
    routed INTEGER NOT NULL DEFAULT 0,
    route TEXT,
    group_id TEXT,
    UNIQUE (source, source_id)
);

CREATE INDEX alerts_unrouted ON alerts (routed, received_at);
CREATE INDEX alerts_received ON alerts (received_at);

CREATE TABLE alert_groups (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    group_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    route TEXT NOT NULL,
    opened_at DOUBLE PRECISION NOT NULL,
    last_seen DOUBLE PRECISION NOT NULL,
    count INTEGER NOT NULL,
    latest_alert_id TEXT NOT NULL,
    status TEXT NOT NULL,
    summary TEXT NOT NULL,
    mentions TEXT NOT NULL,
    acked_by TEXT,
    acked_at DOUBLE PRECISION,
    version INTEGER NOT NULL,
    delivered_version INTEGER NOT NULL DEFAULT 0,
    activity_id TEXT,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DOUBLE PRECISION NOT NULL,
    lease_owner TEXT,
    lease_until DOUBLE PRECISION NOT NULL DEFAULT 0,
    compact INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);

CREATE INDEX alert_groups_open ON alert_groups (conversation_id, group_key, opened_at);
CREATE INDEX alert_groups_due ON alert_groups (state, next_attempt_at);

-- Send times per conversation (and per tenant) in the last hour, shared by every instance.
CREATE TABLE alert_pace (
    scope TEXT PRIMARY KEY,
    sent TEXT NOT NULL
);

CREATE TABLE alert_snoozes (
    rule TEXT NOT NULL,
    host TEXT NOT NULL,
    until DOUBLE PRECISION NOT NULL,
    snoozed_by TEXT NOT NULL,
    PRIMARY KEY (rule, host)
);
