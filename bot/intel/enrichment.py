"""Fan-out: ask every source about every indicator at once, within timeouts, cache and limits."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.intel.cache import ResultCache
from bot.intel.guard import InternalGuard
from bot.intel.indicators import Indicator
from bot.intel.ratelimit import Grant, Limits, RateLimiter
from bot.intel.sources.base import (
    Source,
    SourceFailure,
    SourceRateLimited,
    SourceResult,
    Status,
)
from bot.intel.verdict import Decision, Signal, Verdict, combine, settle, signal
from bot.store import StoreError

log = logging.getLogger(__name__)

INTERNAL_NOTE = "internal, not sent to external sources"


@dataclass(frozen=True)
class SourceAnswer:
    result: SourceResult
    signal: Signal

    def to_json(self) -> dict[str, Any]:
        data = self.result.to_json()
        data["signal"] = self.signal.level.value
        data["reason"] = self.signal.reason
        return data


@dataclass(frozen=True)
class Report:
    """The verdict on one indicator with every source's answer."""

    indicator: Indicator
    internal: bool
    verdict: Verdict
    score: int | None
    rule: str
    sources: dict[str, SourceAnswer] = field(default_factory=dict)

    @property
    def note(self) -> str:
        return INTERNAL_NOTE if self.internal else ""

    def to_json(self) -> dict[str, Any]:
        """The documented `vigil check --json` shape of one result (docs/intel.md)."""
        return {
            "indicator": self.indicator.value,
            "type": self.indicator.type.value,
            "hash_kind": self.indicator.hash_kind,
            "verdict": self.verdict.value,
            "score": self.score,
            "rule": self.rule,
            "internal": self.internal,
            "note": self.note,
            "sources": {name: answer.to_json() for name, answer in self.sources.items()},
        }


def limited(source: str, retry_after: float | None) -> SourceResult:
    wait = f"retry after {retry_after:.0f} s" if retry_after is not None else "retry later"
    return SourceResult(
        source,
        Status.RATE_LIMITED,
        detail=f"rate-limited, {wait}",
        retry_after=None if retry_after is None else round(retry_after, 1),
    )


def unavailable(source: str, reason: str) -> SourceResult:
    return SourceResult(source, Status.UNAVAILABLE, detail=reason)


