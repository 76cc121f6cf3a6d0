"""Source answers cached in the store per (source, indicator), so every instance shares them."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence

from bot.intel.indicators import Indicator
from bot.intel.sources.base import SourceResult, Status
from bot.store import Store

_CHUNK = 400
_PURGE_EVERY = 600.0


def cache_key(indicator: Indicator) -> str:
    return f"{indicator.type.value}:{indicator.value}"


class ResultCache:
    """ok answers live `ttl` seconds, not-found ones `not_found_ttl`; nothing else is cached."""

    def __init__(
        self,
        store: Store,
        ttl: float = 3600.0,
        not_found_ttl: float = 900.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._ttl = {Status.OK: ttl, Status.NOT_FOUND: not_found_ttl}
        self._clock = clock
        self._last_purge = 0.0

    async def get_many(
        self, source: str, indicators: Sequence[Indicator]
    ) -> dict[Indicator, SourceResult]:
        """The fresh cached answers of `source` among `indicators` (one query per 400)."""
        by_key = {cache_key(indicator): indicator for indicator in indicators}
        keys = list(by_key)
        now = self._clock()
        found: dict[Indicator, SourceResult] = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            sql = (
                "SELECT indicator, result FROM intel_cache"  # noqa: S608 - only ? marks are added
                f" WHERE source = ? AND expires_at > ? AND indicator IN ({marks})"
            )
            rows = await self._store.fetchall(
                sql,
                source,
                now,
                *chunk,
            )
            for row in rows:
                try:
                    result = SourceResult.from_json(source, json.loads(row["result"]))
                except (ValueError, KeyError, TypeError):
                    continue  # an unreadable entry is a miss
                found[by_key[row["indicator"]]] = _as_cached(result)
        return found

    async def put_many(self, results: Iterable[tuple[Indicator, SourceResult]]) -> None:
        """Store the cacheable answers in one transaction."""
        now = self._clock()
        rows = [
            (
                result.source,
                cache_key(indicator),
                json.dumps(result.to_json(), separators=(",", ":")),
                now + self._ttl[result.status],
            )
            for indicator, result in results
            if result.status in self._ttl and not result.cached and self._ttl[result.status] > 0
        ]
        if not rows:
            return
        async with self._store.transaction() as tx:
            await tx.executemany(
                "INSERT INTO intel_cache (source, indicator, result, expires_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (source, indicator) DO UPDATE SET"
                " result = excluded.result, expires_at = excluded.expires_at",
                rows,
            )
            if now - self._last_purge > _PURGE_EVERY:
                self._last_purge = now
                await tx.execute("DELETE FROM intel_cache WHERE expires_at <= ?", now)


def _as_cached(result: SourceResult) -> SourceResult:
    return SourceResult(
        result.source, result.status, result.evidence, result.link, result.detail, None, True
    )
