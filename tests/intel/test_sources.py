"""Each source against its local fake: answers, not-found, and every documented failure."""

from __future__ import annotations

import pytest

from bot.intel.indicators import classify
from bot.intel.sources.base import Status
from bot.intel.verdict import Verdict

# An indicator each source supports, and how to make its fake know it as bad.
SAMPLES = {
    "virustotal": "198.51.100.23",
    "abuseipdb": "198.51.100.23",
    "greynoise": "198.51.100.23",
    "urlhaus": "http://evil.example.com/invoice.exe",
}


def know(fakes, name: str) -> None:
    if name == "virustotal":
        from tests.fakes.virustotal import stats

        fakes[name].add("ip_addresses", "198.51.100.23", last_analysis_stats=stats(malicious=12))
    elif name == "abuseipdb":
        fakes[name].add("198.51.100.23", 100, 1843)
    elif name == "greynoise":
        fakes[name].add("198.51.100.23", noise=True, classification="malicious", name="Mirai")
    else:
        fakes[name].add_url("http://evil.example.com/invoice.exe")


async def one(make_enricher, name: str, text: str, **options):
    [report] = await make_enricher(names=(name,), feed=None, **options).enrich([classify(text)])
    return report, report.sources[name]


@pytest.mark.parametrize("name", SAMPLES)
async def test_known_bad(fakes, make_enricher, name):
    know(fakes, name)
    report, answer = await one(make_enricher, name, SAMPLES[name])
    assert answer.result.status is Status.OK
    assert report.verdict in (Verdict.MALICIOUS, Verdict.SUSPICIOUS)
    assert answer.result.link.startswith("https://")
    assert fakes[name].requests[0].key == "test-key"


@pytest.mark.parametrize("name", SAMPLES)
async def test_not_found_is_unknown_not_clean(fakes, make_enricher, name):
    report, answer = await one(make_enricher, name, SAMPLES[name])
    assert answer.result.status is Status.NOT_FOUND
    assert report.verdict is Verdict.UNKNOWN


@pytest.mark.parametrize("name", SAMPLES)
@pytest.mark.parametrize(
    ("failure", "status", "detail"),
    [
        ("500", Status.UNAVAILABLE, "HTTP 500"),
        ("malformed", Status.UNAVAILABLE, "malformed JSON"),
        ("unexpected", Status.UNAVAILABLE, ""),
        ("401", Status.UNAVAILABLE, "credential rejected (HTTP 401)"),
        ("429", Status.RATE_LIMITED, "rate-limited, retry after 30 s"),
    ],
)
async def test_failures_become_a_status(fakes, make_enricher, name, failure, status, detail):
    know(fakes, name)
    fakes[name].failure = failure
    report, answer = await one(make_enricher, name, SAMPLES[name])
    assert answer.result.status is status
    assert detail in answer.result.detail
    assert report.verdict is Verdict.NOT_CHECKED  # never clean, and not "asked, no data"
    assert "test-key" not in str(report.to_json())


@pytest.mark.parametrize("name", SAMPLES)
async def test_slow_source_times_out(fakes, make_enricher, name):
    fakes[name].failure = "slow"
    report, answer = await one(make_enricher, name, SAMPLES[name], timeout=0.3)
    assert answer.result.status is Status.UNAVAILABLE
    assert "timeout after 0.3 s" in answer.result.detail
    assert report.verdict is Verdict.NOT_CHECKED


@pytest.mark.parametrize("name", SAMPLES)
async def test_a_429_is_honoured_across_lookups(fakes, make_enricher, name):
    fakes[name].failure = "429"
    fakes[name].retry_after = "120"
    enricher = make_enricher(names=(name,), feed=None)
    await enricher.enrich([classify(SAMPLES[name])])
    fakes[name].failure = None
    [report] = await enricher.enrich([classify(SAMPLES[name])])
    answer = report.sources[name].result
    assert answer.status is Status.RATE_LIMITED
    assert 100 < answer.retry_after <= 120
    assert len(fakes[name].requests) == 1  # the second lookup did not call the source


