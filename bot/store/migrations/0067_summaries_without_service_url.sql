-- Cadences and reminders keep a conversation id (the commander's 1:1 chat or the incident
-- channel); the Messenger resolves it to its stored conversation reference.
ALTER TABLE summary_cadences DROP COLUMN service_url;
ALTER TABLE summary_reminders DROP COLUMN service_url;
