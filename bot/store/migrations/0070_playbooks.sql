-- Playbook runs (PB-YYYYMMDD-NNN, NNN from the counter `playbook:YYYYMMDD`) and the events their
-- SOAR reports, one row per (run, seq): a repeated seq is found by the key, not by a scan.
CREATE TABLE playbook_runs (
    id TEXT PRIMARY KEY,
    day TEXT NOT NULL,
    number INTEGER NOT NULL,
    playbook TEXT NOT NULL,
    inputs TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    requested_by_id TEXT NOT NULL,
    requested_by_name TEXT NOT NULL,
    requested_at DOUBLE PRECISION NOT NULL,
    status TEXT NOT NULL,
    detail TEXT NOT NULL,
    finished_at DOUBLE PRECISION,
    card_conversation_id TEXT NOT NULL,
    card_activity_id TEXT NOT NULL,
    UNIQUE (day, number)
);

CREATE INDEX playbook_runs_requested ON playbook_runs (requested_at);

CREATE TABLE playbook_events (
    run_id TEXT NOT NULL REFERENCES playbook_runs (id),
    seq INTEGER NOT NULL,
    step TEXT NOT NULL,
    status TEXT NOT NULL,
    output TEXT NOT NULL,
    task TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (run_id, seq)
);
