"""What every source answers (`SourceResult`) and the interface a source implements."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from bot.intel.indicators import Indicator


class Status(StrEnum):
    OK = "ok"  # the source knows the indicator; evidence says what it knows
    NOT_FOUND = "not_found"  # the source answered and has no data: never "clean"
    UNAVAILABLE = "unavailable"  # 5xx, timeout, malformed or unexpected answer
    RATE_LIMITED = "rate_limited"  # our token bucket or the source's 429
    SKIPPED_INTERNAL = "skipped_internal"  # an internal indicator is never sent out


@dataclass(frozen=True)
class SourceResult:
    """One source's answer about one indicator, as plain data (safe to cache and to render)."""

    source: str
    status: Status
    evidence: dict[str, Any] = field(default_factory=dict)
    link: str | None = None
    detail: str = ""  # why it is unavailable or limited, in words for the analyst
    retry_after: float | None = None
    cached: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "evidence": self.evidence,
            "link": self.link,
            "detail": self.detail,
            "retry_after": self.retry_after,
            "cached": self.cached,
        }

    @classmethod
    def from_json(cls, source: str, data: dict[str, Any]) -> SourceResult:
        return cls(
            source=source,
            status=Status(data["status"]),
            evidence=dict(data.get("evidence") or {}),
            link=data.get("link"),
            detail=str(data.get("detail") or ""),
            retry_after=data.get("retry_after"),
        )


class Source(Protocol):
    """A threat-intel source. `external` sources never see internal indicators."""

    name: str
    external: bool

    def supports(self, indicator: Indicator) -> bool: ...

    async def lookup(self, indicator: Indicator) -> SourceResult: ...


class SourceFailure(Exception):
    """A call that did not give an answer; becomes an `unavailable` result, never a crash."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SourceRateLimited(Exception):
    """The source answered 429 (or its quota error); honour `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate-limited, retry after {retry_after:.0f} s")
        self.retry_after = retry_after


class UnexpectedResponse(SourceFailure):
    """The answer parsed but does not have the documented shape."""


# Provider text is untrusted: keep it short, printable and plain.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
MAX_TEXT = 200


def plain_text(value: Any, limit: int = MAX_TEXT) -> str | None:
    """A provider string made safe to store and show; None when absent, error when not text."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise UnexpectedResponse(f"expected text, got {type(value).__name__}")
    text = _CONTROL.sub(" ", value).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def count(value: Any) -> int:
    """A non-negative integer from a provider (URLhaus sends numbers as strings)."""
    if isinstance(value, bool):
        raise UnexpectedResponse("expected a number, got a boolean")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or value < 0 or value > 10**12:
        raise UnexpectedResponse(f"expected a non-negative number, got {value!r:.40}")
    return value


def flag(value: Any, default: bool | None = None) -> bool | None:
    """A boolean from a provider; strings "true"/"false" accepted (URLhaus)."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise UnexpectedResponse(f"expected true or false, got {value!r:.40}")


def mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UnexpectedResponse(f"{what} is not an object")
    return value


def https_link(value: Any, fallback: str, hosts: tuple[str, ...]) -> str:
    """A provider's link when it is https on one of its own hosts; otherwise our own link."""
    if isinstance(value, str) and len(value) <= 2048:
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(value)
        except ValueError:
            return fallback
        host = (parts.hostname or "").lower()
        if parts.scheme == "https" and any(host == h or host.endswith("." + h) for h in hosts):
            return value
    return fallback
