"""Enrichment settings: source URLs, timeouts, cache TTLs, rate limits, internal networks, feed."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.intel.guard import InternalGuard
from bot.kernel.config import (
    RawConfig,
    Setting,
    parse_cidrs,
    parse_float_range,
    parse_int_range,
    parse_list,
    parse_str,
    parse_url,
)

# name -> (default API root, secret name, per-minute default, per-day default). 0 = no limit.
# VirusTotal's public API allows 4/min and 500/day; AbuseIPDB's free plan 1,000 checks a day;
# GreyNoise's community API is limited per day; URLhaus documents no limit, so stay polite.
SOURCE_DEFAULTS: dict[str, tuple[str, str, int, int]] = {
    "virustotal": ("https://www.virustotal.com/api/v3", "virustotal-api-key", 4, 500),
    "abuseipdb": ("https://api.abuseipdb.com/api/v2", "abuseipdb-api-key", 60, 1000),
    "greynoise": ("https://api.greynoise.io/v3", "greynoise-api-key", 10, 100),
    "urlhaus": ("https://urlhaus-api.abuse.ch/v1", "urlhaus-auth-key", 60, 0),
}

RATE_LIMIT = parse_int_range(0, 1_000_000)


def _source_settings(name: str) -> tuple[Setting, Setting, Setting]:
    url, _, per_minute, per_day = SOURCE_DEFAULTS[name]
    env = f"VIGIL_INTEL_{name.upper()}"
    return (
        Setting(f"intel.{name}.url", f"{env}_URL", parse_url("https", "http"), url, "API root"),
        Setting(f"intel.{name}.per_minute", f"{env}_PER_MINUTE", RATE_LIMIT, per_minute),
        Setting(f"intel.{name}.per_day", f"{env}_PER_DAY", RATE_LIMIT, per_day),
    )


SOURCE_SETTINGS = {name: _source_settings(name) for name in SOURCE_DEFAULTS}

INTERNAL_NETWORKS = Setting(
    "intel.internal_networks",
    "VIGIL_INTEL_INTERNAL_NETWORKS",
    parse_cidrs,
    (),
    "CIDRs that are internal, on top of RFC 1918, loopback, link-local, CGNAT, ULA, multicast",
)
INTERNAL_DOMAINS = Setting(
    "intel.internal_domains",
    "VIGIL_INTEL_INTERNAL_DOMAINS",
    parse_list,
    (),
    "domain suffixes that are internal, on top of local, internal, lan, corp, home.arpa",
)
SOURCE_TIMEOUT = Setting(
    "intel.source_timeout_seconds", "VIGIL_INTEL_SOURCE_TIMEOUT", parse_float_range(0.1, 60), 4.0
)
DEADLINE = Setting(
    "intel.deadline_seconds", "VIGIL_INTEL_DEADLINE", parse_float_range(0.2, 300), 8.0
)
CACHE_TTL = Setting(
    "intel.cache_ttl_seconds", "VIGIL_INTEL_CACHE_TTL", parse_float_range(0, 7 * 86400), 3600.0
)
NOT_FOUND_TTL = Setting(
    "intel.not_found_ttl_seconds",
    "VIGIL_INTEL_NOT_FOUND_TTL",
    parse_float_range(0, 7 * 86400),
    900.0,
)
CONCURRENCY = Setting(
    "intel.concurrency_per_source", "VIGIL_INTEL_CONCURRENCY", parse_int_range(1, 1000), 100
)
FEED = Setting(
    "intel.feed",
    "VIGIL_INTEL_FEED",
    parse_str,
    "",
    "local feed file (CSV, plain list or STIX 2.1 JSON); empty: the shipped example; 'none': off",
)

SETTINGS = (
    *[setting for triple in SOURCE_SETTINGS.values() for setting in triple],
    INTERNAL_NETWORKS,
    INTERNAL_DOMAINS,
    SOURCE_TIMEOUT,
    DEADLINE,
    CACHE_TTL,
    NOT_FOUND_TTL,
    CONCURRENCY,
    FEED,
)


@dataclass(frozen=True)
class SourceConfig:
    name: str
    url: str
    secret_name: str
    per_minute: int
    per_day: int


@dataclass(frozen=True)
class IntelSettings:
    sources: dict[str, SourceConfig] = field(default_factory=dict)
    guard: InternalGuard = field(default_factory=InternalGuard)
    source_timeout: float = 4.0
    deadline: float = 8.0
    cache_ttl: float = 3600.0
    not_found_ttl: float = 900.0
    concurrency: int = 100
    feed: str = ""

    @classmethod
    def load(cls, raw: RawConfig) -> IntelSettings:
        """Read and check every enrichment setting; a wrong value raises ConfigError naming it."""
        sources = {}
        for name, (url, per_minute, per_day) in SOURCE_SETTINGS.items():
            secret_name = SOURCE_DEFAULTS[name][1]
            sources[name] = SourceConfig(
                name, raw.get(url), secret_name, raw.get(per_minute), raw.get(per_day)
            )
        return cls(
            sources=sources,
            guard=InternalGuard.with_extra(raw.get(INTERNAL_NETWORKS), raw.get(INTERNAL_DOMAINS)),
            source_timeout=raw.get(SOURCE_TIMEOUT),
            deadline=raw.get(DEADLINE),
            cache_ttl=raw.get(CACHE_TTL),
            not_found_ttl=raw.get(NOT_FOUND_TTL),
            concurrency=raw.get(CONCURRENCY),
            feed=raw.get(FEED).strip(),
        )
