"""VirusTotal API v3: ip_addresses, domains, urls (unpadded base64url id) and files."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any
from urllib.parse import quote

from bot.intel.indicators import Indicator, IndicatorType
from bot.intel.sources.base import (
    SourceFailure,
    SourceRateLimited,
    SourceResult,
    Status,
    UnexpectedResponse,
    count,
    mapping,
    plain_text,
)
from bot.intel.sources.http import DEFAULT_RETRY_AFTER, ApiAnswer, ApiClient

NAME = "virustotal"
GUI = "https://www.virustotal.com/gui"
_STATS = ("malicious", "suspicious", "harmless", "undetected", "timeout")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def url_id(url: str) -> str:
    """VirusTotal's URL identifier: the URL in base64url without padding."""
    return base64.urlsafe_b64encode(url.encode("utf-8")).decode("ascii").rstrip("=")


def api_path(indicator: Indicator) -> str:
    value = indicator.value
    if indicator.type is IndicatorType.IP:
        return f"/ip_addresses/{quote(value, safe='')}"
    if indicator.type is IndicatorType.DOMAIN:
        return f"/domains/{quote(value, safe='')}"
    if indicator.type is IndicatorType.URL:
        return f"/urls/{url_id(value)}"
    return f"/files/{value}"


def gui_link(indicator: Indicator, object_id: Any = None) -> str:
    value = indicator.value
    if indicator.type is IndicatorType.IP:
        return f"{GUI}/ip-address/{quote(value, safe='')}"
    if indicator.type is IndicatorType.DOMAIN:
        return f"{GUI}/domain/{value}"
    if indicator.type is IndicatorType.URL:
        # The GUI names URLs by the SHA-256 id the API returns; ours is the fallback.
        if not (isinstance(object_id, str) and _SHA256.fullmatch(object_id)):
            object_id = hashlib.sha256(value.encode("utf-8")).hexdigest()
        return f"{GUI}/url/{object_id}"
    return f"{GUI}/file/{value}"


def _error_code(body: Any) -> str:
    try:
        return plain_text(body["error"]["code"], 60) or "error"
    except (KeyError, TypeError, UnexpectedResponse):
        return "no error code"


def parse(indicator: Indicator, answer: ApiAnswer) -> SourceResult:
    """A VirusTotal answer as evidence: engine counts from data.attributes.last_analysis_stats."""
    if answer.status == 404:
        if _error_code(answer.body) != "NotFoundError":
            raise UnexpectedResponse("404 without NotFoundError")
        return SourceResult(NAME, Status.NOT_FOUND, link=gui_link(indicator))
    if answer.status == 400:
        raise SourceFailure(f"request refused ({_error_code(answer.body)})")
    data = mapping(mapping(answer.body, "response").get("data"), "data")
    attributes = mapping(data.get("attributes"), "data.attributes")
    stats_raw = attributes.get("last_analysis_stats") or {}
    stats = mapping(stats_raw, "last_analysis_stats")
    evidence: dict[str, Any] = {name: count(stats.get(name, 0)) for name in _STATS}
    evidence["engines"] = sum(evidence[name] for name in _STATS)
    reputation = attributes.get("reputation")
    if reputation is not None:
        if isinstance(reputation, bool) or not isinstance(reputation, int):
            raise UnexpectedResponse("reputation is not a number")
        evidence["reputation"] = max(-(10**6), min(10**6, reputation))
    last = attributes.get("last_analysis_date")
    if isinstance(last, int) and not isinstance(last, bool) and last > 0:
        evidence["last_analysis_date"] = last
    return SourceResult(NAME, Status.OK, evidence, gui_link(indicator, data.get("id")))


class VirusTotal:
    """VirusTotal for every indicator type; header x-apikey."""

    name = NAME
    external = True

    def __init__(self, client: ApiClient) -> None:
        self._client = client

    def supports(self, indicator: Indicator) -> bool:
        return True

    async def lookup(self, indicator: Indicator) -> SourceResult:
        def parse_answer(answer: ApiAnswer) -> SourceResult:
            if answer.status == 400 and _error_code(answer.body) == "QuotaExceededError":
                raise SourceRateLimited(DEFAULT_RETRY_AFTER)
            return parse(indicator, answer)

        return await self._client.call(
            "GET",
            api_path(indicator),
            key_header="x-apikey",
            handled=(400, 404),
            parse=parse_answer,
        )
