"""AbuseIPDB API v2: GET /check with ipAddress and maxAgeInDays; header Key."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from bot.intel.indicators import Indicator, IndicatorType
from bot.intel.sources.base import (
    SourceFailure,
    SourceResult,
    Status,
    UnexpectedResponse,
    count,
    flag,
    mapping,
    plain_text,
)
from bot.intel.sources.http import ApiAnswer, ApiClient

NAME = "abuseipdb"
MAX_AGE_DAYS = "90"


def link(indicator: Indicator) -> str:
    return f"https://www.abuseipdb.com/check/{quote(indicator.value, safe='')}"


def _error_detail(body: Any) -> str:
    try:
        return plain_text(body["errors"][0]["detail"], 120) or "error"
    except (KeyError, IndexError, TypeError, UnexpectedResponse):
        return "no error detail"


def parse(indicator: Indicator, answer: ApiAnswer) -> SourceResult:
    """Evidence from `data`; an address nobody reported is not found, never clean by itself."""
    if answer.status != 200:
        raise SourceFailure(f"request refused: {_error_detail(answer.body)}")
    data = mapping(mapping(answer.body, "response").get("data"), "data")
    score = count(data.get("abuseConfidenceScore"))
    if score > 100:
        raise UnexpectedResponse("abuseConfidenceScore above 100")
    evidence: dict[str, Any] = {
        "abuse_confidence": score,
        "total_reports": count(data.get("totalReports", 0)),
        "distinct_users": count(data.get("numDistinctUsers", 0)),
        "whitelisted": flag(data.get("isWhitelisted")),
    }
    for key, name in (
        ("countryCode", "country"),
        ("usageType", "usage_type"),
        ("isp", "isp"),
        ("domain", "domain"),
        ("lastReportedAt", "last_reported_at"),
    ):
        text = plain_text(data.get(key))
        if text:
            evidence[name] = text
    unseen = evidence["total_reports"] == 0 and not evidence["whitelisted"]
    return SourceResult(NAME, Status.NOT_FOUND if unseen else Status.OK, evidence, link(indicator))


class AbuseIPDB:
    """AbuseIPDB for IP addresses."""

    name = NAME
    external = True

    def __init__(self, client: ApiClient) -> None:
        self._client = client

    def supports(self, indicator: Indicator) -> bool:
        return indicator.type is IndicatorType.IP

    async def lookup(self, indicator: Indicator) -> SourceResult:
        return await self._client.call(
            "GET",
            "/check",
            key_header="Key",
            params={"ipAddress": indicator.value, "maxAgeInDays": MAX_AGE_DAYS},
            handled=(400, 422),
            parse=lambda answer: parse(indicator, answer),
        )
