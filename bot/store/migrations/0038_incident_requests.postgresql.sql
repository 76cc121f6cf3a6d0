-- One incident per request (a redelivered activity, a dialog's run), and the channel retry state.
ALTER TABLE incidents ADD COLUMN request_key TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN channel_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN channel_retry_at DOUBLE PRECISION NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX incidents_request ON incidents (request_key) WHERE request_key <> '';
CREATE INDEX incidents_channel_retry ON incidents (channel_retry_at) WHERE channel_retry_at > 0;
