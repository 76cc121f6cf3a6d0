-- Pacing shared by every instance (replaces the unused alert_pace blob table of 0050).
-- alert_pace_sends: one row per reserved send time in a conversation, kept for the longest
-- window (an hour); reservations in one conversation are made under that conversation's lock.
-- alert_pace_tokens: one row per taken slot of the bot-wide budget; a slot is taken by inserting
-- its key, so instances never wait on one shared lock for it.
DROP TABLE IF EXISTS alert_pace;

CREATE TABLE alert_pace_sends (
    scope TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL
);

CREATE INDEX alert_pace_sends_scope ON alert_pace_sends (scope, at);
CREATE INDEX alert_pace_sends_at ON alert_pace_sends (at);

CREATE TABLE alert_pace_tokens (
    scope TEXT NOT NULL,
    slot BIGINT NOT NULL,
    PRIMARY KEY (scope, slot)
);

-- The heartbeat renews an instance's leases by owner.
CREATE INDEX alert_groups_lease ON alert_groups (lease_owner);
