-- Records keep a conversation id; the Messenger resolves it to a stored conversation reference.
-- An incident channel Vigil never heard from gets a reference built from the serviceUrl its card
-- was posted with, so the card can still be updated (sorted last: updated_at 0, and no digest,
-- so the first real reference from Teams replaces it). Then the column goes.
INSERT INTO conversation_refs (conversation_id, reference, digest, conversation_type, tenant_id,
    team_id, team_name, aad_group_id, channel_id, channel_name, updated_at)
SELECT channel_id,
    json_object('channelId', 'msteams', 'serviceUrl', service_url,
        'conversation', json_object('id', channel_id, 'conversationType', 'channel')),
    '', 'channel', NULL, NULL, NULL, team_id, channel_id, NULL, 0
FROM incidents WHERE service_url <> '' AND channel_id <> ''
ON CONFLICT (conversation_id) DO NOTHING;
ALTER TABLE incidents DROP COLUMN service_url;
