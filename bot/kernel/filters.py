"""Filters of the one way in: each may refuse a turn before it is dispatched.

A filter is an async callable `(services, turn) -> Refusal | None`. The kernel has two, the
rate limit and the role check; a capability registers its own (summaries: the exec channel
takes no commands) and the pipeline runs them all, the capabilities' first.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.kernel.commands import Reply
from bot.kernel.inbound import Turn
from bot.kernel.rbac import Actor
from bot.kernel.services import Services


@dataclass(frozen=True)
class Refusal:
    """The answer to a refused turn and how it is audited (`audited=False`: not at all).

    `ends_dialog` cancels the dialog the turn was answering."""

    reply: Reply
    audit_action: str
    audit_target: str | None = None
    audited: bool = True
    ends_dialog: bool = False


Filter = Callable[[Services, Turn], Awaitable[Refusal | None]]


@dataclass
class _Bucket:
    tokens: float
    updated: float


class UserRateLimiter:
    """A token bucket per user: `rate` commands a minute, bursts up to `rate`."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.refill = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, user_id: str) -> float:
        """0 when allowed; otherwise the seconds until the next command is allowed."""
        now = self.clock()
        bucket = self._buckets.get(user_id)
        if bucket is None:
            bucket = self._buckets[user_id] = _Bucket(self.capacity, now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.refill)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.refill


class RateLimit:
    """Messages (commands and dialog answers) per user; clicks and empty messages are free."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limiter = UserRateLimiter(per_minute, clock)

    async def __call__(self, services: Services, turn: Turn) -> Refusal | None:
        if turn.kind == "action" or not turn.text:
            return None
        wait = self.limiter.take(turn.actor.aad_object_id)
        if not wait:
            return None
        reply = Reply(
            text=f"You are sending commands too fast; try again in {wait:.0f} s.",
            audit_result="refused",
            audit_detail="rate limited",
        )
        return Refusal(reply, "rate-limited", turn.text[:80])


async def role_filter(services: Services, turn: Turn) -> Refusal | None:
    """The role the command, dialog or card action needs; a refresh only renders, so it passes."""
    role = turn.role
    if role is None or turn.refresh or turn.actor.has(role):
        return None
    detail = f"needs role {role}"
    if turn.kind == "command":
        text = (
            f"`{turn.name}` needs the {role} role; you have {roles_text(turn.actor)}. "
            "Ask a Vigil admin."
        )
        return Refusal(_refused(text, detail), f"command:{turn.name}")
    if turn.kind == "dialog":
        text = (
            f"Going on needs the {role} role; you have {roles_text(turn.actor)}. "
            "I stopped here; ask a Vigil admin."
        )
        refused = _refused(text, f"{detail}; dialog cancelled")
        return Refusal(refused, f"dialog:{turn.name}", ends_dialog=True)
    text = f"This needs the {role} role; you have {roles_text(turn.actor)}."
    return Refusal(_refused(text, detail), f"action:{turn.name}")


def _refused(text: str, detail: str) -> Reply:
    return Reply(text=text, audit_result="refused", audit_detail=detail)


def roles_text(actor: Actor) -> str:
    if not actor.roles:
        return "no role"
    return "roles " + ", ".join(sorted(actor.roles))


def clipped(text: str, limit: int = 60) -> str:
    """User text short enough to name in an answer or an audit target, without backquotes."""
    text = text.replace("`", "'")
    return text if len(text) <= limit else text[: limit - 1] + "…"