async def test_virustotal_types(fakes, make_enricher):
    from tests.fakes.virustotal import stats

    vt = fakes["virustotal"]
    vt.add("domains", "evil.example.com", last_analysis_stats=stats(malicious=7))
    vt.add("urls", "https://evil.example.com/x", last_analysis_stats=stats(malicious=9))
    vt.add("files", "44d88612fea8a8f36de82e1f5c8eb5a5", last_analysis_stats=stats(malicious=60))
    enricher = make_enricher(names=("virustotal",), feed=None)
    reports = await enricher.enrich(
        [
            classify("evil.example.com"),
            classify("https://evil.example.com/x"),
            classify("44d88612fea8a8f36de82e1f5c8eb5a5"),
        ]
    )
    assert [r.verdict for r in reports] == [Verdict.MALICIOUS] * 3
    paths = [request.path for request in vt.requests]
    assert paths == [
        "/domains/evil.example.com",
        "/urls/aHR0cHM6Ly9ldmlsLmV4YW1wbGUuY29tL3g",  # unpadded base64url
        "/files/44d88612fea8a8f36de82e1f5c8eb5a5",
    ]
    links = [r.sources["virustotal"].result.link for r in reports]
    assert links[0] == "https://www.virustotal.com/gui/domain/evil.example.com"
    assert links[1].startswith("https://www.virustotal.com/gui/url/")
    assert links[2] == "https://www.virustotal.com/gui/file/44d88612fea8a8f36de82e1f5c8eb5a5"


async def test_abuseipdb_request_shape(fakes, make_enricher):
    fakes["abuseipdb"].add("2001:db8::bad", 80, 12)
    report, answer = await one(make_enricher, "abuseipdb", "2001:db8::bad")
    request = fakes["abuseipdb"].requests[0]
    assert request.query == {"ipAddress": "2001:db8::bad", "maxAgeInDays": "90"}
    assert answer.result.evidence["abuse_confidence"] == 80
    assert answer.result.link == "https://www.abuseipdb.com/check/2001%3Adb8%3A%3Abad"


async def test_greynoise_only_asked_about_ipv4(fakes, make_enricher):
    reports = await make_enricher(names=("greynoise",), feed=None).enrich(
        [classify("2001:db8::1"), classify("evil.example.com")]
    )
    assert all("greynoise" not in r.sources for r in reports)
    assert fakes["greynoise"].requests == []


async def test_greynoise_riot_is_clean(fakes, make_enricher):
    fakes["greynoise"].add("192.0.2.53", riot=True, classification="benign", name="Google")
    report, answer = await one(make_enricher, "greynoise", "192.0.2.53")
    assert report.verdict is Verdict.CLEAN
    assert answer.signal.reason == "RIOT benign “Google”"


async def test_urlhaus_host_and_payload(fakes, make_enricher):
    uh = fakes["urlhaus"]
    uh.add_host("evil.example.com", ["online", "offline"])
    uh.add_payload("44d88612fea8a8f36de82e1f5c8eb5a5", "a" * 64)
    enricher = make_enricher(names=("urlhaus",), feed=None)
    host, payload, sha1 = await enricher.enrich(
        [
            classify("evil.example.com"),
            classify("44d88612fea8a8f36de82e1f5c8eb5a5"),
            classify("b" * 40),
        ]
    )
    assert host.sources["urlhaus"].result.evidence["online_urls"] == 1
    assert host.sources["urlhaus"].result.evidence["url_count"] == 2  # "2" as a string
    assert payload.sources["urlhaus"].signal.reason == "known malware payload (AgentTesla)"
    assert "urlhaus" not in sha1.sources  # URLhaus has no SHA-1 lookup
    forms = [(r.path, r.form) for r in uh.requests]
    assert forms == [
        ("/host/", {"host": "evil.example.com"}),
        ("/payload/", {"md5_hash": "44d88612fea8a8f36de82e1f5c8eb5a5"}),
    ]


async def test_key_rotated_mid_run(fakes, make_enricher, secrets_dir):
    """The source refuses the old key; the secret is re-read and the call retried once."""
    for name in SAMPLES:
        know(fakes, name)
    enricher = make_enricher(feed=None)
    [first] = await enricher.enrich([classify("198.51.100.23")])
    assert first.verdict is Verdict.MALICIOUS
    for name, fake in fakes.items():
        fake.keys = {"rotated-key"}
        (
            secrets_dir / f"{'urlhaus-auth-key' if name == 'urlhaus' else name + '-api-key'}"
        ).write_text("rotated-key")
    reports = await enricher.enrich(
        [classify("198.51.100.24"), classify("http://evil.example.com/invoice.exe")]
    )
    for report in reports:
        for answer in report.sources.values():
            assert answer.result.status in (Status.OK, Status.NOT_FOUND), answer.result
    for fake in fakes.values():
        assert [r.key for r in fake.requests][-1] == "rotated-key"
        assert "test-key" in [r.key for r in fake.requests[1:]]  # refused, then retried


async def test_rejected_key_without_rotation_is_unavailable(fakes, make_enricher):
    fakes["virustotal"].keys = {"another-key"}
    report, answer = await one(make_enricher, "virustotal", "198.51.100.23")
    assert answer.result.status is Status.UNAVAILABLE
    assert len(fakes["virustotal"].requests) == 1  # same value re-read: no pointless retry
