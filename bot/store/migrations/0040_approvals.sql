-- Containment approvals. Every change is a compare-and-set on `version`, so exactly one of any
-- number of concurrent deciders (across instances) wins a transition.
CREATE TABLE approvals (
    id TEXT PRIMARY KEY,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    options TEXT NOT NULL,
    reason TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    requester_id TEXT NOT NULL,
    requester_name TEXT NOT NULL,
    requested_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    state TEXT NOT NULL,
    version INTEGER NOT NULL,
    required_approvals INTEGER NOT NULL,
    approvals TEXT NOT NULL,
    evidence TEXT NOT NULL,
    warnings TEXT NOT NULL,
    crown_jewel INTEGER NOT NULL,
    decided_by_id TEXT NOT NULL,
    decided_by_name TEXT NOT NULL,
    decided_at DOUBLE PRECISION,
    decision_note TEXT NOT NULL,
    connector TEXT NOT NULL,
    external_id TEXT NOT NULL,
    lease_owner TEXT NOT NULL,
    lease_until DOUBLE PRECISION,
    send_started_at DOUBLE PRECISION,
    finished_at DOUBLE PRECISION,
    result TEXT NOT NULL,
    result_detail TEXT NOT NULL,
    rollback_state TEXT NOT NULL,
    rollback_by_name TEXT NOT NULL,
    rollback_at DOUBLE PRECISION,
    rollback_result TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    service_url TEXT NOT NULL
);

CREATE INDEX approvals_state ON approvals (state, expires_at);
CREATE INDEX approvals_requested ON approvals (requested_at);
