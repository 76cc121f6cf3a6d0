-- Incidents (INC-YYYYMMDD-NNN, NNN from the counter `incident:YYYYMMDD`) and their timelines.
CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    day TEXT NOT NULL,
    number INTEGER NOT NULL,
    title TEXT NOT NULL,
    severity TEXT NOT NULL,
    status TEXT NOT NULL,
    description TEXT NOT NULL,
    indicators TEXT NOT NULL,
    alert_id TEXT NOT NULL,
    opened_by_id TEXT NOT NULL,
    opened_by_name TEXT NOT NULL,
    commander_id TEXT NOT NULL,
    commander_name TEXT NOT NULL,
    scribe_id TEXT NOT NULL,
    scribe_name TEXT NOT NULL,
    opened_at DOUBLE PRECISION NOT NULL,
    closed_at DOUBLE PRECISION,
    summary TEXT NOT NULL,
    team_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    channel_name TEXT NOT NULL,
    channel_url TEXT NOT NULL,
    channel_error TEXT NOT NULL,
    card_conversation_id TEXT NOT NULL,
    card_activity_id TEXT NOT NULL,
    service_url TEXT NOT NULL,
    UNIQUE (day, number)
);

CREATE INDEX incidents_channel ON incidents (channel_id);
CREATE INDEX incidents_opened ON incidents (opened_at);

CREATE TABLE incident_timeline (
    seq BIGSERIAL PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    at DOUBLE PRECISION NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL
);

CREATE INDEX incident_timeline_incident ON incident_timeline (incident_id, at, seq);
