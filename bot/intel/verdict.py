"""The verdict rules, in one place: what each source's evidence signals, and how signals combine.

Per source (first matching line wins), each giving a signal level and a 0-100 score:

| source      | evidence                                         | signal      | score            |
|-------------|--------------------------------------------------|-------------|------------------|
| virustotal  | malicious engines >= 5                           | malicious   | 50 + 2/engine    |
| virustotal  | malicious engines 1-4, or suspicious engines >= 3| suspicious  | 30 + 5/engine    |
| virustotal  | engines analysed >= 10, none malicious/suspicious| clean       | 0                |
| abuseipdb   | isWhitelisted                                    | clean       | 0                |
| abuseipdb   | confidence >= 75                                 | malicious   | confidence       |
| abuseipdb   | confidence >= 25                                 | suspicious  | confidence       |
| greynoise   | RIOT (known business service) and benign         | clean       | 0                |
| greynoise   | classification malicious                         | suspicious  | 60               |
| greynoise   | classification benign                            | clean       | 0                |
| urlhaus     | URL listed, online                               | malicious   | 95               |
| urlhaus     | URL listed, offline or unknown                   | malicious   | 75               |
| urlhaus     | host with online malware URLs                    | malicious   | 85               |
| urlhaus     | host with only offline malware URLs              | suspicious  | 50               |
| urlhaus     | payload known                                    | malicious   | 90               |
| local_feed  | the feed entry's verdict                         | as listed   | the entry's score|
| any         | anything else, not found, unavailable, limited   | none        | -                |

Combined, first matching rule wins:

1. a malicious signal and a clean one: **suspicious** (the sources disagree)
2. a malicious signal: **malicious**
3. one or more suspicious signals and no clean one: **suspicious**; each further suspicious
   signal adds 5 to the score, up to 74
4. a suspicious signal and a clean one: **suspicious**
5. a clean signal: **clean**
6. otherwise, if a source could not be asked (rate-limited, unavailable): **not checked**, to be
   retried (`check --retry-pending`);
7. otherwise: **unknown**: asked, and no source has data. Absence of data is never clean.

Only a strong signal makes **malicious**: VirusTotal >= 5 engines, AbuseIPDB >= 75, a URLhaus
listing (URL, payload, or host with online malware URLs), or a local feed entry marked malicious.
Weak signals, however many, stay **suspicious**: one engine of 94 and an AbuseIPDB confidence of 35
are two weak opinions, not proof, and a verdict card quoted as evidence for a block must not cry
wolf.

The score is the highest score among the signals that set the verdict (0 for clean, None for
unknown). A GreyNoise "malicious" is only suspicious because it describes internet-wide scanning,
not targeted activity.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.intel.sources.base import SourceResult, Status


class Verdict(StrEnum):
    MALICIOUS = "malicious"
    SUSPICIOUS = "suspicious"
    CLEAN = "clean"
    UNKNOWN = "unknown"
    NOT_CHECKED = "not_checked"


class Level(StrEnum):
    MALICIOUS = "malicious"
    SUSPICIOUS = "suspicious"
    CLEAN = "clean"
    NONE = "none"


@dataclass(frozen=True)
class Signal:
    """What one source's answer contributes: a level, a 0-100 score and the evidence in words."""

    level: Level
    score: int | None
    reason: str


VT_MALICIOUS_ENGINES = 5
VT_SUSPICIOUS_ENGINES = 3
VT_CLEAN_MIN_ENGINES = 10
ABUSEIPDB_MALICIOUS = 75
ABUSEIPDB_SUSPICIOUS = 25
# Weak signals together never reach the scores that strong signals give (AbuseIPDB malicious: 75).
WEAK_SCORE_CAP = 74


def _virustotal(e: dict[str, Any]) -> Signal:
    bad, suspicious, engines = e.get("malicious", 0), e.get("suspicious", 0), e.get("engines", 0)
    words = f"{bad}/{engines} engines flag it malicious"
    if bad >= VT_MALICIOUS_ENGINES:
        return Signal(Level.MALICIOUS, min(100, 50 + 2 * bad), words)
    if bad >= 1 or suspicious >= VT_SUSPICIOUS_ENGINES:
        extra = f", {suspicious} suspicious" if suspicious else ""
        return Signal(Level.SUSPICIOUS, min(70, 30 + 5 * (bad + suspicious)), words + extra)
    if engines >= VT_CLEAN_MIN_ENGINES and suspicious == 0:
        return Signal(Level.CLEAN, 0, f"0/{engines} engines flag it")
    return Signal(Level.NONE, None, f"{bad}/{engines} engines, too few to judge")


def _abuseipdb(e: dict[str, Any]) -> Signal:
    confidence, reports = e.get("abuse_confidence", 0), e.get("total_reports", 0)
    words = f"confidence {confidence} with {reports:,} reports"
    if e.get("whitelisted"):
        return Signal(Level.CLEAN, 0, f"whitelisted ({words})")
    if confidence >= ABUSEIPDB_MALICIOUS:
        return Signal(Level.MALICIOUS, confidence, words)
    if confidence >= ABUSEIPDB_SUSPICIOUS:
        return Signal(Level.SUSPICIOUS, confidence, words)
    return Signal(Level.NONE, None, words)


