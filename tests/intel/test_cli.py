"""`vigil check`: the documented JSON shape, text output and usage help, against the fakes."""

from __future__ import annotations

import argparse
import io
import json
import sqlite3

import pytest

from bot.intel.cli import register, run_check
from tests.fakes.virustotal import stats


def parse(*words: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="vigil")
    parser.add_argument("--config")
    register(parser.add_subparsers())
    return parser.parse_args(["check", *words])


@pytest.fixture
def environment(fakes, monkeypatch, tmp_path):
    for name in ("VIRUSTOTAL", "ABUSEIPDB", "GREYNOISE", "URLHAUS"):
        monkeypatch.setenv(f"VIGIL_INTEL_{name}_URL", fakes[name.lower()].url)
    for env in ("VIRUSTOTAL_API_KEY", "ABUSEIPDB_API_KEY", "GREYNOISE_API_KEY", "URLHAUS_AUTH_KEY"):
        monkeypatch.setenv(f"VIGIL_SECRET_{env}", "test-key")
    monkeypatch.setenv("VIGIL_DB_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    sqlite3.connect(tmp_path / "cli.db").close()  # where `vigil serve` runs: its database exists
    monkeypatch.delenv("VIGIL_CONFIG", raising=False)
    monkeypatch.delenv("VIGIL_KEYVAULT_URL", raising=False)
    return fakes


async def test_json_shape(environment, capsys):
    environment["virustotal"].add(
        "ip_addresses", "198.51.100.23", last_analysis_stats=stats(12, harmless=62)
    )
    environment["abuseipdb"].add("198.51.100.23", 100, 1843)
    status = await run_check(parse("--json", "198[.]51[.]100[.]23", "10.0.0.1", "not valid!"))
    out = capsys.readouterr()
    assert status == 0
    assert "not valid!" in out.err
    document = json.loads(out.out)
    assert set(document) == {"results", "invalid", "left_out"}
    public, internal = document["results"]
    assert public["indicator"] == "198.51.100.23"
    assert public["type"] == "ip"
    assert public["verdict"] == "malicious"
    assert public["internal"] is False
    assert isinstance(public["score"], int)
    vt = public["sources"]["virustotal"]
    assert vt["status"] == "ok"
    assert vt["evidence"]["malicious"] == 12
    assert vt["link"] == "https://www.virustotal.com/gui/ip-address/198.51.100.23"
    assert vt["reason"] == "12/94 engines flag it malicious"
    assert public["sources"]["abuseipdb"]["reason"] == "confidence 100 with 1,843 reports"
    assert internal["internal"] is True
    assert internal["note"] == "internal, not sent to external sources"
    assert internal["sources"]["virustotal"]["status"] == "skipped_internal"
    assert document["invalid"][0]["input"] == "not valid!"
    assert "test-key" not in out.out + out.err
    assert not environment["virustotal"].asked_about("10.0.0.1")


async def test_paste_from_stdin(environment, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("mail from evil[.]example[.]com via 203.0.113.66"))
    assert await run_check(parse("--json", "-")) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert [r["indicator"] for r in results] == ["evil.example.com", "203.0.113.66"]
    assert [r["verdict"] for r in results] == ["malicious", "malicious"]  # the example feed


async def test_text_output(environment, capsys):
    assert await run_check(parse("evil.example.com")) == 0
    out = capsys.readouterr().out
    assert out.startswith("evil.example.com  domain  MALICIOUS (90)")
    assert "local_feed: listed as malicious in example feed" in out


async def test_nothing_valid_gives_usage(environment, capsys):
    assert await run_check(parse("hello", "world")) == 2
    err = capsys.readouterr().err
    assert "examples:" in err
    assert "vigil check 198.51.100.23" in err


async def test_wrong_setting_names_the_key(environment, capsys, monkeypatch):
    monkeypatch.setenv("VIGIL_INTEL_SOURCE_TIMEOUT", "soon")
    assert await run_check(parse("198.51.100.1")) == 2
    assert "intel.source_timeout_seconds" in capsys.readouterr().err
