"""Post-incident review material: the incident and its whole timeline as Markdown or JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from bot.incidents.records import Incident
from bot.incidents.timeline import Entry
from bot.kernel import timefmt

FORMATS = ("md", "json")


def when(at: float | None) -> str:
    return timefmt.date_time(at, seconds=True)


def to_json(incident: Incident, timeline: Sequence[Entry]) -> str:
    document: dict[str, Any] = {
        "incident": {**asdict(incident), "openedAt": when(incident.opened_at)},
        "timeline": [{**asdict(entry), "time": when(entry.at)} for entry in timeline],
    }
    for private in ("card_conversation_id", "card_activity_id"):
        document["incident"].pop(private)
    return json.dumps(document, indent=2, ensure_ascii=False)


def to_markdown(incident: Incident, timeline: Sequence[Entry]) -> str:
    lines = [
        f"# {incident.id}: {_md(incident.title)}",
        "",
        f"- Severity: {incident.severity}",
        f"- Status: {incident.status}",
        f"- Opened: {when(incident.opened_at)} by {_md(incident.opened_by_name)}",
        f"- Commander: {_md(incident.commander_name) or 'unassigned'}",
        f"- Scribe: {_md(incident.scribe_name) or 'unassigned'}",
    ]
    if incident.closed_at is not None:
        lines.append(f"- Closed: {when(incident.closed_at)}")
    if incident.channel_name:
        lines.append(f"- Channel: {_md(incident.channel_name)}")
    if incident.alert_id:
        lines.append(f"- Alert: {_md(incident.alert_id)}")
    if incident.description:
        lines += ["", "## Description", "", _md(incident.description)]
    if incident.indicators:
        lines += ["", "## Indicators", ""]
        lines += [f"- `{value.replace('`', '')}`" for value in incident.indicators]
    if incident.summary:
        lines += ["", "## Summary", "", _md(incident.summary)]
    lines += ["", f"## Timeline ({len(timeline)} entries)", ""]
    lines += ["| time (UTC) | who | kind | what |", "|---|---|---|---|"]
    for entry in timeline:
        at = timefmt.date_time(entry.at, seconds=True, label=False)
        lines.append(f"| {at} | {_cell(entry.actor)} | {entry.kind} | {_cell(entry.text)} |")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    """User text as literal Markdown: characters that would format or link are escaped."""
    return "".join("\\" + ch if ch in "\\`*_[]<>#|!~" else ch for ch in text)


def _cell(text: str) -> str:
    return _md(text).replace("\n", " ")
