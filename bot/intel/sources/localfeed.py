"""The local feed: indicators from a CSV file, a plain list or a STIX 2.1 bundle.

Always on and never external, so it also answers for internal indicators. The file is re-read
when its modification time or size changes; a file that stops parsing keeps the last good data.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from bot.intel.indicators import Indicator, IndicatorType, InvalidIndicator, classify
from bot.intel.sources.base import SourceFailure, SourceResult, Status, plain_text

NAME = "local_feed"
MAX_FEED_BYTES = 64 << 20
VERDICTS = {
    "malicious": "malicious",
    "bad": "malicious",
    "block": "malicious",
    "suspicious": "suspicious",
    "clean": "clean",
    "benign": "clean",
    "allow": "clean",
}
DEFAULT_SCORES = {"malicious": 80, "suspicious": 50, "clean": 0}
# STIX indicator_types (open vocabulary) -> our verdict.
STIX_TYPES = {
    "malicious-activity": "malicious",
    "attribution": "malicious",
    "compromised": "malicious",
    "anomalous-activity": "suspicious",
    "unknown": "suspicious",
    "benign": "clean",
}
_STIX_COMPARISON = re.compile(
    r"\[\s*(?P<object>ipv4-addr|ipv6-addr|domain-name|url|file)\s*:\s*"
    r"(?P<path>value|hashes\.(?:'[^']+'|\"[^\"]+\"|[\w-]+))\s*=\s*'(?P<value>(?:[^'\\]|\\.)*)'\s*\]"
)
_STIX_JOIN = re.compile(r"\s*(?:OR)?\s*", re.IGNORECASE)

log = logging.getLogger(__name__)


class FeedError(ValueError):
    """The feed file cannot be read; the message says where."""


@dataclass(frozen=True)
class FeedEntry:
    verdict: str
    score: int
    description: str | None = None
    reference: str | None = None


Entries = dict[tuple[IndicatorType, str], FeedEntry]


def _entry(verdict_text: str, score_text: str, description: Any, reference: Any) -> FeedEntry:
    verdict = VERDICTS.get((verdict_text or "malicious").strip().lower())
    if verdict is None:
        raise FeedError(f"unknown verdict {verdict_text!r}")
    score = DEFAULT_SCORES[verdict]
    if str(score_text or "").strip():
        score = int(str(score_text).strip())
        if not 0 <= score <= 100:
            raise FeedError("score must be 0 to 100")
    reference_text = plain_text(reference or None, 300)
    if reference_text and not reference_text.startswith("https://"):
        reference_text = None  # only https links are shown to analysts
    return FeedEntry(verdict, score, plain_text(description or None), reference_text)


def parse_csv(text: str) -> Entries:
    """Columns: indicator, verdict, score, description, reference (only indicator required)."""
    entries: Entries = {}
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    for number, row in enumerate(csv.DictReader(io.StringIO("\n".join(lines))), start=2):
        try:
            indicator = classify(row.get("indicator") or "")
            entries[(indicator.type, indicator.value)] = _entry(
                row.get("verdict") or "",
                row.get("score") or "",
                row.get("description"),
                row.get("reference"),
            )
        except (InvalidIndicator, FeedError, ValueError) as exc:
            raise FeedError(f"row {number}: {exc}") from None
    return entries


def parse_list(text: str) -> Entries:
    """One indicator a line, all malicious; `#` starts a comment."""
    entries: Entries = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            indicator = classify(line)
        except InvalidIndicator as exc:
            raise FeedError(f"line {number}: {exc}") from None
        entries[(indicator.type, indicator.value)] = FeedEntry("malicious", 80)
    return entries


def _stix_values(pattern: str) -> list[str]:
    """The values of a simple pattern: comparisons with `=` joined by OR; else none."""
    values = []
    position = 0
    for match in _STIX_COMPARISON.finditer(pattern):
        if not _STIX_JOIN.fullmatch(pattern[position : match.start()]):
            return []
        values.append(re.sub(r"\\(.)", r"\1", match.group("value")))
        position = match.end()
    if pattern[position:].strip():
        return []
    return values


def _stix_active(item: dict[str, Any], now: datetime) -> bool:
    if item.get("revoked") is True:
        return False
    until = item.get("valid_until")
    if isinstance(until, str):
        try:
            return datetime.fromisoformat(until.replace("Z", "+00:00")) > now
        except ValueError:
            return True
    return True


def parse_stix(text: str) -> Entries:
    """Indicators with simple patterns from a STIX 2.1 bundle; others are ignored."""
    try:
        bundle = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise FeedError(f"not JSON: {exc}") from None
    if not isinstance(bundle, dict) or bundle.get("type") != "bundle":
        raise FeedError("expected a STIX 2.1 bundle")
    objects = bundle.get("objects") or []
    if not isinstance(objects, list):
        raise FeedError("bundle objects is not a list")
    entries: Entries = {}
    now = datetime.now(UTC)
    for item in objects:
        if not isinstance(item, dict) or item.get("type") != "indicator":
            continue
        pattern = item.get("pattern")
        if item.get("pattern_type", "stix") != "stix" or not isinstance(pattern, str):
            continue
        if not _stix_active(item, now):
            continue
        types = item.get("indicator_types") or ["malicious-activity"]
        verdicts = [STIX_TYPES.get(t, "suspicious") for t in types if isinstance(t, str)]
        verdict = next((v for v in ("malicious", "suspicious", "clean") if v in verdicts), None)
        confidence = item.get("confidence")
        score = confidence if isinstance(confidence, int) and 0 <= confidence <= 100 else ""
        entry = _entry(verdict or "suspicious", str(score), item.get("name"), None)
        for value in _stix_values(pattern):
            try:
                indicator = classify(value)
            except InvalidIndicator:
                continue
            entries[(indicator.type, indicator.value)] = entry
    return entries


def parse_feed(text: str) -> Entries:
    """Detect the format: a JSON bundle, a CSV with an `indicator` header, or a plain list."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("{"):
        return parse_stix(stripped)
    first = next(
        (line for line in stripped.splitlines() if line.strip() and not line.startswith("#")), ""
    )
    if "indicator" in [cell.strip().lower() for cell in first.split(",")]:
        return parse_csv(stripped)
    return parse_list(stripped)


def _parents(domain: str) -> list[str]:
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(1, len(labels) - 1)]


