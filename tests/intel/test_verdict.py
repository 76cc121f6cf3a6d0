"""The verdict rules as tables: each source's evidence, then combinations of sources."""

from __future__ import annotations

from pathlib import Path

import pytest

import bot.intel.verdict as verdict_module
from bot.intel.sources.base import SourceResult, Status
from bot.intel.verdict import Level, Signal, Verdict, combine, settle, signal


def ok(source: str, **evidence) -> SourceResult:
    return SourceResult(source, Status.OK, evidence)


VT = "virustotal"
AB = "abuseipdb"
GN = "greynoise"
UH = "urlhaus"
LF = "local_feed"


@pytest.mark.parametrize(
    ("result", "level", "score", "words"),
    [
        (ok(VT, malicious=12, suspicious=0, engines=94), Level.MALICIOUS, 74, "12/94 engines"),
        (ok(VT, malicious=5, suspicious=0, engines=90), Level.MALICIOUS, 60, "5/90"),
        (ok(VT, malicious=2, suspicious=1, engines=90), Level.SUSPICIOUS, 45, "2/90"),
        (ok(VT, malicious=0, suspicious=3, engines=90), Level.SUSPICIOUS, 45, "3 suspicious"),
        (ok(VT, malicious=0, suspicious=0, engines=90), Level.CLEAN, 0, "0/90"),
        (ok(VT, malicious=0, suspicious=0, engines=3), Level.NONE, None, "too few"),
        (ok(AB, abuse_confidence=100, total_reports=1843), Level.MALICIOUS, 100, "1,843 reports"),
        (ok(AB, abuse_confidence=40, total_reports=5), Level.SUSPICIOUS, 40, "confidence 40"),
        (ok(AB, abuse_confidence=10, total_reports=2), Level.NONE, None, "confidence 10"),
        (ok(AB, abuse_confidence=100, total_reports=9, whitelisted=True), Level.CLEAN, 0, "white"),
        (
            ok(GN, riot=True, classification="benign", name="Google"),
            Level.CLEAN,
            0,
            "RIOT benign “Google”",
        ),
        (ok(GN, noise=True, classification="malicious"), Level.SUSPICIOUS, 60, "malicious"),
        (ok(GN, noise=True, classification="benign", name="Shodan"), Level.CLEAN, 0, "Shodan"),
        (ok(GN, noise=True, classification="unknown"), Level.NONE, None, "scanning"),
        (
            ok(UH, kind="url", url_status="online", threat="malware_download"),
            Level.MALICIOUS,
            95,
            "malware_download, online",
        ),
        (
            ok(UH, kind="url", url_status="offline", threat="malware_download"),
            Level.MALICIOUS,
            75,
            "offline",
        ),
        (ok(UH, kind="host", url_count=4, online_urls=1), Level.MALICIOUS, 85, "1 online"),
        (ok(UH, kind="host", url_count=4, online_urls=0), Level.SUSPICIOUS, 50, "none online"),
        (ok(UH, kind="payload", signature="AgentTesla"), Level.MALICIOUS, 90, "AgentTesla"),
        (ok(LF, verdict="malicious", score=90, feed="example feed"), Level.MALICIOUS, 90, "listed"),
        (ok(LF, verdict="suspicious", score=40, feed="f"), Level.SUSPICIOUS, 40, "suspicious"),
        (ok(LF, verdict="clean", score=0, feed="f"), Level.CLEAN, 0, "clean"),
        (SourceResult(VT, Status.NOT_FOUND), Level.NONE, None, "no data"),
        (
            SourceResult(VT, Status.UNAVAILABLE, detail="HTTP 500"),
            Level.NONE,
            None,
            "unavailable: HTTP 500",
        ),
        (
            SourceResult(VT, Status.RATE_LIMITED, detail="rate-limited, retry after 30 s"),
            Level.NONE,
            None,
            "retry after 30 s",
        ),
        (SourceResult(VT, Status.SKIPPED_INTERNAL), Level.NONE, None, "internal, not sent"),
    ],
)
def test_source_signal(result, level, score, words):
    found = signal(result)
    assert (found.level, found.score) == (level, score)
    assert words in found.reason


M = Signal(Level.MALICIOUS, 90, "m")
S = Signal(Level.SUSPICIOUS, 40, "s")
C = Signal(Level.CLEAN, 0, "c")
N = Signal(Level.NONE, None, "n")


@pytest.mark.parametrize(
    ("signals", "verdict", "score"),
    [
        ([], Verdict.UNKNOWN, None),
        ([N, N, N, N], Verdict.UNKNOWN, None),  # not found / unavailable / limited everywhere
        ([M], Verdict.MALICIOUS, 90),
        ([M, N, N], Verdict.MALICIOUS, 90),
        ([M, S], Verdict.MALICIOUS, 90),
        ([M, C], Verdict.SUSPICIOUS, 90),  # sources disagree
        ([M, C, S], Verdict.SUSPICIOUS, 90),
        ([S], Verdict.SUSPICIOUS, 40),
        ([S, N], Verdict.SUSPICIOUS, 40),
        ([S, S], Verdict.SUSPICIOUS, 45),  # weak signals never add up to malicious
        ([S, S, S, S, S, S, S, S], Verdict.SUSPICIOUS, 74),  # ... however many
        ([S, Signal(Level.SUSPICIOUS, 90, "feed entry")], Verdict.SUSPICIOUS, 90),
        ([S, S, C], Verdict.SUSPICIOUS, 40),
        ([S, C], Verdict.SUSPICIOUS, 40),
        ([C], Verdict.CLEAN, 0),
        ([C, N, N], Verdict.CLEAN, 0),
        ([C, C], Verdict.CLEAN, 0),
    ],
)
def test_combination(signals, verdict, score):
    decision = combine(signals)
    assert (decision.verdict, decision.score) == (verdict, score)


