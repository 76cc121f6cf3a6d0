"""Containment connector settings: which connector serves which action, and how each is reached."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.entra.graph import AAD_AUTHORITY
from bot.kernel.config import (
    ConfigError,
    RawConfig,
    Setting,
    parse_choice,
    parse_float_range,
    parse_int_range,
    parse_service_url,
    parse_str,
)

__all__ = ["AAD_AUTHORITY", "ConnectorSettings"]

MDE_SCOPE = "https://api.securitycenter.microsoft.com/.default"
PUBLIC_MDE_URL = "https://api.securitycenter.microsoft.com"
SOAR_KEY_SECRET = "soar-webhook-hmac-key"  # noqa: S105 (a secret name)


def parse_base_url(value: Any) -> str:
    """A connector's base URL (see kernel parse_service_url), without a trailing slash."""
    return parse_service_url(value).rstrip("/")


def parse_zone_name(value: Any) -> str:
    """A DNS zone name such as rpz.vigil.local (checked as a DNS name, no trailing dot)."""
    from bot.containment.rpz_names import dns_name

    return dns_name(parse_str(value).strip().rstrip("."))


ISOLATE_CONNECTOR = Setting(
    "containment.isolate_connector",
    "VIGIL_CONTAINMENT_ISOLATE_CONNECTOR",
    parse_choice("mde", "soar", "none"),
    "mde",
    "who isolates endpoints: mde (Defender for Endpoint), soar (signed webhook) or none",
)
BLOCK_CONNECTOR = Setting(
    "containment.block_connector",
    "VIGIL_CONTAINMENT_BLOCK_CONNECTOR",
    parse_choice("mde", "soar", "rpz", "none"),
    "rpz",
    "who blocks domains, IPs, URLs and hashes: mde (indicators), soar, rpz (zone file) or none",
)
MDE_URL = Setting(
    "containment.mde.url",
    "VIGIL_MDE_URL",
    parse_base_url,
    PUBLIC_MDE_URL,
    "Defender for Endpoint API base URL (or a regional one such as https://eu.api.security.microsoft.com)",
)
MDE_TIMEOUT = Setting(
    "containment.mde.timeout_seconds",
    "VIGIL_MDE_TIMEOUT",
    parse_float_range(1, 120),
    20.0,
    "timeout of one Defender for Endpoint call; past it an action's state is unknown",
)
MDE_PER_MINUTE = Setting(
    "containment.mde.calls_per_minute",
    "VIGIL_MDE_CALLS_PER_MINUTE",
    parse_int_range(1, 100),
    100,
    "client-side pace of Defender calls per minute (the documented limit is 100)",
)
MDE_PER_HOUR = Setting(
    "containment.mde.calls_per_hour",
    "VIGIL_MDE_CALLS_PER_HOUR",
    parse_int_range(1, 1500),
    1500,
    "client-side pace of Defender calls per hour (the documented limit is 1,500)",
)
MDE_MAX_RETRY_AFTER = Setting(
    "containment.mde.max_retry_after_seconds",
    "VIGIL_MDE_MAX_RETRY_AFTER",
    parse_float_range(0, 300),
    60.0,
    "longest Retry-After honoured on a 429; a longer one fails the call",
)
MDE_SEVERITY = Setting(
    "containment.mde.indicator_severity",
    "VIGIL_MDE_INDICATOR_SEVERITY",
    parse_choice("Informational", "Low", "Medium", "High"),
    "High",
    "severity of the block indicators Vigil submits",
)
SOAR_URL = Setting(
    "containment.soar.url",
    "VIGIL_SOAR_WEBHOOK_URL",
    parse_base_url,
    "",
    f"SOAR/ticketing webhook that receives signed actions (key: secret {SOAR_KEY_SECRET})",
)
SOAR_TIMEOUT = Setting(
    "containment.soar.timeout_seconds",
    "VIGIL_SOAR_TIMEOUT",
    parse_float_range(1, 120),
    15.0,
    "timeout of one webhook post; past it the action's state is unknown",
)
SOAR_ATTEMPTS = Setting(
    "containment.soar.attempts",
    "VIGIL_SOAR_ATTEMPTS",
    parse_int_range(1, 10),
    4,
    "posts tried on 5xx/429 (with exponential backoff and jitter) before the action fails",
)
SOAR_MAX_BACKOFF = Setting(
    "containment.soar.max_backoff_seconds",
    "VIGIL_SOAR_MAX_BACKOFF",
    parse_float_range(0, 120),
    20.0,
    "longest wait between webhook retries",
)
RPZ_FILE = Setting(
    "containment.rpz.file",
    "VIGIL_RPZ_FILE",
    parse_str,
    "./.vigil/rpz/vigil.rpz.zone",
    "the BIND response policy zone file Vigil writes (include it in named.conf)",
)
RPZ_ZONE = Setting(
    "containment.rpz.zone",
    "VIGIL_RPZ_ZONE",
    parse_zone_name,
    "rpz.vigil.local",
    'the zone\'s name, as in named.conf `response-policy { zone "rpz.vigil.local"; };`',
)
RPZ_TTL = Setting(
    "containment.rpz.ttl_seconds",
    "VIGIL_RPZ_TTL",
    parse_int_range(0, 86400),
    300,
    "TTL of the zone's records",
)