class LocalFeed:
    """Answers from a feed file (or the shipped example when `path` is empty)."""

    name = NAME
    external = False

    def __init__(self, path: str = "") -> None:
        self._path = path
        self._entries: Entries | None = None
        self._signature: tuple[int, int] | None = None
        self._lock = asyncio.Lock()

    @property
    def label(self) -> str:
        return os.path.basename(self._path) if self._path else "example feed"

    def supports(self, indicator: Indicator) -> bool:
        return True

    async def _current(self) -> Entries:
        if not self._path:
            if self._entries is None:
                text = resources.files("bot.intel.feeds").joinpath("example.csv").read_text()
                self._entries = parse_feed(text)
            return self._entries
        try:
            stat = os.stat(self._path)
            signature = (stat.st_mtime_ns, stat.st_size)
        except OSError as exc:
            return self._keep(f"cannot read the feed: {exc.strerror}")
        if signature != self._signature:
            async with self._lock:
                if signature != self._signature:
                    await self._reload(signature)
        return self._entries if self._entries is not None else self._keep("feed not loaded")

    def _keep(self, reason: str) -> Entries:
        if self._entries is None:
            raise SourceFailure(reason)
        return self._entries

    async def _reload(self, signature: tuple[int, int]) -> None:
        self._signature = signature  # a broken file is not re-parsed until it changes again
        try:
            text = await asyncio.to_thread(self._read)
            self._entries = parse_feed(text)
            log.info("local feed %s: %d indicators", self.label, len(self._entries))
        except (OSError, UnicodeDecodeError, FeedError) as exc:
            log.warning("local feed %s not reloaded, keeping the last data: %s", self.label, exc)

    def _read(self) -> str:
        with open(self._path, "rb") as handle:
            data = handle.read(MAX_FEED_BYTES + 1)
        if len(data) > MAX_FEED_BYTES:
            raise FeedError("feed file too large")
        return data.decode("utf-8")

    def _match(self, entries: Entries, indicator: Indicator) -> tuple[str, FeedEntry] | None:
        candidates = [(indicator.type, indicator.value)]
        host, host_type = indicator.host, indicator.host_type
        if indicator.type is IndicatorType.URL and host and host_type:
            candidates.append((host_type, host))
        if host and host_type is IndicatorType.DOMAIN:
            candidates.extend((IndicatorType.DOMAIN, parent) for parent in _parents(host))
        for key in candidates:
            if key in entries:
                return key[1], entries[key]
        return None

    async def lookup(self, indicator: Indicator) -> SourceResult:
        found = self._match(await self._current(), indicator)
        if found is None:
            return SourceResult(NAME, Status.NOT_FOUND)
        matched, entry = found
        evidence: dict[str, Any] = {
            "verdict": entry.verdict,
            "score": entry.score,
            "feed": self.label,
            "matched": matched,
        }
        if entry.description:
            evidence["description"] = entry.description
        return SourceResult(NAME, Status.OK, evidence, entry.reference)
