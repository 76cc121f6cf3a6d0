"""The fan-out: the guard, the cache, rate limits, the deadline, bulk lookups."""

from __future__ import annotations

import asyncio
import ipaddress

from bot.intel.cache import ResultCache
from bot.intel.enrichment import INTERNAL_NOTE, Enricher
from bot.intel.guard import InternalGuard
from bot.intel.indicators import classify, extract
from bot.intel.ratelimit import Limits, RateLimiter
from bot.intel.sources.base import SourceResult, Status
from bot.intel.verdict import Verdict

INTERNAL_PASTE = """
10.20.30.40 printer.local http://192.168.1.1/admin fd00::1 https://wiki.corp/x
100.64.3.4 169.254.169.254 db.internal 10.13.37.5
"""


async def test_internal_indicators_never_reach_external_sources(fakes, make_enricher):
    indicators = extract(INTERNAL_PASTE).indicators
    assert len(indicators) == 9
    reports = await make_enricher().enrich(indicators)
    for fake in fakes.values():
        assert fake.requests == []
    for report in reports:
        assert report.internal
        assert report.note == INTERNAL_NOTE
        external = [a for name, a in report.sources.items() if name != "local_feed"]
        assert external and all(a.result.status is Status.SKIPPED_INTERNAL for a in external)
    # Local sources still answer: the example feed lists 10.13.37.5.
    listed = next(r for r in reports if r.indicator.value == "10.13.37.5")
    assert listed.verdict is Verdict.MALICIOUS
    assert listed.to_json()["internal"] is True


async def test_configured_internal_network_is_not_sent(fakes, make_enricher):
    guard = InternalGuard.with_extra([ipaddress.ip_network("203.0.113.0/24")], [])
    [report] = await make_enricher(guard=guard).enrich([classify("203.0.113.66")])
    assert report.internal
    assert all(not fake.asked_about("203.0.113.66") for fake in fakes.values())


async def test_public_indicator_asks_every_source_that_supports_it(fakes, make_enricher):
    [report] = await make_enricher().enrich([classify("198.51.100.23")])
    assert set(report.sources) == {"virustotal", "abuseipdb", "greynoise", "urlhaus", "local_feed"}
    assert all(len(fake.requests) == 1 for fake in fakes.values())
    assert report.verdict is Verdict.MALICIOUS  # the example feed lists it


async def test_cache_hit_and_miss(fakes, make_enricher, store):
    from tests.fakes.virustotal import stats

    fakes["virustotal"].add("domains", "evil.example.org", last_analysis_stats=stats(malicious=8))
    enricher = make_enricher(names=("virustotal",), feed=None, store=store)
    [first] = await enricher.enrich([classify("evil.example.org")])
    second, _ = await make_enricher(names=("virustotal",), feed=None, store=store).enrich(
        [classify("evil.example.org"), classify("other.example.org")]
    )
    assert len(fakes["virustotal"].requests) == 2  # the first, then only the miss
    assert not first.sources["virustotal"].result.cached
    assert second.sources["virustotal"].result.cached
    assert second.verdict is first.verdict is Verdict.MALICIOUS
    assert (
        second.sources["virustotal"].result.evidence == first.sources["virustotal"].result.evidence
    )


async def test_not_found_is_cached_shorter(store):
    now = [1000.0]
    cache = ResultCache(store, ttl=3600, not_found_ttl=60, clock=lambda: now[0])
    found, missing = classify("198.51.100.1"), classify("198.51.100.2")
    await cache.put_many(
        [
            (found, SourceResult("virustotal", Status.OK, {"malicious": 1})),
            (missing, SourceResult("virustotal", Status.NOT_FOUND)),
            (classify("198.51.100.3"), SourceResult("virustotal", Status.UNAVAILABLE, detail="x")),
        ]
    )
    now[0] += 61
    hits = await cache.get_many("virustotal", [found, missing, classify("198.51.100.3")])
    assert list(hits) == [found]
    now[0] += 3600
    assert await cache.get_many("virustotal", [found]) == {}


