"""Enrichment fan-out against 4 local fake sources that each answer after 200 ms.

    python bench/enrich.py [--delay 0.2] [--rounds 5]

Prints figures and ratios against a baseline measured in the same run; never pass/fail.
1. one indicator, all 4 sources, against 1 source alone (target ratio <= 1.2)
2. 100 pasted indicators with a cold cache, against one indicator (target <= 3x)
3. a cached `check-ip` through the bot and the local channel (real JWT, 4 sources configured):
   p50 and p99, against `ping` on the same bot as the baseline
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.intel.cache import ResultCache  # noqa: E402
from bot.intel.enrichment import Enricher  # noqa: E402
from bot.intel.guard import InternalGuard  # noqa: E402
from bot.intel.indicators import classify, extract  # noqa: E402
from bot.intel.ratelimit import Limits, RateLimiter  # noqa: E402
from bot.intel.sources.abuseipdb import AbuseIPDB  # noqa: E402
from bot.intel.sources.greynoise import GreyNoise  # noqa: E402
from bot.intel.sources.http import ApiClient  # noqa: E402
from bot.intel.sources.urlhaus import URLhaus  # noqa: E402
from bot.intel.sources.virustotal import VirusTotal  # noqa: E402
from bot.secrets.local import EnvSecretSource  # noqa: E402
from bot.secrets.source import CachedSecretSource  # noqa: E402
from bot.store import open_store  # noqa: E402
from tests.bot.harness import ANALYST, Harness  # noqa: E402
from tests.fakes.abuseipdb import AbuseIPDBFake  # noqa: E402
from tests.fakes.greynoise import GreyNoiseFake  # noqa: E402
from tests.fakes.urlhaus import URLhausFake  # noqa: E402
from tests.fakes.virustotal import VirusTotalFake  # noqa: E402

SOURCES = {
    "virustotal": (VirusTotal, VirusTotalFake, "virustotal-api-key"),
    "abuseipdb": (AbuseIPDB, AbuseIPDBFake, "abuseipdb-api-key"),
    "greynoise": (GreyNoise, GreyNoiseFake, "greynoise-api-key"),
    "urlhaus": (URLhaus, URLhausFake, "urlhaus-auth-key"),
}
GENEROUS = Limits(per_minute=100_000, per_day=1_000_000)


async def timed(enricher: Enricher, indicators) -> float:
    started = time.perf_counter()
    await enricher.enrich(indicators)
    return time.perf_counter() - started


async def main(delay: float, rounds: int) -> None:
    fakes = {name: spec[1](delay=delay) for name, spec in SOURCES.items()}
    for fake in fakes.values():
        await fake.start()
    environ = {
        "VIGIL_SECRET_" + spec[2].upper().replace("-", "_"): "test-key" for spec in SOURCES.values()
    }
    secrets = CachedSecretSource(EnvSecretSource(environ))
    with tempfile.TemporaryDirectory() as folder:
        store = await open_store(f"sqlite:///{folder}/bench.db")
        await store.migrate()
        connector = aiohttp.TCPConnector(limit=500)
        async with aiohttp.ClientSession(connector=connector) as http:

            def enricher(names) -> Enricher:
                sources = [
                    SOURCES[n][0](ApiClient(n, http, fakes[n].url, secrets, SOURCES[n][2], 4.0))
                    for n in names
                ]
                return Enricher(
                    sources,
                    guard=InternalGuard(),
                    cache=ResultCache(store, ttl=0, not_found_ttl=0),  # every round cold
                    limiter=RateLimiter(store),
                    limits={n: GENEROUS for n in names},
                    deadline=30.0,
                )

            one = [classify("198.51.100.23")]
            await timed(enricher(SOURCES), one)  # warm connections and the secret cache
            alone = [await timed(enricher(["virustotal"]), one) for _ in range(rounds)]
            all_four = [await timed(enricher(SOURCES), one) for _ in range(rounds)]
            base, fan = statistics.median(alone), statistics.median(all_four)
            print(f"source delay {delay * 1000:.0f} ms, median of {rounds} rounds")
            print(f"1 indicator, 1 source:   {base * 1000:7.1f} ms")
            print(
                f"1 indicator, 4 sources:  {fan * 1000:7.1f} ms   "
                f"ratio {fan / base:.2f} (target <= 1.2)"
            )

            paste = "\n".join(f"203.0.113.{n % 250 + 1} host{n}.example.com" for n in range(50))
            indicators = extract(paste).indicators
            bulk = []
            for _ in range(rounds):
                for fake in fakes.values():
                    fake.requests.clear()
                bulk.append(await timed(enricher(SOURCES), indicators))
            total = statistics.median(bulk)
            asked = sum(len(fake.requests) for fake in fakes.values())
            print(
                f"{len(indicators)} pasted, 4 sources:  {total * 1000:7.1f} ms   "
                f"{total / fan:.2f}x one indicator (target <= 3x); {asked} source calls"
            )
        await store.close()
        await through_the_bot(folder, fakes, environ, rounds)
    for fake in fakes.values():
        await fake.close()


async def through_the_bot(folder: str, fakes, environ: dict[str, str], rounds: int) -> None:
    env = {**environ, **{f"VIGIL_INTEL_{n.upper()}_URL": f.url for n, f in fakes.items()}}
    env["VIGIL_USER_RATE_PER_MINUTE"] = "100000"
    harness = await Harness.start(f"sqlite:///{folder}/bot.db", env)
    try:
        first = await harness.say(ANALYST, "check-ip 198.51.100.23")  # fills the cache
        assert first.activity.get("attachments"), "check-ip answered no card"
        for fake in fakes.values():
            fake.requests.clear()
        count = max(50, rounds * 40)
        figures = {}
        for label, text in (("ping", "ping"), ("cached check-ip", "check-ip 198.51.100.23")):
            latencies = []
            for _ in range(count):
                started = time.perf_counter()
                await harness.say(ANALYST, text)
                latencies.append(time.perf_counter() - started)
            latencies.sort()
            figures[label] = (latencies[len(latencies) // 2], latencies[int(0.99 * len(latencies))])
        asked = sum(len(fake.requests) for fake in fakes.values())
        for label, (p50, p99) in figures.items():
            print(
                f"{label:16s} through the bot: p50 {p50 * 1000:6.1f} ms  p99 {p99 * 1000:6.1f} ms"
            )
        ratio = figures["cached check-ip"][0] / figures["ping"][0]
        print(f"cached check-ip / ping (p50): {ratio:.2f}; source calls after the fill: {asked}")
    finally:
        await harness.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.2, help="seconds each fake waits")
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    asyncio.run(main(options.delay, options.rounds))
