"""Teams' published rate limits and a sliding-window count over recorded call times."""

from __future__ import annotations

import bisect

# Per conversation (bot per thread): 7 per second, 60 per 30 s, 1,800 per hour.
TEAMS_CONVERSATION_LIMITS = ((1.0, 7), (30.0, 60), (3600.0, 1800))
# Per bot across all conversations: 30 per second (the tenant-wide figure is higher).
TEAMS_BOT_LIMIT = 30


def worst_window(times: list[float], span: float) -> int:
    """The most calls in any half-open window [t, t + span) over sorted times."""
    worst = 0
    for index, start in enumerate(times):
        worst = max(worst, bisect.bisect_left(times, start + span) - index)
    return worst
