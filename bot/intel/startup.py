"""Builds the enricher a running Vigil uses: a source for every key present, plus the local feed."""

from __future__ import annotations

import logging

import aiohttp

from bot.intel.cache import ResultCache
from bot.intel.enrichment import Enricher
from bot.intel.ratelimit import Limits, RateLimiter
from bot.intel.settings import IntelSettings
from bot.intel.sources.abuseipdb import AbuseIPDB
from bot.intel.sources.base import Source
from bot.intel.sources.greynoise import GreyNoise
from bot.intel.sources.http import ApiClient
from bot.intel.sources.localfeed import LocalFeed
from bot.intel.sources.urlhaus import URLhaus
from bot.intel.sources.virustotal import VirusTotal
from bot.secrets.source import SecretNotFound, SecretSource, SecretUnavailable
from bot.store import Store

log = logging.getLogger(__name__)

SOURCE_CLASSES = {
    "virustotal": VirusTotal,
    "abuseipdb": AbuseIPDB,
    "greynoise": GreyNoise,
    "urlhaus": URLhaus,
}


async def enabled_sources(
    settings: IntelSettings, secrets: SecretSource, http: aiohttp.ClientSession
) -> list[Source]:
    """The API sources whose key the secret source has, then the local feed (unless 'none')."""
    sources: list[Source] = []
    for name, source_class in SOURCE_CLASSES.items():
        config = settings.sources[name]
        try:
            await secrets.get(config.secret_name)
        except SecretNotFound:
            continue
        except SecretUnavailable as exc:
            # Enabled anyway: the key may be readable by the time of a lookup.
            log.warning("intel source %s: %s", name, exc)
        client = ApiClient(
            name, http, config.url, secrets, config.secret_name, settings.source_timeout
        )
        sources.append(source_class(client))
    if settings.feed.lower() != "none":
        sources.append(LocalFeed(settings.feed))
    return sources


async def build_enricher(
    settings: IntelSettings,
    *,
    store: Store,
    secrets: SecretSource,
    http: aiohttp.ClientSession,
) -> Enricher:
    """The enricher with store-backed cache and rate limits."""
    sources = await enabled_sources(settings, secrets, http)
    limits = {
        name: Limits(config.per_minute, config.per_day) for name, config in settings.sources.items()
    }
    return Enricher(
        sources,
        guard=settings.guard,
        cache=ResultCache(store, settings.cache_ttl, settings.not_found_ttl),
        limiter=RateLimiter(store),
        limits=limits,
        source_timeout=settings.source_timeout,
        deadline=settings.deadline,
        concurrency=settings.concurrency,
    )
