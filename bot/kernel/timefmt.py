"""Times shown to people: always UTC, so analysts in different zones read the same time, and
labelled ` UTC` except in table cells under a heading that already places them."""

from __future__ import annotations

from datetime import UTC, datetime


def date_time(at: float | None, *, seconds: bool = False, label: bool = True) -> str:
    """`2024-05-02 09:20 UTC`, with `:SS` when `seconds`; "" when there is no time."""
    if at is None:
        return ""
    shown = _utc(at).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{shown} UTC" if label else shown


def clock(at: float, *, label: bool = True) -> str:
    """`09:20 UTC`: the time of day alone, for times of today or rows of a dated list."""
    shown = _utc(at).strftime("%H:%M")
    return f"{shown} UTC" if label else shown


def recent(at: float, now: float) -> str:
    """`09:20 UTC` on the day of `now`, else `2 May 09:20 UTC`."""
    moment = _utc(at)
    if moment.date() == _utc(now).date():
        return clock(at)
    return f"{moment.day} {moment.strftime('%b %H:%M UTC')}"


def _utc(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)
