-- Conversation references for proactive messages, and the users Vigil has seen.
CREATE TABLE conversation_refs (
    conversation_id TEXT PRIMARY KEY,
    reference TEXT NOT NULL,
    digest TEXT NOT NULL,
    conversation_type TEXT,
    tenant_id TEXT,
    team_id TEXT,
    team_name TEXT,
    aad_group_id TEXT,
    channel_id TEXT,
    channel_name TEXT,
    updated_at DOUBLE PRECISION NOT NULL
);

CREATE INDEX conversation_refs_team ON conversation_refs (team_id);
CREATE INDEX conversation_refs_channel ON conversation_refs (channel_id);

CREATE TABLE users (
    aad_object_id TEXT PRIMARY KEY,
    name TEXT,
    tenant_id TEXT,
    upn TEXT,
    group_ids TEXT,
    last_seen DOUBLE PRECISION NOT NULL
);
