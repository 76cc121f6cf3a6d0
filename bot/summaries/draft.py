"""The draft of an executive summary, built from the incident record and its timeline.

Timeline rules (docs/summaries.md):
- actions taken: containment decisions and outcomes (approved, rejected, succeeded, failed,
  rollbacks), status and severity changes, closing, `approval` / `action` entries, and notes
  that start with `action:` or `done:`; newest last, the latest `max_items` shown.
- next steps: notes that start with `next:` (or `next step:` / `next steps:`).
- impact: the newest `impact:` note, or the impact of the last posted summary if newer.
Every query is bounded (LIMIT or one aggregate), so a long timeline stays fast.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.incidents import records
from bot.kernel import timefmt
from bot.store import Store

UNKNOWN_IMPACT = "unknown — please provide"
DEFAULT_MAX_ITEMS = 8
MAX_ITEM_TEXT = 300
MAX_IMPACT_TEXT = 1000
ISOLATED_HOSTS_SCANNED = 200

_NOTE_ACTION = "(LOWER(text) LIKE 'action:%' OR LOWER(text) LIKE 'done:%')"
_CONTAINMENT_DONE = (
    "(LOWER(text) LIKE '%: approved by %' OR LOWER(text) LIKE '%: rejected by %'"
    " OR LOWER(text) LIKE '% succeeded' OR LOWER(text) LIKE '% succeeded:%'"
    " OR LOWER(text) LIKE '% failed' OR LOWER(text) LIKE '% failed:%')"
)
ACTION_WHERE = (
    "(kind IN ('status', 'severity', 'closed', 'approval', 'action')"
    f" OR (kind = 'containment' AND {_CONTAINMENT_DONE})"
    f" OR (kind = 'note' AND {_NOTE_ACTION}))"
)
NEXT_WHERE = (
    "(kind = 'note' AND (LOWER(text) LIKE 'next:%' OR LOWER(text) LIKE 'next step:%'"
    " OR LOWER(text) LIKE 'next steps:%'))"
)
IMPACT_WHERE = "(kind = 'note' AND LOWER(text) LIKE 'impact:%')"
_PREFIX = re.compile(r"^\s*(?:action|done|next(?: steps?)?|impact)\s*:\s*", re.IGNORECASE)

# containment command -> (done, to do): "Isolated endpoint X", "Failed to isolate endpoint X".
_PHRASES = {
    "isolate-endpoint": ("Isolated endpoint", "isolate endpoint"),
    "block-domain": ("Blocked domain", "block domain"),
    "block-ip": ("Blocked IP address", "block IP address"),
    "block-url": ("Blocked URL", "block URL"),
    "block-hash": ("Blocked file hash", "block file hash"),
}
_OUTCOME = re.compile(
    r"^(?P<rollback>rollback of )?(?P<cmd>[a-z][a-z-]{2,40}) (?P<target>\S+) "
    r"(?P<state>succeeded|failed)(?::.*)?$",
    re.DOTALL,
)
_DECISION = re.compile(
    r"^(?P<title>.+?) \([^()]*\): (?P<verb>approved|rejected) by (?P<who>.+?)"
    r"(?: \(\d+\))?(?::.*)?$",
    re.DOTALL,
)
_ISOLATED = re.compile(r"(?:isolate-endpoint|isolate endpoint(?: \(selective\))?) (\S+)", re.I)


@dataclass
class Draft:
    incident_id: str
    title: str
    status: str
    severity: str
    impact: str  # "" while unknown
    actions_taken: list[str]
    next_steps: list[str]
    next_update_at: float | None
    prepared_by: str
    prepared_at: float
    actions_more: int = 0
    next_steps_more: int = 0
    kept_names: set[str] = field(default_factory=set)
    # Endpoints isolated in this incident: internal hosts even when no role glob names them.
    internal_hosts: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON for dialog state (sets become sorted lists)."""
        data = asdict(self)
        data["kept_names"] = sorted(self.kept_names)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Draft:
        values = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        values["kept_names"] = set(values.get("kept_names") or ())
        return cls(**values)