SETTINGS = (
    ISOLATE_CONNECTOR,
    BLOCK_CONNECTOR,
    MDE_URL,
    MDE_TIMEOUT,
    MDE_PER_MINUTE,
    MDE_PER_HOUR,
    MDE_MAX_RETRY_AFTER,
    MDE_SEVERITY,
    SOAR_URL,
    SOAR_TIMEOUT,
    SOAR_ATTEMPTS,
    SOAR_MAX_BACKOFF,
    RPZ_FILE,
    RPZ_ZONE,
    RPZ_TTL,
)


@dataclass(frozen=True)
class ConnectorSettings:
    isolate_connector: str
    block_connector: str
    mde_url: str
    mde_timeout: float
    mde_per_minute: int
    mde_per_hour: int
    mde_max_retry_after: float
    mde_severity: str
    soar_url: str
    soar_timeout: float
    soar_attempts: int
    soar_max_backoff: float
    rpz_file: str
    rpz_zone: str
    rpz_ttl: int

    @classmethod
    def load(cls, raw: RawConfig) -> ConnectorSettings:
        """Every connector setting, parsed and cross-checked; ConfigError names the key."""
        get: Callable[[Setting], Any] = raw.get
        settings = cls(
            isolate_connector=get(ISOLATE_CONNECTOR),
            block_connector=get(BLOCK_CONNECTOR),
            mde_url=get(MDE_URL),
            mde_timeout=get(MDE_TIMEOUT),
            mde_per_minute=get(MDE_PER_MINUTE),
            mde_per_hour=get(MDE_PER_HOUR),
            mde_max_retry_after=get(MDE_MAX_RETRY_AFTER),
            mde_severity=get(MDE_SEVERITY),
            soar_url=get(SOAR_URL),
            soar_timeout=get(SOAR_TIMEOUT),
            soar_attempts=get(SOAR_ATTEMPTS),
            soar_max_backoff=get(SOAR_MAX_BACKOFF),
            rpz_file=get(RPZ_FILE),
            rpz_zone=get(RPZ_ZONE),
            rpz_ttl=get(RPZ_TTL),
        )
        settings.check()
        return settings

    def check(self) -> None:
        chosen = (self.isolate_connector, self.block_connector)
        if "soar" in chosen and not self.soar_url:
            raise ConfigError(
                f"{SOAR_URL.key} (env {SOAR_URL.env}) is empty but the soar connector is chosen "
                f"({ISOLATE_CONNECTOR.env}/{BLOCK_CONNECTOR.env})"
            )
        if "mde" in chosen and not self.mde_url:
            raise ConfigError(f"{MDE_URL.key} (env {MDE_URL.env}) is empty but mde is chosen")
        if self.block_connector == "rpz" and not self.rpz_file.strip():
            raise ConfigError(f"{RPZ_FILE.key} (env {RPZ_FILE.env}) is empty but rpz is chosen")
