"""URLhaus API v1: form POSTs to /url/, /host/ and /payload/; header Auth-Key.

It answers HTTP 200 with a `query_status` (ok, no_results, invalid_url, ...), and sends its
numbers as strings.
"""

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
    https_link,
    mapping,
    plain_text,
)
from bot.intel.sources.http import ApiAnswer, ApiClient
from bot.secrets.source import CredentialRejected

NAME = "urlhaus"
HOSTS = ("abuse.ch",)
MAX_TAGS = 10
MAX_URLS_READ = 500


def link(indicator: Indicator) -> str:
    return f"https://urlhaus.abuse.ch/browse.php?search={quote(indicator.value, safe='')}"


def request_for(indicator: Indicator) -> tuple[str, dict[str, str]]:
    if indicator.type is IndicatorType.URL:
        return "/url/", {"url": indicator.value}
    if indicator.type is IndicatorType.HASH:
        return "/payload/", {f"{indicator.hash_kind}_hash": indicator.value}
    return "/host/", {"host": indicator.value}


def _tags(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise UnexpectedResponse("tags is not a list")
    return [tag for tag in (plain_text(item, 40) for item in value[:MAX_TAGS]) if tag]


URL_STATUSES = ("online", "offline", "unknown")


def _url_evidence(body: dict[str, Any]) -> dict[str, Any]:
    if body.get("url_status") not in URL_STATUSES:
        raise UnexpectedResponse("url_status missing or unknown")
    return {
        "kind": "url",
        "url_status": body["url_status"],
        "threat": plain_text(body.get("threat"), 40),
        "tags": _tags(body.get("tags")),
        "date_added": plain_text(body.get("date_added"), 40),
    }


def _host_evidence(body: dict[str, Any]) -> dict[str, Any]:
    urls = body.get("urls")
    if not isinstance(urls, list):
        raise UnexpectedResponse("urls is not a list")
    statuses = [mapping(item, "urls[]").get("url_status") for item in urls[:MAX_URLS_READ]]
    blacklists = mapping(body.get("blacklists") or {}, "blacklists")
    return {
        "kind": "host",
        "url_count": count(body.get("url_count", len(urls))),
        "online_urls": sum(1 for status in statuses if status == "online"),
        "firstseen": plain_text(body.get("firstseen"), 40),
        "spamhaus_dbl": plain_text(blacklists.get("spamhaus_dbl"), 40),
        "surbl": plain_text(blacklists.get("surbl"), 40),
    }


def _payload_evidence(body: dict[str, Any], asked: str) -> dict[str, Any]:
    if asked not in (body.get("md5_hash"), body.get("sha256_hash")):
        raise UnexpectedResponse("the answer is about another payload")
    return {
        "kind": "payload",
        "file_type": plain_text(body.get("file_type"), 40),
        "signature": plain_text(body.get("signature"), 80),
        "url_count": count(body.get("url_count") or 0),
        "firstseen": plain_text(body.get("firstseen"), 40),
        "lastseen": plain_text(body.get("lastseen"), 40),
    }


def parse(indicator: Indicator, answer: ApiAnswer) -> SourceResult:
    body = mapping(answer.body, "response")
    status = body.get("query_status")
    if status in ("unknown_auth_key", "invalid_auth_key"):
        raise CredentialRejected(NAME, answer.status)
    if status == "no_results":
        return SourceResult(NAME, Status.NOT_FOUND, link=link(indicator))
    if status != "ok":
        raise SourceFailure(f"query refused ({plain_text(str(status), 40)})")
    if indicator.type is IndicatorType.URL:
        evidence = _url_evidence(body)
    elif indicator.type is IndicatorType.HASH:
        evidence = _payload_evidence(body, indicator.value)
    else:
        evidence = _host_evidence(body)
    page = https_link(body.get("urlhaus_reference"), link(indicator), HOSTS)
    return SourceResult(NAME, Status.OK, evidence, page)


class URLhaus:
    """URLhaus for URLs, hosts (domains and IPs) and MD5/SHA-256 payload hashes."""

    name = NAME
    external = True

    def __init__(self, client: ApiClient) -> None:
        self._client = client

    def supports(self, indicator: Indicator) -> bool:
        return indicator.hash_kind != "sha1"

    async def lookup(self, indicator: Indicator) -> SourceResult:
        path, form = request_for(indicator)
        return await self._client.call(
            "POST",
            path,
            key_header="Auth-Key",
            form=form,
            handled=(400, 404),
            parse=lambda answer: parse(indicator, answer),
        )