class Enricher:
    """Asks the configured sources concurrently and turns their answers into verdicts."""

    def __init__(
        self,
        sources: Sequence[Source],
        *,
        guard: InternalGuard,
        cache: ResultCache | None = None,
        limiter: RateLimiter | None = None,
        limits: Mapping[str, Limits] | None = None,
        source_timeout: float = 4.0,
        deadline: float = 8.0,
        concurrency: int = 100,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sources = tuple(sources)
        self.guard = guard
        self._cache = cache
        self._limiter = limiter
        self._limits = dict(limits or {})
        self._source_timeout = source_timeout
        self._deadline = deadline
        self._clock = clock
        self._gates = {source.name: asyncio.Semaphore(concurrency) for source in self.sources}

    @property
    def source_names(self) -> list[str]:
        return [source.name for source in self.sources]

    async def enrich(self, indicators: Sequence[Indicator]) -> list[Report]:
        """One report per indicator, in the order given (duplicates answered once)."""
        started = self._clock()
        unique = list(dict.fromkeys(indicators))
        internal = {indicator: self.guard.is_internal(indicator) for indicator in unique}
        per_source = await asyncio.gather(
            *(self._ask_source(source, unique, internal, started) for source in self.sources)
        )
        answers: dict[Indicator, dict[str, SourceAnswer]] = {ind: {} for ind in unique}
        for source_results in per_source:
            for indicator, result in source_results.items():
                answers[indicator][result.source] = SourceAnswer(result, signal(result))
        reports = {ind: self._report(ind, internal[ind], answers[ind]) for ind in unique}
        return [reports[indicator] for indicator in indicators]

    @staticmethod
    def _report(indicator: Indicator, internal: bool, answers: dict[str, SourceAnswer]) -> Report:
        decision: Decision = settle(
            combine(answer.signal for answer in answers.values()),
            (answer.result for answer in answers.values()),
        )
        return Report(indicator, internal, decision.verdict, decision.score, decision.rule, answers)

    async def _ask_source(
        self,
        source: Source,
        indicators: list[Indicator],
        internal: dict[Indicator, bool],
        started: float,
    ) -> dict[Indicator, SourceResult]:
        results: dict[Indicator, SourceResult] = {}
        wanted = []
        for indicator in indicators:
            if not source.supports(indicator):
                continue
            if source.external and internal[indicator]:
                results[indicator] = SourceResult(
                    source.name, Status.SKIPPED_INTERNAL, detail=INTERNAL_NOTE
                )
            else:
                wanted.append(indicator)
        if not wanted:
            return results
        cacheable = source.external and self._cache is not None
        if cacheable:
            results.update(await self._cached(source.name, wanted))
            wanted = [indicator for indicator in wanted if indicator not in results]
        granted = len(wanted)
        if source.external and self._limiter is not None and wanted:
            grant = await self._take(source.name, len(wanted))
            granted = grant.granted
            for indicator in wanted[granted:]:
                results[indicator] = limited(source.name, grant.retry_after)
        fresh = await self._lookups(source, wanted[:granted], started)
        results.update(fresh)
        if cacheable and fresh:
            await self._store_cache(fresh)
        return results

    async def _cached(self, name: str, wanted: list[Indicator]) -> dict[Indicator, SourceResult]:
        assert self._cache is not None
        try:
            return await self._cache.get_many(name, wanted)
        except StoreError as exc:
            log.warning("intel cache unreadable, asking %s directly: %s", name, exc)
            return {}

    async def _store_cache(self, fresh: dict[Indicator, SourceResult]) -> None:
        assert self._cache is not None
        try:
            await self._cache.put_many(fresh.items())
        except StoreError as exc:
            log.warning("intel cache not written: %s", exc)

    async def _take(self, name: str, wanted: int) -> Grant:
        assert self._limiter is not None
        try:
            return await self._limiter.take(name, wanted, self._limits.get(name, Limits()))
        except StoreError as exc:
            # Answering matters more than a perfect quota; the source's own 429 still applies.
            log.warning("intel rate limit unreadable for %s: %s", name, exc)
            return Grant(wanted)

    async def _lookups(
        self, source: Source, indicators: list[Indicator], started: float
    ) -> dict[Indicator, SourceResult]:
        if not indicators:
            return {}
        tasks = {
            asyncio.ensure_future(self._lookup(source, indicator)): indicator
            for indicator in indicators
        }
        remaining = max(0.0, self._deadline - (self._clock() - started))
        done, pending = await asyncio.wait(tasks, timeout=remaining)
        for task in pending:
            task.cancel()
        results = {}
        blocked_for = 0.0
        for task, indicator in tasks.items():
            if task in pending:
                results[indicator] = unavailable(
                    source.name, f"deadline of {self._deadline:g} s passed"
                )
                continue
            result = task.result()
            if result.status is Status.RATE_LIMITED and result.retry_after:
                blocked_for = max(blocked_for, result.retry_after)
            results[indicator] = result
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        if blocked_for and self._limiter is not None:
            try:
                await self._limiter.block(source.name, blocked_for)
            except StoreError as exc:
                log.warning("cannot record the rate limit of %s: %s", source.name, exc)
        return results

    async def _lookup(self, source: Source, indicator: Indicator) -> SourceResult:
        """One lookup, turned into a result whatever happens (it never raises)."""
        try:
            async with self._gates[source.name]:
                # The timeout starts once a slot is free: queueing is not the source's fault.
                async with asyncio.timeout(self._source_timeout):
                    return await source.lookup(indicator)
        except SourceRateLimited as exc:
            return limited(source.name, exc.retry_after)
        except SourceFailure as exc:
            return unavailable(source.name, exc.reason)
        except TimeoutError:
            return unavailable(source.name, f"timeout after {self._source_timeout:g} s")
        except Exception:  # a source bug or a hostile answer must not take the verdict down
            log.exception("intel source %s failed on a lookup", source.name)
            return unavailable(source.name, "internal error")
