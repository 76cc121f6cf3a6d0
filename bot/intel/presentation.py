"""Reports as card data: the "verdict" card for one indicator, "bulk_verdict" for many.

Domains and URLs are shown defanged so that Teams does not turn a malicious address into a link.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import cards
from bot.intel.enrichment import Report, SourceAnswer
from bot.intel.indicators import (
    Extraction,
    Indicator,
    IndicatorType,
    InvalidIndicator,
    classify,
)
from bot.intel.sources.base import Status
from bot.intel.verdict import NOT_ASKED, Level, Verdict
from bot.kernel import timefmt

SOURCE_TITLES = {
    "virustotal": "VirusTotal",
    "abuseipdb": "AbuseIPDB",
    "greynoise": "GreyNoise",
    "urlhaus": "URLhaus",
    "local_feed": "Local feed",
}
STATUS_WORDS = {
    Status.NOT_FOUND: "no data",
    Status.UNAVAILABLE: "unavailable",
    Status.RATE_LIMITED: "rate-limited",
    Status.SKIPPED_INTERNAL: "not sent",
}
# Evidence worth a line of its own on the card, per source: (evidence key, title).
FACTS = {
    "virustotal": (("reputation", "Reputation"),),
    "abuseipdb": (
        ("total_reports", "Reports"),
        ("isp", "ISP"),
        ("country", "Country"),
        ("usage_type", "Usage"),
        ("last_reported_at", "Last reported"),
    ),
    "greynoise": (("name", "Actor"), ("last_seen", "Last seen")),
    "urlhaus": (("tags", "Tags"), ("date_added", "Added"), ("firstseen", "First seen")),
    "local_feed": (("matched", "Matched"),),
}


def defang(indicator: Indicator) -> str:
    """How an indicator is shown in a card: dots of hosts bracketed, http as hxxp."""
    value = indicator.value
    if indicator.type is IndicatorType.URL:
        scheme, _, rest = value.partition("://")
        host, slash, path = rest.partition("/")
        return f"{scheme.replace('http', 'hxxp')}://{host.replace('.', '[.]')}{slash}{path}"
    if indicator.type is IndicatorType.DOMAIN:
        return value.replace(".", "[.]")
    return value


def _defang_text(text: str) -> str:
    try:
        return defang(classify(text))
    except InvalidIndicator:
        return text


def extraction_note(found: Extraction) -> str | None:
    """What the answer to a paste says about indicators left out or text not read, if any."""
    notes = []
    if found.left_out:
        notes.append(
            f"Checked the first {len(found.indicators)} indicators; {found.left_out} more left out."
        )
    if found.cut_at is not None:
        notes.append(f"Only the first {found.cut_at:,} characters were searched.")
    return " ".join(notes) or None


def type_label(indicator: Indicator) -> str:
    if indicator.type is IndicatorType.IP:
        return "IPv6" if ":" in indicator.value else "IPv4"
    if indicator.type is IndicatorType.HASH:
        return {"md5": "MD5", "sha1": "SHA-1", "sha256": "SHA-256"}.get(indicator.hash_kind or "")
    return {"domain": "Domain", "url": "URL"}[indicator.type.value]


def _source_verdict(answer: SourceAnswer) -> str:
    if answer.signal.level is not Level.NONE:
        return answer.signal.level.value
    return STATUS_WORDS.get(answer.result.status, "no signal")


def _facts(name: str, answer: SourceAnswer) -> list[dict[str, str]]:
    reason = answer.signal.reason + (" (cached)" if answer.result.cached else "")
    facts = [{"title": "Evidence", "value": reason}]
    for key, title in FACTS.get(name, ()):
        value = answer.result.evidence.get(key)
        if value in (None, "", []):
            continue
        if key == "matched":
            value = _defang_text(str(value))
        elif isinstance(value, list):
            value = ", ".join(str(item) for item in value)
        elif isinstance(value, int) and not isinstance(value, bool):
            value = f"{value:,}"
        facts.append({"title": title, "value": str(value)})
    return facts


def flagged(report: Report) -> tuple[int, int]:
    """(sources flagging it, sources that answered with evidence)."""
    answered = [a for a in report.sources.values() if a.result.status is Status.OK]
    bad = [a for a in answered if a.signal.level in (Level.MALICIOUS, Level.SUSPICIOUS)]
    return len(bad), len(answered)


def retry_at(report: Report, now: float) -> float | None:
    """When every source that was rate-limited on it may be asked again (None: no known wait)."""
    waits = [
        a.result.retry_after
        for a in report.sources.values()
        if a.result.status is Status.RATE_LIMITED and a.result.retry_after
    ]
    return now + max(waits) if waits else None


def not_checked_text(report: Report, now: float) -> str:
    """ "not checked: VirusTotal rate-limited, retry after 14:05" (the sources not asked, why)."""
    reasons = []
    for name, answer in report.sources.items():
        if answer.result.status not in NOT_ASKED:
            continue
        title = SOURCE_TITLES.get(name, name)
        if answer.result.status is Status.UNAVAILABLE:
            reasons.append(f"{title} unavailable")
        elif answer.result.retry_after:
            at = timefmt.recent(now + answer.result.retry_after, now)
            reasons.append(f"{title} rate-limited, retry after {at}")
        else:
            reasons.append(f"{title} rate-limited")
    return "not checked: " + "; ".join(reasons)


def summary(report: Report, now: float | None = None) -> str:
    bad, answered = flagged(report)
    parts = []
    if report.verdict is Verdict.NOT_CHECKED:
        parts.append(not_checked_text(report, time.time() if now is None else now) + ".")
    if report.internal:
        parts.append("Internal, not sent to external sources.")
    if report.score is not None:
        parts.append(f"Score {report.score}/100.")
    parts.append(f"{bad} of {answered} sources with data flag it ({report.rule}).")
    down = [
        SOURCE_TITLES.get(name, name)
        for name, answer in report.sources.items()
        if answer.result.status in (Status.UNAVAILABLE, Status.RATE_LIMITED)
    ]
    if down:
        parts.append(f"Not answering: {', '.join(down)}.")
    return " ".join(parts)


def verdict_card_data(report: Report, now: float | None = None) -> dict[str, Any]:
    """Data in the shape of cards/samples/intel/verdict.data.json."""
    now = time.time() if now is None else now
    return {
        "indicator": defang(report.indicator),
        "indicatorType": type_label(report.indicator),
        "verdict": shown_verdict(report.verdict),
        "checkedAt": timefmt.date_time(now),
        "summary": summary(report, now),
        "sources": [
            {
                "name": SOURCE_TITLES.get(name, name),
                "verdict": _source_verdict(answer),
                "url": answer.result.link or "",
                "facts": _facts(name, answer),
                "factsMore": "",
            }
            for name, answer in report.sources.items()
        ],
        "sourcesMore": "",
    }


def shown_verdict(verdict: Verdict) -> str:
    return "not checked" if verdict is Verdict.NOT_CHECKED else verdict.value


def bulk_card_data(
    reports: Sequence[Report], left_out: int = 0, now: float | None = None
) -> dict[str, Any]:
    """Data in the shape of cards/samples/intel/bulk_verdict.data.json."""
    now = time.time() if now is None else now
    counts = Counter(report.verdict for report in reports)
    text = " · ".join(f"{counts[v]} {shown_verdict(v)}" for v in Verdict if counts[v])
    if counts[Verdict.NOT_CHECKED]:
        text += " (`check --retry-pending` finishes them)"
    internal = sum(1 for report in reports if report.internal)
    if internal:
        text += f" · {internal} internal, not sent out"
    rows = []
    for report in reports:
        bad, answered = flagged(report)
        if report.verdict is Verdict.NOT_CHECKED:
            row = {"verdict": not_checked_text(report, now), "hits": ""}
        else:
            row = {
                "verdict": report.verdict.value,
                "hits": f"{bad}/{answered}" if answered else "-",
            }
        rows.append({"indicator": defang(report.indicator), **row})
    return {
        "title": f"Bulk check: {len(reports)} indicators",
        "summary": text,
        "rows": rows,
        "rowsMore": f"{left_out} more left out: at most 100 a check" if left_out else "",
    }


def verdict_card(reports: Sequence[Report], left_out: int = 0) -> dict[str, Any]:
    """The verdict card for one indicator; the bulk table for several or when some were left out."""
    if len(reports) == 1 and not left_out:
        return cards.render("verdict", verdict_card_data(reports[0]))
    return cards.render("bulk_verdict", bulk_card_data(reports, left_out))


def lookup_name(reports: Sequence[Report]) -> str:
    """What the audit record of a lookup names: the indicator, or how many there were."""
    return reports[0].indicator.value if len(reports) == 1 else f"{len(reports)} IOCs"


def lookup_verdicts(reports: Sequence[Report]) -> str:
    """`indicator=verdict, ...` of the first 20, for the audit record's detail."""
    return ", ".join(f"{r.indicator.value}={r.verdict.value}" for r in reports[:20])[:500]
