-- An approval keeps the conversation id its card was posted in; the Messenger resolves it to the
-- conversation reference stored when the request was made there.
ALTER TABLE approvals DROP COLUMN service_url;