async def build_draft(
    store: Store,
    incident_id: str,
    *,
    now: float | None = None,
    prepared_by: str = "",
    max_items: int = DEFAULT_MAX_ITEMS,
    next_update_at: float | None = None,
    next_update_hours: float = 2.0,
) -> Draft:
    """The draft for `incident_id` (raises IncidentNotFound); `next_update_at` from a cadence."""
    now = time.time() if now is None else now
    incident = await records.get(store, incident_id)
    counts = await store.fetchone(
        f"SELECT SUM(CASE WHEN {ACTION_WHERE} THEN 1 ELSE 0 END) AS actions,"  # noqa: S608 - constant
        f" SUM(CASE WHEN {NEXT_WHERE} THEN 1 ELSE 0 END) AS nexts"
        " FROM incident_timeline WHERE incident_id = ?",
        incident_id,
    )
    actions = await _latest(store, incident_id, ACTION_WHERE, max_items)
    nexts = await _latest(store, incident_id, NEXT_WHERE, max_items)
    action_total = int((counts or {}).get("actions") or 0)
    next_total = int((counts or {}).get("nexts") or 0)
    return Draft(
        incident_id=incident.id,
        title=incident.title,
        status=incident.status.capitalize(),
        severity=incident.severity,
        impact=await _impact(store, incident_id),
        actions_taken=[_action_line(row, now) for row in actions],
        next_steps=[_clip(_PREFIX.sub("", row["text"]), MAX_ITEM_TEXT) for row in nexts],
        next_update_at=next_update_at if next_update_at else now + next_update_hours * 3600,
        prepared_by=prepared_by,
        prepared_at=now,
        actions_more=max(0, action_total - len(actions)),
        next_steps_more=max(0, next_total - len(nexts)),
        internal_hosts=await _isolated_hosts(store, incident_id),
    )


async def _latest(store: Store, incident_id: str, where: str, count: int) -> list[dict]:
    rows = await store.fetchall(
        "SELECT at, kind, text FROM incident_timeline"  # noqa: S608 - constant conditions
        f" WHERE incident_id = ? AND {where} ORDER BY at DESC, seq DESC LIMIT ?",
        incident_id,
        count,
    )
    return list(reversed(rows))


async def _impact(store: Store, incident_id: str) -> str:
    note = await store.fetchone(
        "SELECT at, text FROM incident_timeline"  # noqa: S608 - constant conditions
        f" WHERE incident_id = ? AND {IMPACT_WHERE} ORDER BY at DESC, seq DESC LIMIT 1",
        incident_id,
    )
    posted = await store.fetchone(
        "SELECT posted_at, impact FROM exec_summaries WHERE incident_id = ? AND impact <> ''"
        " ORDER BY posted_at DESC LIMIT 1",
        incident_id,
    )
    if posted and (note is None or float(posted["posted_at"]) > float(note["at"])):
        return _clip(posted["impact"], MAX_IMPACT_TEXT)
    if note:
        return _clip(_PREFIX.sub("", note["text"]), MAX_IMPACT_TEXT)
    return ""


async def _isolated_hosts(store: Store, incident_id: str) -> list[str]:
    rows = await store.fetchall(
        "SELECT text FROM incident_timeline WHERE incident_id = ? AND kind = 'containment'"
        " AND LOWER(text) LIKE '%isolate%endpoint %' ORDER BY seq DESC LIMIT ?",
        incident_id,
        ISOLATED_HOSTS_SCANNED,
    )
    hosts: dict[str, None] = {}
    for row in rows:
        for match in _ISOLATED.finditer(row["text"]):
            hosts.setdefault(match[1].rstrip(".,;:"), None)
    return list(hosts)


def _action_line(row: dict, now: float) -> str:
    text, kind = row["text"], row["kind"]
    if kind == "containment":
        text = _containment_line(text)
    elif kind == "note":
        text = _PREFIX.sub("", text)
    elif kind == "status":
        text = text.replace("Status ", "Status changed: ", 1)
    return f"{_clip(text, MAX_ITEM_TEXT)} ({timefmt.recent(float(row['at']), now)})"


def _containment_line(text: str) -> str:
    outcome = _OUTCOME.match(text)
    if outcome and outcome["cmd"] in _PHRASES:
        done, to_do = _PHRASES[outcome["cmd"]]
        target, succeeded = outcome["target"], outcome["state"] == "succeeded"
        if outcome["rollback"]:
            return f"{'Rolled back' if succeeded else 'Rollback failed'}: {to_do} {target}"
        return f"{done} {target}" if succeeded else f"Failed to {to_do} {target}"
    decision = _DECISION.match(text)
    if decision:
        return f"{decision['verb'].capitalize()}: {decision['title']} (by {decision['who']})"
    return text


def _clip(text: str, limit: int) -> str:
    text = records.clean_text(text, limit + 1)
    return text if len(text) <= limit else text[: limit - 1] + "…"
