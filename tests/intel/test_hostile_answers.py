"""Hostile or broken provider answers: never a crash, never clean, never unsafe text or links."""

from __future__ import annotations

import pytest

from bot.intel.indicators import classify
from bot.intel.sources import abuseipdb, greynoise, urlhaus, virustotal
from bot.intel.sources.base import SourceFailure, Status, UnexpectedResponse
from bot.intel.sources.http import ApiAnswer, blocked_for
from bot.secrets.source import CredentialRejected

IP = classify("198.51.100.23")
URL = classify("http://evil.example.com/x")


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "a string",
        {"data": None},
        {"data": {"attributes": []}},
        {"data": {"attributes": {"last_analysis_stats": {"malicious": -1}}}},
        {"data": {"attributes": {"last_analysis_stats": {"malicious": "many"}}}},
        {"data": {"attributes": {"last_analysis_stats": {"malicious": True}}}},
        {"data": {"attributes": {"last_analysis_stats": {"malicious": 10**20}}}},
        {"data": {"attributes": {"last_analysis_stats": {"malicious": float("nan")}}}},
        {"data": {"attributes": {"last_analysis_stats": {}, "reputation": "bad"}}},
    ],
)
def test_virustotal_unexpected_shapes(body):
    with pytest.raises(UnexpectedResponse):
        virustotal.parse(IP, ApiAnswer(200, body))


def test_virustotal_404_without_its_error_code_is_not_not_found():
    with pytest.raises(UnexpectedResponse):
        virustotal.parse(IP, ApiAnswer(404, {"nothing": "here"}))


@pytest.mark.parametrize(
    "data",
    [
        {"abuseConfidenceScore": 101, "totalReports": 1},
        {"abuseConfidenceScore": None},
        {"abuseConfidenceScore": 50, "totalReports": "lots"},
        {"abuseConfidenceScore": 50, "totalReports": 3, "isWhitelisted": "maybe"},
        {"abuseConfidenceScore": 50, "totalReports": 3, "isp": {"nested": 1}},
    ],
)
def test_abuseipdb_unexpected_shapes(data):
    with pytest.raises(UnexpectedResponse):
        abuseipdb.parse(IP, ApiAnswer(200, {"data": data}))


def test_abuseipdb_error_list_is_a_failure_with_its_detail():
    body = {"errors": [{"detail": "The ip address must be valid.", "status": 422}]}
    with pytest.raises(SourceFailure, match="The ip address must be valid"):
        abuseipdb.parse(IP, ApiAnswer(422, body))


def test_provider_text_is_shortened_and_stripped():
    data = {
        "abuseConfidenceScore": 90,
        "totalReports": 3,
        "isp": "Evil\u202eCorp\x00\n" + "x" * 5000,
        "domain": "<script>alert(1)</script>",
    }
    result = abuseipdb.parse(IP, ApiAnswer(200, {"data": data}))
    assert "\u202e" not in result.evidence["isp"] and "\x00" not in result.evidence["isp"]
    assert len(result.evidence["isp"]) <= 200
    # Markup stays plain text; the cards layer binds it as data and escapes it.
    assert result.evidence["domain"] == "<script>alert(1)</script>"


@pytest.mark.parametrize(
    ("link", "kept"),
    [
        ("https://viz.greynoise.io/ip/198.51.100.23", True),
        ("javascript:alert(1)", False),
        ("http://viz.greynoise.io/ip/198.51.100.23", False),
        ("https://greynoise.io.evil.example/x", False),
        ("https://evil.example/?greynoise.io", False),
        (12, False),
    ],
)
def test_greynoise_links_only_to_its_own_site(link, kept):
    body = {"ip": "198.51.100.23", "noise": True, "classification": "malicious", "link": link}
    result = greynoise.parse(IP, ApiAnswer(200, body))
    expected = link if kept else "https://viz.greynoise.io/ip/198.51.100.23"
    assert result.link == expected


@pytest.mark.parametrize(
    "body",
    [
        {"ip": "203.0.113.1", "classification": "malicious"},  # another address
        {"ip": "198.51.100.23", "classification": "evil-ish"},
        {"ip": "198.51.100.23", "riot": "perhaps"},
        [],
    ],
)
def test_greynoise_unexpected_shapes(body):
    with pytest.raises(UnexpectedResponse):
        greynoise.parse(IP, ApiAnswer(200, body))


def test_greynoise_404_is_not_seen():
    body = {"ip": "198.51.100.23", "noise": False, "riot": False, "message": "IP not observed"}
    assert greynoise.parse(IP, ApiAnswer(404, body)).status is Status.NOT_FOUND


@pytest.mark.parametrize(
    "body",
    [
        {"query_status": "ok"},  # no url_status
        {"query_status": "ok", "url_status": "exploding"},
        {"query_status": "ok", "url_status": "online", "tags": "not-a-list"},
        {"query_status": 42},
    ],
)
def test_urlhaus_unexpected_shapes(body):
    with pytest.raises(SourceFailure):
        urlhaus.parse(URL, ApiAnswer(200, body))


def test_urlhaus_unknown_auth_key_rotates():
    with pytest.raises(CredentialRejected):
        urlhaus.parse(URL, ApiAnswer(200, {"query_status": "unknown_auth_key"}))


def test_urlhaus_payload_about_another_hash_is_refused():
    body = {"query_status": "ok", "md5_hash": "0" * 32, "sha256_hash": "1" * 64}
    with pytest.raises(UnexpectedResponse):
        urlhaus.parse(classify("a" * 32), ApiAnswer(200, body))


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, 60.0),
        ("", 60.0),
        ("30", 30.0),
        ("0", 1.0),
        ("-5", 1.0),
        ("nan", 60.0),
        ("1e12", 86400.0),
        ("soon", 60.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 1.0),  # a date in the past
    ],
)
def test_retry_after_is_bounded(header, expected):
    assert blocked_for(header) == expected


async def test_oversized_answer_is_unavailable(fakes, make_enricher):
    vt = fakes["virustotal"]
    vt.add("ip_addresses", "198.51.100.23", padding="x" * (2 << 20))
    [report] = await make_enricher(names=("virustotal",), feed=None).enrich([IP])
    assert report.sources["virustotal"].result.detail == "response too large"
