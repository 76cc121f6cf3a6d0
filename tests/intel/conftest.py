"""Fixtures: the four source fakes on loopback, a secret directory with their keys, an enricher."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from bot.intel.cache import ResultCache
from bot.intel.enrichment import Enricher
from bot.intel.guard import InternalGuard
from bot.intel.ratelimit import Limits, RateLimiter
from bot.intel.sources.abuseipdb import AbuseIPDB
from bot.intel.sources.greynoise import GreyNoise
from bot.intel.sources.http import ApiClient
from bot.intel.sources.localfeed import LocalFeed
from bot.intel.sources.urlhaus import URLhaus
from bot.intel.sources.virustotal import VirusTotal
from bot.secrets.local import DirectorySecretSource
from bot.secrets.source import CachedSecretSource
from bot.store import open_store
from tests.fakes.abuseipdb import AbuseIPDBFake
from tests.fakes.greynoise import GreyNoiseFake
from tests.fakes.urlhaus import URLhausFake
from tests.fakes.virustotal import VirusTotalFake

SECRET_NAMES = {
    "virustotal": "virustotal-api-key",
    "abuseipdb": "abuseipdb-api-key",
    "greynoise": "greynoise-api-key",
    "urlhaus": "urlhaus-auth-key",
}
KEY = "test-key"


@pytest.fixture
async def sqlite_store(sqlite_url):
    """SQLite only, for tests about sources; cache and limit tests use `store` (both backends)."""
    opened = await open_store(sqlite_url)
    await opened.migrate()
    yield opened
    await opened.close()


@pytest.fixture
async def fakes():
    started = {
        "virustotal": VirusTotalFake(),
        "abuseipdb": AbuseIPDBFake(),
        "greynoise": GreyNoiseFake(),
        "urlhaus": URLhausFake(),
    }
    for fake in started.values():
        await fake.start()
    yield started
    for fake in started.values():
        await fake.close()


@pytest.fixture
def secrets_dir(tmp_path) -> Path:
    directory = tmp_path / "secrets"
    directory.mkdir()
    for name in SECRET_NAMES.values():
        (directory / name).write_text(KEY + "\n")
    return directory


@pytest.fixture
def secret_source(secrets_dir):
    return CachedSecretSource(DirectorySecretSource(secrets_dir), ttl=300)


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


SOURCE_CLASSES = {
    "virustotal": VirusTotal,
    "abuseipdb": AbuseIPDB,
    "greynoise": GreyNoise,
    "urlhaus": URLhaus,
}


@pytest.fixture
def api_sources(fakes, secret_source, http):
    def build(timeout: float = 2.0, names=tuple(SOURCE_CLASSES)) -> list:
        return [
            SOURCE_CLASSES[name](
                ApiClient(name, http, fakes[name].url, secret_source, SECRET_NAMES[name], timeout)
            )
            for name in names
        ]

    return build


@pytest.fixture
def make_enricher(api_sources, sqlite_store):
    def build(
        *,
        timeout: float = 2.0,
        deadline: float = 5.0,
        limits: dict[str, Limits] | None = None,
        names=tuple(SOURCE_CLASSES),
        feed: str | None = "",
        guard: InternalGuard | None = None,
        store=None,
    ) -> Enricher:
        sources = api_sources(timeout, names)
        if feed is not None:
            sources.append(LocalFeed(feed))
        return Enricher(
            sources,
            guard=guard or InternalGuard(),
            cache=ResultCache(store or sqlite_store),
            limiter=RateLimiter(store or sqlite_store),
            limits=limits or {},
            source_timeout=timeout,
            deadline=deadline,
        )

    return build
