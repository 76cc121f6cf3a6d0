"""Each source's alert credentials, read straight from the secret source and kept for a short TTL.

Secrets per source: `alerts-<source>-hmac-key`, `alerts-<source>-hmac-key-next` (a second key
during a handover) and `alerts-<source>-token`; any of them may be absent.

Two ways to need a read: the credentials held are older than the TTL (so a rotated-out key stops
working within it), or a post failed with credentials read before it arrived (its key may have
been rotated in since). Whoever asks, one source has at most one read in flight and reads start at
most once per REREAD_INTERVAL: a flood of bad posts costs the vault one read a second, and a
legitimate post with a new key waits for that read instead of being refused.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass

from bot.secrets.source import Secret, SecretNotFound, SecretSource, SecretUnavailable

REREAD_INTERVAL = 1.0
UNAVAILABLE = "credentials cannot be checked now"


def hmac_key_name(source: str) -> str:
    return f"alerts-{source}-hmac-key"


def next_hmac_key_name(source: str) -> str:
    return f"alerts-{source}-hmac-key-next"


def token_name(source: str) -> str:
    return f"alerts-{source}-token"


@dataclass(frozen=True)
class Credentials:
    hmac_keys: tuple[Secret, ...]  # the current key and the -next one, those that are set
    token: Secret | None
    read_at: float  # monotonic time the read started: nothing rotated before it is missing


class KeysUnavailable(Exception):
    """The secret source could not answer (503); names no value."""


@dataclass
class _Slot:
    """One source's state: the last good read, the last failed one, the read in flight."""

    good: Credentials | None = None
    failed_at: float = -math.inf
    last_start: float = -math.inf
    reading: asyncio.Future[Credentials | None] | None = None


class AlertKeys:
    def __init__(self, secrets: SecretSource, ttl: float) -> None:
        self.secrets = secrets
        self.ttl = ttl
        self._slots: dict[str, _Slot] = {}

    async def current(self, source: str) -> Credentials:
        """Credentials read within the TTL; raises KeysUnavailable."""
        return await self.read_since(source, time.monotonic() - self.ttl)

    async def read_since(self, source: str, since: float) -> Credentials:
        """Credentials whose read started at or after `since` (monotonic)."""
        slot = self._slots.setdefault(source, _Slot())
        while True:
            if slot.good is not None and slot.good.read_at >= since:
                return slot.good
            # During an outage, answer at once rather than queue every post behind a read.
            if time.monotonic() - slot.failed_at < REREAD_INTERVAL:
                raise KeysUnavailable(UNAVAILABLE)
            if slot.reading is None:
                slot.reading = asyncio.ensure_future(self._read(source, slot))
            # shield: one caller cancelled must not cancel the read the others wait on. A read
            # that started before `since` may predate the rotation asked about: loop for the next.
            if await asyncio.shield(slot.reading) is None:
                raise KeysUnavailable(UNAVAILABLE)

    async def _read(self, source: str, slot: _Slot) -> Credentials | None:
        try:
            wait = slot.last_start + REREAD_INTERVAL - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            started = slot.last_start = time.monotonic()
            try:
                slot.good = await self._load(source, started)
            except SecretUnavailable:
                slot.failed_at = started
                return None
            return slot.good
        finally:
            slot.reading = None

    async def _load(self, source: str, started: float) -> Credentials:
        names = (hmac_key_name(source), next_hmac_key_name(source), token_name(source))
        for name in names:
            # Past the shared secret cache: its TTL is longer than an alert key may live.
            self.secrets.invalidate(name)
        current, upcoming, token = await asyncio.gather(*(self._get(name) for name in names))
        keys = tuple(key for key in (current, upcoming) if key is not None)
        return Credentials(keys, token, started)

    async def _get(self, name: str) -> Secret | None:
        try:
            return await self.secrets.get(name)
        except SecretNotFound:
            return None
