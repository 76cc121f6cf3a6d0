-- What a producer says beyond the common alert shape, as JSON: Alertmanager's label set and
-- group key, the severity word as sent (a route may map it) and truncatedAlerts. Cards list a
-- group's alerts by the labels that tell them apart, and fold a group into one card.
ALTER TABLE alerts ADD COLUMN producer TEXT NOT NULL DEFAULT '{}';

-- A card is drawn from the alerts on it.
CREATE INDEX alerts_group ON alerts (group_id);
