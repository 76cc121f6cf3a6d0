"""Executive summaries: a draft built from an incident, redacted for executives, edited in a
dialog and posted to the restricted exec channel (docs/summaries.md)."""
