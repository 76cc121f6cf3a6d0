"""The local feed: CSV, plain list and STIX 2.1 formats, reloading, and hostile files."""

from __future__ import annotations

import json
import os

import pytest

from bot.intel.indicators import classify
from bot.intel.sources.base import SourceFailure, Status
from bot.intel.sources.localfeed import FeedError, LocalFeed, parse_feed, parse_stix


async def look(feed: LocalFeed, text: str):
    return await feed.lookup(classify(text))


async def test_the_shipped_example_gives_verdicts():
    feed = LocalFeed()
    result = await look(feed, "198[.]51[.]100[.]23")
    assert result.status is Status.OK
    assert result.evidence["verdict"] == "malicious"
    assert result.evidence["feed"] == "example feed"
    assert (await look(feed, "192.0.2.1")).status is Status.NOT_FOUND


async def test_urls_match_their_host_and_subdomains_their_parent():
    feed = LocalFeed()
    assert (await look(feed, "https://evil.example.com/other")).evidence["matched"] == (
        "evil.example.com"
    )
    assert (await look(feed, "a.b.evil.example.com")).evidence["matched"] == "evil.example.com"
    assert (await look(feed, "example.com")).status is Status.NOT_FOUND


def test_plain_list(tmp_path):
    entries = parse_feed("# bad things\n198.51.100.9\nevil[.]example[.]org  # defanged\n\n")
    assert {value for _, value in entries} == {"198.51.100.9", "evil.example.org"}
    assert all(entry.verdict == "malicious" for entry in entries.values())


def test_csv_columns():
    entries = parse_feed(
        "indicator,verdict,score,description,reference\n"
        "203.0.113.5,suspicious,35,Scanner,https://ti.example.com/1\n"
        "cdn.example.com,allow,,Our CDN,javascript:alert(1)\n"
    )
    scanner = entries[(classify("203.0.113.5").type, "203.0.113.5")]
    assert (scanner.verdict, scanner.score, scanner.reference) == (
        "suspicious",
        35,
        "https://ti.example.com/1",
    )
    cdn = entries[(classify("cdn.example.com").type, "cdn.example.com")]
    assert (cdn.verdict, cdn.reference) == ("clean", None)  # non-https links are dropped


@pytest.mark.parametrize(
    "text",
    [
        "indicator,verdict\nnot an indicator,malicious\n",
        "indicator,verdict\n198.51.100.1,terrible\n",
        "indicator,verdict,score\n198.51.100.1,malicious,900\n",
        "this is not an indicator\n",
        '{"type": "bundle", "objects": 5}',
        '{"type": "not-a-bundle"}',
        "{not json",
        "[" * 100000,
    ],
)
def test_broken_feeds_are_refused(text):
    with pytest.raises(FeedError):
        parse_feed(text)


def test_stix_patterns():
    bundle = {
        "type": "bundle",
        "id": "bundle--1",
        "objects": [
            {
                "type": "indicator",
                "pattern_type": "stix",
                "indicator_types": ["anomalous-activity"],
                "pattern": "[ipv4-addr:value = '203.0.113.7'] OR [ipv6-addr:value = '2001:db8::7']",
                "name": "Odd",
            },
            {
                "type": "indicator",
                "pattern_type": "stix",
                "pattern": "[file:hashes.MD5 = '44d88612fea8a8f36de82e1f5c8eb5a5']",
                "confidence": 55,
            },
            {  # not simple: ignored
                "type": "indicator",
                "pattern_type": "stix",
                "pattern": "[ipv4-addr:value = '203.0.113.8'] AND [domain-name:value = 'x.ex']",
            },
            {  # revoked
                "type": "indicator",
                "pattern_type": "stix",
                "revoked": True,
                "pattern": "[domain-name:value = 'revoked.example.com']",
            },
            {  # expired
                "type": "indicator",
                "pattern_type": "stix",
                "valid_until": "2000-01-01T00:00:00Z",
                "pattern": "[domain-name:value = 'old.example.com']",
            },
            {"type": "indicator", "pattern_type": "sigma", "pattern": "title: x"},
            {"type": "malware", "name": "ignored"},
            "not even an object",
        ],
    }
    entries = parse_stix(json.dumps(bundle))
    assert {value: e.verdict for (_, value), e in entries.items()} == {
        "203.0.113.7": "suspicious",
        "2001:db8::7": "suspicious",
        "44d88612fea8a8f36de82e1f5c8eb5a5": "malicious",
    }
    assert entries[(classify("a" * 32).type, "44d88612fea8a8f36de82e1f5c8eb5a5")].score == 55


def test_the_shipped_stix_example_parses():
    from importlib import resources

    text = resources.files("bot.intel.feeds").joinpath("example.stix.json").read_text()
    assert len(parse_feed(text)) == 4


async def test_reloads_when_the_file_changes_and_keeps_data_when_broken(tmp_path):
    path = tmp_path / "feed.txt"
    path.write_text("198.51.100.1\n")
    feed = LocalFeed(str(path))
    assert (await look(feed, "198.51.100.1")).status is Status.OK
    assert (await look(feed, "198.51.100.2")).status is Status.NOT_FOUND

    path.write_text("198.51.100.2\n203.0.113.2\n")
    os.utime(path, ns=(1, 2_000_000_000))
    assert (await look(feed, "198.51.100.2")).status is Status.OK
    assert (await look(feed, "198.51.100.1")).status is Status.NOT_FOUND

    path.write_text("indicator,verdict\nbroken,???\n")
    os.utime(path, ns=(1, 3_000_000_000))
    assert (await look(feed, "198.51.100.2")).status is Status.OK  # last good data


async def test_a_missing_feed_file_is_unavailable(tmp_path):
    feed = LocalFeed(str(tmp_path / "nope.csv"))
    with pytest.raises(SourceFailure, match="cannot read the feed"):
        await look(feed, "198.51.100.1")
