"""`playbook list | run | status | runs`: start SOAR automation from chat and follow it."""

from __future__ import annotations

import cards
from bot.incidents.records import IncidentNotFound
from bot.incidents.records import get as get_incident
from bot.incidents.records import normalise_id as normalise_incident
from bot.kernel.commands import CommandSet, Invocation, Option, Param, Reply, UsageError
from bot.kernel.errors import Refused
from bot.kernel.rbac import Role
from bot.playbooks import records, runs
from bot.playbooks.config import Playbook
from bot.playbooks.presentation import run_card_data, summary_line

COMMANDS = CommandSet(group="playbooks")
SUBCOMMANDS = ("list", "run", "status", "runs")
MAX_VALUE = 500


@COMMANDS.command(
    "playbook",
    summary="SOAR playbooks: list, run NAME [INC-…] [key=value …], status PB-…, runs [--open]",
    role=Role.ANALYST,
    mutating=True,
    params=(
        Param("action", " | ".join(SUBCOMMANDS)),
        Param("words", "the playbook or run, and the inputs", required=False, rest=True),
    ),
    options=(Option("--open", "runs: only runs still open"),),
    examples=(
        "playbook list",
        "playbook run phishing-triage INC-20240502-003 mailbox=dana@contoso.com",
        "playbook status PB-20240502-001",
        "playbook runs --open",
    ),
)
async def playbook(call: Invocation) -> Reply:
    action = call.args["action"].lower()
    words: list[str] = call.args["words"] or []
    if action == "list":
        return _list(call)
    if action == "run":
        return await _run(call, words)
    if action == "status":
        return await _status(call, words)
    if action == "runs":
        return await _runs(call)
    raise UsageError(f"unknown action {action[:40]!r}; use one of {', '.join(SUBCOMMANDS)}")


def _list(call: Invocation) -> Reply:
    mine = [p for p in runs.configured(call.services).items if call.actor.has(p.role)]
    if not mine:
        return Reply(text="No playbook you may run is configured.", audit_target="list")
    lines = [f"{p.name}: {p.title} (inputs: {', '.join(p.inputs) or 'none'})" for p in mine]
    return Reply(text="Playbooks you may run:\n" + "\n".join(lines), audit_target="list")


async def _run(call: Invocation, words: list[str]) -> Reply:
    if not words:
        raise UsageError("usage: playbook run NAME [INC-…] [key=value …]")
    found = runs.configured(call.services).find(words[0])
    if found is None:
        raise Refused(f"No playbook named {words[0][:60]!r}; see `playbook list`.", "unknown")
    if not call.actor.has(found.role):
        raise Refused(
            f"Playbook {found.name} needs the {found.role.value} role.", "role", target=found.name
        )
    if found.approval:
        raise Refused(
            f"Playbook {found.name} needs an approval first; approval playbooks are not"
            " supported yet.",
            "approval playbooks not supported yet",
            target=found.name,
        )
    incident_id, inputs = _arguments(found, words[1:])
    if incident_id:
        try:
            await get_incident(call.services.store, incident_id)
        except IncidentNotFound:
            raise UsageError(f"no incident {incident_id}") from None
    run = await runs.start_run(
        call.services,
        found,
        inputs=inputs,
        incident_id=incident_id,
        actor=call.actor,
        conversation_id=call.conversation.id,
        correlation_id=call.correlation_id,
    )
    said = f"{run.id} ({found.name}): {run.status}"
    if run.detail:
        said += f": {run.detail}"
    result = "error" if run.status == "failed" else "ok"
    return Reply(text=said, audit_target=run.id, audit_result=result)


def _arguments(playbook: Playbook, words: list[str]) -> tuple[str, dict[str, str]]:
    """The incident id (or "") and the inputs; a UsageError names what is missing or unknown."""
    incident_id = ""
    inputs: dict[str, str] = {}
    for word in words:
        key, equals, value = word.partition("=")
        if not equals:
            canonical = normalise_incident(word)
            if canonical is None or incident_id:
                raise UsageError(f"expected key=value or one INC id, not {word[:60]!r}")
            incident_id = canonical
            continue
        if key not in playbook.inputs:
            known = ", ".join(playbook.inputs) or "none"
            raise UsageError(f"{playbook.name} has no input {key[:40]!r}; its inputs: {known}")
        if not value or len(value) > MAX_VALUE:
            raise UsageError(f"{key}: expected a value of 1 to {MAX_VALUE} characters")
        inputs[key] = value
    missing = [name for name in playbook.inputs if name not in inputs]
    if missing:
        raise UsageError(
            f"{playbook.name} needs {', '.join(missing)}: playbook run {playbook.name} "
            + " ".join(f"{name}=…" for name in missing)
        )
    return incident_id, {name: inputs[name] for name in playbook.inputs}


async def _status(call: Invocation, words: list[str]) -> Reply:
    run_id = records.normalise_id(words[0]) if words else None
    if run_id is None:
        raise UsageError("usage: playbook status PB-YYYYMMDD-NNN")
    try:
        run = await records.get(call.services.store, run_id)
    except records.RunNotFound:
        raise Refused(f"No playbook run {run_id}.", "unknown", target=run_id) from None
    playbook = runs.configured(call.services).find(run.playbook)
    events = await records.events(call.services.store, run.id)
    card = cards.render(runs.TEMPLATE, run_card_data(playbook, run, events))
    return Reply(card=card, audit_target=run.id)


async def _runs(call: Invocation) -> Reply:
    found = await records.recent(call.services.store, open_only=bool(call.args["open"]))
    if not found:
        return Reply(text="No playbook runs" + (" open." if call.args["open"] else " yet."))
    return Reply(text="\n".join(summary_line(run) for run in found), audit_target="runs")
