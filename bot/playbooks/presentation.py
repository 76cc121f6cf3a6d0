"""The run card's data: every step in seq order with its status, time and a short output.

Output is the SOAR's text: it is bound as data (the cards engine escapes it), shortened here and
redacted by the Messenger on the way out."""

from __future__ import annotations

from typing import Any

from bot.kernel.timefmt import clock
from bot.playbooks.config import Playbook
from bot.playbooks.records import Event, Run

MAX_OUTPUT = 300
MAX_PROMPT = 300


def run_card_data(playbook: Playbook | None, run: Run, events: list[Event]) -> dict[str, Any]:
    title = playbook.title if playbook is not None else run.playbook
    return {
        "title": f"Playbook: {title}",
        "runId": run.id,
        "status": run.status,
        "requestedBy": run.requested_by_name or run.requested_by_id,
        "incident": run.incident_id or "none",
        "inputs": ", ".join(f"{key}={value}" for key, value in run.inputs.items()) or "none",
        "detail": run.detail,
        "steps": [_step(event) for event in events],
        "stepsMore": "",
    }


def summary_line(run: Run) -> str:
    """One line for `playbook runs`."""
    incident = f" on {run.incident_id}" if run.incident_id else ""
    return f"{run.id} {run.playbook}{incident}: {run.status} (asked by {run.requested_by_name})"


def _step(event: Event) -> dict[str, str]:
    prompt = event.task.get("prompt") if event.status == "waiting" else None
    return {
        "seq": str(event.seq),
        "step": event.step,
        "status": event.status,
        "at": clock(event.at),
        "output": _short(event.output, MAX_OUTPUT),
        "prompt": _short(prompt, MAX_PROMPT) if isinstance(prompt, str) else "",
    }


def _short(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