async def test_errors_are_not_cached(fakes, make_enricher):
    fakes["virustotal"].failure = "500"
    await make_enricher(names=("virustotal",), feed=None).enrich([classify("198.51.100.23")])
    fakes["virustotal"].failure = None
    [report] = await make_enricher(names=("virustotal",), feed=None).enrich(
        [classify("198.51.100.23")]
    )
    assert report.sources["virustotal"].result.status is Status.NOT_FOUND
    assert len(fakes["virustotal"].requests) == 2


async def test_rate_limit_shows_retry_after(fakes, make_enricher, store):
    indicators = [classify(f"198.51.100.{n}") for n in range(1, 7)]
    enricher = make_enricher(
        names=("virustotal",),
        feed=None,
        limits={"virustotal": Limits(per_minute=4, per_day=500)},
        store=store,
    )
    reports = await enricher.enrich(indicators)
    statuses = [r.sources["virustotal"].result.status for r in reports]
    assert statuses == [Status.NOT_FOUND] * 4 + [Status.RATE_LIMITED] * 2
    limited = reports[-1].sources["virustotal"]
    assert limited.result.detail == "rate-limited, retry after 15 s"
    assert limited.signal.reason == "rate-limited, retry after 15 s"
    # Asked and no data is unknown; never asked (rate-limited) is not checked.
    assert reports[0].verdict is Verdict.UNKNOWN
    assert reports[-1].verdict is Verdict.NOT_CHECKED
    assert len(fakes["virustotal"].requests) == 4


async def test_rate_limit_is_shared_through_the_store(store):
    now = [0.0]
    one, two = RateLimiter(store, clock=lambda: now[0]), RateLimiter(store, clock=lambda: now[0])
    limits = Limits(per_minute=4, per_day=5)
    assert (await one.take("virustotal", 3, limits)).granted == 3
    grant = await two.take("virustotal", 3, limits)
    assert grant.granted == 1  # another instance took the first three
    now[0] += 60
    grant = await one.take("virustotal", 3, limits)
    assert grant.granted == 1  # the day bucket (5/day) is nearly empty
    assert grant.retry_after > 3600
    await two.block("abuseipdb", 30)
    assert (await one.take("abuseipdb", 1, Limits())).retry_after == 30


async def test_overall_deadline(fakes, make_enricher):
    fakes["virustotal"].failure = "slow"
    fakes["abuseipdb"].failure = "slow"
    enricher = make_enricher(timeout=10, deadline=0.5)
    [report] = await enricher.enrich([classify("198.51.100.23")])
    assert report.sources["virustotal"].result.detail == "deadline of 0.5 s passed"
    assert report.sources["abuseipdb"].result.status is Status.UNAVAILABLE
    # The fast ones still count.
    assert report.sources["local_feed"].result.status is Status.OK
    assert report.verdict is Verdict.MALICIOUS


class Exploding:
    name = "exploding"
    external = True

    def supports(self, indicator):
        return True

    async def lookup(self, indicator):
        raise ZeroDivisionError("a bug")


async def test_a_crashing_source_is_unavailable_not_fatal():
    enricher = Enricher([Exploding()], guard=InternalGuard())
    [report] = await enricher.enrich([classify("198.51.100.1")])
    assert report.sources["exploding"].result.detail == "internal error"
    assert report.verdict is Verdict.NOT_CHECKED


async def test_bulk_paste_is_concurrent_and_deduplicated(fakes, make_enricher):
    for fake in fakes.values():
        fake.delay = 0.05
    text = " ".join(f"198.51.100.{n} 198.51.100.{n}" for n in range(1, 41))
    indicators = extract(text).indicators
    assert len(indicators) == 40
    reports = await make_enricher(deadline=30).enrich(indicators)
    assert [r.indicator for r in reports] == list(indicators)
    assert len(fakes["virustotal"].requests) == 40


async def test_concurrent_lookups_share_one_event_loop(fakes, make_enricher):
    enricher = make_enricher()
    results = await asyncio.gather(
        *(enricher.enrich([classify(f"203.0.113.{n}")]) for n in range(1, 11))
    )
    assert len(results) == 10