@pytest.mark.parametrize(
    ("results", "verdict"),
    [
        # IP: VT 12/94, AbuseIPDB 100 with 1,843 reports, GreyNoise not seen -> malicious
        (
            [
                ok(VT, malicious=12, suspicious=0, engines=94),
                ok(AB, abuse_confidence=100, total_reports=1843),
                SourceResult(GN, Status.NOT_FOUND),
            ],
            Verdict.MALICIOUS,
        ),
        # Google DNS: RIOT benign, VT clean, AbuseIPDB whitelisted -> clean
        (
            [
                ok(VT, malicious=0, suspicious=0, engines=94),
                ok(AB, abuse_confidence=0, total_reports=20, whitelisted=True),
                ok(GN, riot=True, classification="benign", name="Google"),
            ],
            Verdict.CLEAN,
        ),
        # Everything down or without data: not checked (to retry), never clean
        (
            [
                SourceResult(VT, Status.UNAVAILABLE, detail="timeout"),
                SourceResult(AB, Status.RATE_LIMITED, detail="rate-limited"),
                SourceResult(GN, Status.UNAVAILABLE, detail="HTTP 500"),
                SourceResult(UH, Status.NOT_FOUND),
                SourceResult(LF, Status.NOT_FOUND),
            ],
            Verdict.NOT_CHECKED,
        ),
        # Every source asked, none has data: unknown
        (
            [
                SourceResult(VT, Status.NOT_FOUND),
                SourceResult(UH, Status.NOT_FOUND),
                SourceResult(LF, Status.NOT_FOUND),
            ],
            Verdict.UNKNOWN,
        ),
        # A rate-limited source beside a signal: the signal decides
        (
            [
                SourceResult(VT, Status.RATE_LIMITED, detail="rate-limited", retry_after=60),
                ok(AB, abuse_confidence=90, total_reports=40),
            ],
            Verdict.MALICIOUS,
        ),
        # URL: URLhaus online malware download, VT has not seen it -> malicious
        (
            [
                ok(UH, kind="url", url_status="online", threat="malware_download"),
                SourceResult(VT, Status.NOT_FOUND),
            ],
            Verdict.MALICIOUS,
        ),
        # Internal: external sources skipped, local feed lists it -> malicious from the feed only
        (
            [
                SourceResult(VT, Status.SKIPPED_INTERNAL),
                ok(LF, verdict="malicious", score=70, feed="f"),
            ],
            Verdict.MALICIOUS,
        ),
        # Scanner: GreyNoise malicious and AbuseIPDB 40 -> two weak signals stay suspicious
        (
            [
                ok(GN, noise=True, classification="malicious"),
                ok(AB, abuse_confidence=40, total_reports=12),
            ],
            Verdict.SUSPICIOUS,
        ),
        # One engine malicious and one suspicious of 94, AbuseIPDB 35: weak, suspicious
        (
            [
                ok(VT, malicious=1, suspicious=1, engines=94),
                ok(AB, abuse_confidence=35, total_reports=3),
            ],
            Verdict.SUSPICIOUS,
        ),
        # One strong signal among weak ones: malicious
        (
            [
                ok(VT, malicious=1, suspicious=1, engines=94),
                ok(AB, abuse_confidence=80, total_reports=300),
            ],
            Verdict.MALICIOUS,
        ),
        # One VT engine against a RIOT service -> suspicious, not malicious
        (
            [
                ok(VT, malicious=1, suspicious=0, engines=94),
                ok(GN, riot=True, classification="benign", name="Cloudflare"),
            ],
            Verdict.SUSPICIOUS,
        ),
    ],
)
def test_source_combinations(results, verdict):
    assert settle(combine(signal(r) for r in results), results).verdict is verdict


def test_weak_signals_score_higher_than_one_but_stay_suspicious():
    results = [ok(VT, malicious=1, suspicious=1, engines=94), ok(AB, abuse_confidence=35)]
    decision = combine(signal(r) for r in results)
    assert (decision.verdict, decision.score) == (Verdict.SUSPICIOUS, 45)
    assert decision.score > max(signal(r).score for r in results)


def test_docs_state_the_rules_the_code_applies():
    """docs/intel.md and verdict.py's docstring carry the same rule table: they change together."""
    docs = (Path(__file__).parents[2] / "docs" / "intel.md").read_text(encoding="utf-8")
    code = verdict_module.__doc__
    rules = code[code.index("Per source") : code.index("not targeted activity.")]
    assert rules in docs
