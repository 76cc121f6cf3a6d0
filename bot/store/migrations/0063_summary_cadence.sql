-- Executive-summary cadences (`exec-summary INC-... --every 2h`) and the reminders they send.
-- Every change is a compare-and-set on `version`, so one instance (or one click) wins each step.
CREATE TABLE summary_cadences (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL,
    state TEXT NOT NULL,                  -- active | stopped
    every_seconds INTEGER NOT NULL,
    next_due DOUBLE PRECISION NOT NULL,
    commander_id TEXT NOT NULL,
    commander_name TEXT NOT NULL,
    conversation_id TEXT NOT NULL,        -- where reminders go: the commander's 1:1, else the
    service_url TEXT NOT NULL,            -- incident channel
    conversation_kind TEXT NOT NULL,      -- personal | channel
    created_by_id TEXT NOT NULL,
    created_by_name TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    stopped_by_name TEXT NOT NULL,
    stopped_at DOUBLE PRECISION,
    stop_reason TEXT NOT NULL,
    version INTEGER NOT NULL
);

-- At most one running cadence per incident; stopped ones stay as history.
CREATE UNIQUE INDEX summary_cadences_active ON summary_cadences (incident_id)
    WHERE state = 'active';
CREATE INDEX summary_cadences_due ON summary_cadences (state, next_due);

-- One row per due run (kind scheduled) or closing offer (kind final). Stored before it is sent,
-- so a failed send is retried by the next tick rather than lost.
CREATE TABLE summary_reminders (
    id TEXT PRIMARY KEY,
    cadence_id TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    kind TEXT NOT NULL,                   -- scheduled | final
    due_at DOUBLE PRECISION NOT NULL,
    missed INTEGER NOT NULL,              -- due runs folded into this one after downtime
    created_at DOUBLE PRECISION NOT NULL,
    state TEXT NOT NULL,                  -- pending | sent | posting | posted | skipped | superseded
    commander_id TEXT NOT NULL,
    commander_name TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    service_url TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    draft TEXT NOT NULL,                  -- the draft shown on the card, JSON, posted as is
    attempts INTEGER NOT NULL,
    next_attempt_at DOUBLE PRECISION NOT NULL,
    lease_until DOUBLE PRECISION,
    last_error TEXT NOT NULL,
    sent_at DOUBLE PRECISION,
    decided_by_name TEXT NOT NULL,
    decided_at DOUBLE PRECISION,
    version INTEGER NOT NULL
);

CREATE INDEX summary_reminders_pending ON summary_reminders (state, next_attempt_at);
CREATE INDEX summary_reminders_incident ON summary_reminders (incident_id, kind, state);
