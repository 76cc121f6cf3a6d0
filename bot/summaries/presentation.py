"""A draft as `exec_summary` card data: redacted for executives, lists capped with "and N more"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.kernel import timefmt
from bot.summaries.draft import UNKNOWN_IMPACT, Draft
from bot.summaries.redaction import redact
from bot.summaries.settings import RolePolicy

IMPACT_PENDING = "Being assessed."
NO_ACTIONS = "No actions recorded yet."


def card_data(
    draft: Draft,
    policy: RolePolicy,
    pii: Callable[[str], str],
    *,
    preview: bool = False,
) -> dict[str, Any]:
    """What the exec channel sees; `preview` shows an unknown impact as a request to the author.

    `pii` (the Redactor's configured PII) runs first: defanging and role substitution change an
    e-mail address or a phone number into something the PII patterns no longer recognise."""

    def clean(text: str) -> str:
        return redact(pii(text), policy, keep=draft.kept_names, hosts=draft.internal_hosts)

    now = draft.prepared_at
    impact = draft.impact or (UNKNOWN_IMPACT if preview else IMPACT_PENDING)
    return {
        "incidentId": draft.incident_id,
        "title": clean(draft.title),
        "status": clean(draft.status),
        "severity": draft.severity,
        "nextUpdateAt": timefmt.recent(draft.next_update_at, now)
        if draft.next_update_at
        else "not planned",
        "impact": clean(impact),
        "actionsTaken": [clean(line) for line in draft.actions_taken] or [NO_ACTIONS],
        "actionsTakenMore": _more(draft.actions_more),
        "nextSteps": [clean(line) for line in draft.next_steps],
        "nextStepsMore": _more(draft.next_steps_more),
        "preparedBy": draft.prepared_by,
        "preparedAt": timefmt.recent(now, now),
    }


def plain_text(data: dict[str, Any]) -> str:
    """The card data as one line of text, for the incident timeline's copy."""
    parts = [
        f"Status: {data['status']} ({data['severity']})",
        f"Impact: {data['impact']}",
        "Actions taken: " + "; ".join(data["actionsTaken"]) + _tail(data["actionsTakenMore"]),
    ]
    if data["nextSteps"]:
        parts.append("Next steps: " + "; ".join(data["nextSteps"]) + _tail(data["nextStepsMore"]))
    parts.append(f"Next update: {data['nextUpdateAt']}")
    return " | ".join(parts)


def _more(count: int) -> str:
    return f"and {count} more" if count > 0 else ""


def _tail(more: str) -> str:
    return f" ({more})" if more else ""
