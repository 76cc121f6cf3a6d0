-- Executive summaries posted to the exec channel. `id` is the post key a dialog draws once, so a
-- repeated confirm (a retry, a second instance) posts one card.
CREATE TABLE exec_summaries (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL,
    posted_at DOUBLE PRECISION NOT NULL,
    posted_by_id TEXT NOT NULL,
    posted_by_name TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    impact TEXT NOT NULL,
    data TEXT NOT NULL
);

CREATE INDEX exec_summaries_incident ON exec_summaries (incident_id, posted_at);
