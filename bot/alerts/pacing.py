"""Teams rate limits as sliding windows: per conversation 7/s, 60/30 s, 1,800/h; per tenant 30/s.

The configured budgets stay a little under Teams' numbers, because the channel counts arrival
times and network jitter can bunch two sends that left far enough apart.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

CONVERSATION_LIMITS = ((1.0, 6), (30.0, 55), (3600.0, 1700))
TENANT_LIMITS = ((1.0, 25),)


class Pace:
    """Send times in the longest window; `wait()` says how long until one more send fits."""

    def __init__(
        self, limits: tuple[tuple[float, int], ...], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits
        self.clock = clock
        self.sent: deque[float] = deque()

    def wait(self) -> float:
        now = self.clock()
        longest = max(span for span, _ in self.limits)
        while self.sent and self.sent[0] <= now - longest:
            self.sent.popleft()
        delay = 0.0
        for span, budget in self.limits:
            inside = [t for t in self.sent if t > now - span] if span < longest else list(self.sent)
            if len(inside) >= budget:
                # The oldest send that must leave the window before one more fits.
                delay = max(delay, inside[len(inside) - budget] + span - now)
        return delay

    def record(self) -> None:
        self.sent.append(self.clock())
