"""Alert ingest and routing: signed webhooks in, one alert shape, rules, de-duplication, outbox."""