def _greynoise(e: dict[str, Any]) -> Signal:
    classification = e.get("classification") or "unknown"
    name = f" “{e['name']}”" if e.get("name") and e.get("name") != "unknown" else ""
    if e.get("riot") and classification == "benign":
        return Signal(Level.CLEAN, 0, f"RIOT benign{name}")
    if classification == "malicious":
        return Signal(Level.SUSPICIOUS, 60, f"internet scanner classified malicious{name}")
    if classification == "benign":
        return Signal(Level.CLEAN, 0, f"benign scanner{name}")
    noise = "seen scanning the internet" if e.get("noise") else "seen"
    return Signal(Level.NONE, None, f"{noise}, classification {classification}{name}")


def _urlhaus(e: dict[str, Any]) -> Signal:
    kind = e.get("kind")
    if kind == "url":
        status, threat = e.get("url_status", "unknown"), e.get("threat") or "malware"
        score = 95 if status == "online" else 75
        return Signal(Level.MALICIOUS, score, f"{threat}, {status}")
    if kind == "host":
        online, total = e.get("online_urls", 0), e.get("url_count", 0)
        if online:
            return Signal(Level.MALICIOUS, 85, f"hosts {online} online malware URLs of {total}")
        if total:
            return Signal(Level.SUSPICIOUS, 50, f"hosted {total} malware URLs, none online")
        return Signal(Level.NONE, None, "host known, no malware URLs")
    if kind == "payload":
        signature = e.get("signature") or e.get("file_type") or "unknown family"
        return Signal(Level.MALICIOUS, 90, f"known malware payload ({signature})")
    return Signal(Level.NONE, None, "unrecognised evidence")


def _local_feed(e: dict[str, Any]) -> Signal:
    level = {"malicious": Level.MALICIOUS, "suspicious": Level.SUSPICIOUS, "clean": Level.CLEAN}
    words = f"listed as {e.get('verdict')} in {e.get('feed')}"
    if e.get("description"):
        words += f": {e['description']}"
    found = level.get(str(e.get("verdict")), Level.NONE)
    return Signal(found, 0 if found is Level.CLEAN else e.get("score"), words)


RULES: dict[str, Callable[[dict[str, Any]], Signal]] = {
    "virustotal": _virustotal,
    "abuseipdb": _abuseipdb,
    "greynoise": _greynoise,
    "urlhaus": _urlhaus,
    "local_feed": _local_feed,
}

_NO_DATA = {
    Status.NOT_FOUND: "no data",
    Status.SKIPPED_INTERNAL: "internal, not sent to external sources",
}


def signal(result: SourceResult) -> Signal:
    """The contribution of one source's answer (level none for anything but evidence)."""
    if result.status is Status.OK and result.source in RULES:
        return RULES[result.source](result.evidence)
    if result.status is Status.UNAVAILABLE:
        return Signal(Level.NONE, None, f"unavailable: {result.detail}")
    if result.status is Status.RATE_LIMITED:
        return Signal(Level.NONE, None, result.detail or "rate-limited")
    return Signal(Level.NONE, None, _NO_DATA.get(result.status, "no data"))


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    score: int | None
    rule: str


def _top(signals: list[Signal], level: Level) -> int:
    return max((s.score or 0) for s in signals if s.level is level)


def combine(signals: Iterable[Signal]) -> Decision:
    """One verdict from the sources' signals (the combined rules in this module's docstring)."""
    signals = list(signals)
    levels = [s.level for s in signals]
    malicious, clean = levels.count(Level.MALICIOUS), levels.count(Level.CLEAN)
    suspicious = levels.count(Level.SUSPICIOUS)
    if malicious and clean:
        return Decision(Verdict.SUSPICIOUS, _top(signals, Level.MALICIOUS), "sources disagree")
    if malicious:
        return Decision(Verdict.MALICIOUS, _top(signals, Level.MALICIOUS), "a source flags it")
    if suspicious and not clean:
        score = min(WEAK_SCORE_CAP, _top(signals, Level.SUSPICIOUS) + 5 * (suspicious - 1))
        rule = "one source" if suspicious == 1 else "several weak signals, none strong"
        return Decision(Verdict.SUSPICIOUS, max(score, _top(signals, Level.SUSPICIOUS)), rule)
    if suspicious:
        return Decision(Verdict.SUSPICIOUS, _top(signals, Level.SUSPICIOUS), "sources disagree")
    if clean:
        return Decision(Verdict.CLEAN, 0, "a source vouches for it, none flags it")
    return Decision(Verdict.UNKNOWN, None, "no source has data")


NOT_ASKED = (Status.RATE_LIMITED, Status.UNAVAILABLE)


def settle(decision: Decision, results: Iterable[SourceResult]) -> Decision:
    """`decision`, except that unknown means "asked, no data": with no signal and a source that
    could not be asked, the indicator was not checked (rule 6)."""
    if decision.verdict is not Verdict.UNKNOWN:
        return decision
    unasked = sorted(r.source for r in results if r.status in NOT_ASKED)
    if not unasked:
        return decision
    return Decision(Verdict.NOT_CHECKED, None, f"not checked: {', '.join(unasked)} not answering")
