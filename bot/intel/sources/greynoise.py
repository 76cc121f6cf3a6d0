"""GreyNoise community API v3: GET /community/{ip}; header key. Its 404 means "not seen"."""

from __future__ import annotations

import ipaddress
from typing import Any

from bot.intel.indicators import Indicator, IndicatorType
from bot.intel.sources.base import (
    SourceFailure,
    SourceResult,
    Status,
    UnexpectedResponse,
    flag,
    https_link,
    mapping,
    plain_text,
)
from bot.intel.sources.http import ApiAnswer, ApiClient

NAME = "greynoise"
CLASSIFICATIONS = ("benign", "malicious", "unknown", "suspicious")


def link(indicator: Indicator) -> str:
    return f"https://viz.greynoise.io/ip/{indicator.value}"


def parse(indicator: Indicator, answer: ApiAnswer) -> SourceResult:
    body = mapping(answer.body, "response")
    if answer.status == 404:
        return SourceResult(NAME, Status.NOT_FOUND, link=link(indicator))
    if answer.status != 200:
        raise SourceFailure(f"request refused: {plain_text(body.get('message'), 120)}")
    if body.get("ip") != indicator.value:
        raise UnexpectedResponse("the answer is about another address")
    classification = plain_text(body.get("classification"), 20)
    if classification is not None and classification not in CLASSIFICATIONS:
        raise UnexpectedResponse("unknown classification")
    evidence: dict[str, Any] = {
        "noise": bool(flag(body.get("noise"), False)),
        "riot": bool(flag(body.get("riot"), False)),
        "classification": classification,
    }
    for key in ("name", "last_seen"):
        text = plain_text(body.get(key))
        if text:
            evidence[key] = text
    page = https_link(body.get("link"), link(indicator), ("greynoise.io",))
    return SourceResult(NAME, Status.OK, evidence, page)


class GreyNoise:
    """GreyNoise community for public IPv4 addresses (the community API takes no IPv6)."""

    name = NAME
    external = True

    def __init__(self, client: ApiClient) -> None:
        self._client = client

    def supports(self, indicator: Indicator) -> bool:
        if indicator.type is not IndicatorType.IP:
            return False
        return ipaddress.ip_address(indicator.value).version == 4

    async def lookup(self, indicator: Indicator) -> SourceResult:
        return await self._client.call(
            "GET",
            f"/community/{indicator.value}",
            key_header="key",
            handled=(400, 404),
            parse=lambda answer: parse(indicator, answer),
        )
