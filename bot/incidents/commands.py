"""Chat commands: create-incident, incident <show|status|severity|assign|note|list|close|timeline|
export>, incident-team, and the "Retry channel" button."""

from __future__ import annotations

import logging
import time

import cards
from bot.incidents import channel, records, timeline
from bot.incidents.events import IncidentClosed
from bot.incidents.export import to_json, to_markdown
from bot.incidents.opening import open_incident, parse_indicators, parse_severity
from bot.incidents.presentation import RETRY_VERB, current_card, where_text
from bot.incidents.records import Incident, IncidentNotFound, Status
from bot.kernel import timefmt, user_directory
from bot.kernel.commands import ActionCall, CommandSet, Invocation, Option, Param, Reply, UsageError
from bot.kernel.hooks import publish
from bot.kernel.messenger import DeliveryFailed, Message
from bot.kernel.rbac import Actor, Role
from bot.kernel.services import Services

log = logging.getLogger(__name__)
COMMANDS = CommandSet(group="incidents")
TIMELINE_CARD_ENTRIES = 20
# Teams shows messages up to about 28 KB; longer exports point at the CLI.
MAX_CHAT_EXPORT = 20_000
SUBCOMMANDS = (
    "show",
    "status",
    "severity",
    "assign",
    "note",
    "list",
    "close",
    "timeline",
    "export",
)


@COMMANDS.command(
    "create-incident",
    summary="Open an incident with its own Teams channel (no arguments: I ask)",
    role=Role.ANALYST,
    mutating=True,
    params=(
        Param("severity", "low, medium, high or critical", required=False),
        Param("title", "a short title", required=False, rest=True),
    ),
    options=(
        Option("--ioc", "related indicators, comma separated", takes_value=True),
        Option("--alert", "the alert id it came from", takes_value=True),
        Option("--description", "a short description", takes_value=True),
    ),
    examples=(
        'create-incident high "Phishing wave finance" --ioc evil.example.com',
        "create-incident",
    ),
)
async def create_incident(call: Invocation) -> Reply:
    args = call.args
    if args["severity"] is None:
        return Reply(dialog="incident", audit_detail="dialog started")
    severity = parse_severity(args["severity"])
    title = " ".join(args["title"] or [])
    if not title.strip():
        raise UsageError("missing title")
    incident = await open_incident(
        call.services,
        call.actor,
        call.conversation,
        title=title,
        severity=severity,
        description=args["description"] or "",
        indicators=parse_indicators(args["ioc"]),
        alert_id=args["alert"] or "",
        correlation_id=call.correlation_id,
    )
    return await answer(call.services, incident, created=True)


async def answer(services: Services, incident: Incident, *, created: bool = False) -> Reply:
    """The requester's answer: the card, and a line saying where the incident lives."""
    card = await current_card(services.store, incident)
    return Reply(text=where_text(incident, created=created), card=card, audit_target=incident.id)


@COMMANDS.command(
    "incident",
    summary="Work on an incident: show, status, severity, assign, note, list, close, timeline, "
    "export (in its channel, or name the INC id)",
    role=Role.ANALYST,
    mutating=True,
    params=(
        Param("action", " | ".join(SUBCOMMANDS)),
        Param("words", "the incident id and the action's arguments", required=False, rest=True),
    ),
    options=(
        Option("--open", "list: only open incidents"),
        Option("--summary", "close: the closing summary", takes_value=True),
        Option("--format", "export: md or json", takes_value=True, choices=("md", "json")),
    ),
    examples=(
        "incident show",
        "incident status contained",
        "incident assign commander Cam Commander",
        "incident note Isolated WS-FIN-0231",
        "incident list --open",
        'incident close --summary "Phishing contained, no data loss"',
        "incident export INC-20240502-003 --format md",
    ),
)
async def incident(call: Invocation) -> Reply:
    action = call.args["action"].lower()
    if action not in SUBCOMMANDS:
        raise UsageError(f"unknown action {action[:40]!r}; use one of {', '.join(SUBCOMMANDS)}")
    words = list(call.args["words"] or [])
    if action == "list":
        if words:
            raise UsageError("list takes no arguments but --open")
        return await _list(call.services, call.args["open"])
    found = await _target(call, words)
    if isinstance(found, Reply):
        return found
    target, words = found
    handler = _HANDLERS[action]
    return await handler(call, target, words)


async def _target(call: Invocation, words: list[str]) -> tuple[Incident, list[str]] | Reply:
    """The incident named by an INC id among the words, else the one whose channel this is."""
    store = call.services.store
    for index, word in enumerate(words):
        incident_id = records.normalise_id(word)
        if incident_id:
            try:
                return await records.get(store, incident_id), words[:index] + words[index + 1 :]
            except IncidentNotFound:
                return Reply(text=f"There is no incident {incident_id}.", audit_result="refused")
    found = await records.for_channel(store, call.conversation.channel_id or call.conversation.id)
    if found is None:
        raise UsageError("name the incident (INC-YYYYMMDD-NNN) or run this in its channel")
    return found, words


def _commander_refusal(actor: Actor, incident: Incident, what: str) -> Reply | None:
    if actor.aad_object_id == incident.commander_id and actor.aad_object_id:
        return None
    if actor.has(Role.COMMANDER):
        return None
    commander = incident.commander_name or "nobody yet"
    return Reply(
        text=f"Only the incident commander of {incident.id} ({commander}) or someone with the "
        f"commander role can {what}.",
        audit_target=incident.id,
        audit_result="refused",
        audit_detail="not the incident commander",
    )


async def _show(call: Invocation, target: Incident, words: list[str]) -> Reply:
    _no_more(words)
    return await answer(call.services, target)


async def _status(call: Invocation, target: Incident, words: list[str]) -> Reply:
    wanted = _one_word(words, "status", tuple(s.value for s in Status))
    refusal = _commander_refusal(call.actor, target, "change its status")
    if refusal:
        return refusal
    if wanted == Status.CLOSED:
        raise UsageError('close with `incident close --summary "..."`')
    if not target.is_open:
        raise UsageError(f"{target.id} is closed")
    await records.update(call.services.store, target.id, status=wanted)
    return await _changed(call, target, "status", f"Status {target.status} → {wanted}")


async def _severity(call: Invocation, target: Incident, words: list[str]) -> Reply:
    wanted = parse_severity(_one_word(words, "severity", ())).value
    refusal = _commander_refusal(call.actor, target, "change its severity")
    if refusal:
        return refusal
    await records.update(call.services.store, target.id, severity=wanted)
    return await _changed(call, target, "severity", f"Severity {target.severity} → {wanted}")


async def _assign(call: Invocation, target: Incident, words: list[str]) -> Reply:
    if len(words) < 2 or words[0].lower() not in ("commander", "scribe"):
        raise UsageError("assign commander|scribe <name, UPN or object id>")
    role = words[0].lower()
    refusal = _commander_refusal(call.actor, target, f"assign its {role}")
    if refusal:
        return refusal
    person_id, name = await _person(call.services, " ".join(words[1:]))
    await records.update(
        call.services.store, target.id, **{f"{role}_id": person_id, f"{role}_name": name}
    )
    return await _changed(call, target, "assign", f"{role.capitalize()}: {name}")


async def _note(call: Invocation, target: Incident, words: list[str]) -> Reply:
    text = " ".join(words).strip()
    if not text:
        raise UsageError("note needs some text")
    await timeline.add_timeline(call.services.store, target.id, call.actor.name, "note", text)
    await _refresh_channel_card(call.services, target.id)
    return Reply(text=f"Noted on {target.id}.", audit_target=target.id)


async def _close(call: Invocation, target: Incident, words: list[str]) -> Reply:
    summary = (call.args["summary"] or " ".join(words)).strip()
    if not summary:
        raise UsageError('close needs --summary "what happened and how it ended"')
    refusal = _commander_refusal(call.actor, target, "close it")
    if refusal:
        return refusal
    if not target.is_open:
        raise UsageError(f"{target.id} is already closed")
    await records.update(
        call.services.store,
        target.id,
        status=Status.CLOSED.value,
        closed_at=time.time(),
        summary=records.clean_text(summary, records.MAX_DESCRIPTION),
    )
    # Subscribers: summaries ends the exec-summary cadence and offers a final summary.
    await publish(call.services, IncidentClosed(target, call.actor))
    return await _changed(call, target, "closed", f"Closed: {summary}")


async def _timeline(call: Invocation, target: Incident, words: list[str]) -> Reply:
    _no_more(words)
    latest, total = await timeline.latest(call.services.store, target.id, TIMELINE_CARD_ENTRIES)
    card = cards.render(
        "audit_list",
        {
            "title": f"{target.id} timeline: last {len(latest)} of {total}",
            "chainStatus": f"{target.title} ({target.status})",
            "entries": [
                {
                    "at": timefmt.date_time(entry.at),
                    "actor": entry.actor,
                    "action": entry.kind,
                    "target": entry.text,
                    "outcome": "",
                }
                for entry in latest
            ],
        },
    )
    return Reply(card=card, audit_target=target.id)


async def _export(call: Invocation, target: Incident, words: list[str]) -> Reply:
    _no_more(words)
    fmt = call.args["format"] or "md"
    entries = await timeline.entries(call.services.store, target.id)
    text = to_json(target, entries) if fmt == "json" else to_markdown(target, entries)
    if fmt == "json":
        text = f"```json\n{text}\n```"
    if len(text) > MAX_CHAT_EXPORT:
        text = (
            text[:MAX_CHAT_EXPORT]
            + "\n\n… cut here. The whole export: "
            + f"`vigil incident export {target.id} --format {fmt}`"
        )
    await timeline.add_timeline(
        call.services.store, target.id, call.actor.name, "export", f"Timeline exported ({fmt})"
    )
    return Reply(text=text, audit_target=target.id)


async def _list(services: Services, open_only: bool) -> Reply:
    found = await records.recent(services.store, open_only=open_only)
    if not found:
        return Reply(text="No open incidents." if open_only else "No incidents yet.")
    lines = [f"{'Open incidents' if open_only else 'Latest incidents'}:"]
    for item in found:
        commander = item.commander_name or "unassigned"
        lines.append(
            f"- **{item.id}** [{item.severity}] {records.clean_text(item.title, 80)} — "
            f"{item.status}, commander {commander}"
        )
    return Reply(text="\n".join(lines))


async def _changed(call: Invocation, target: Incident, kind: str, text: str) -> Reply:
    await timeline.add_timeline(call.services.store, target.id, call.actor.name, kind, text)
    await _refresh_channel_card(call.services, target.id)
    updated = await records.get(call.services.store, target.id)
    reply = await answer(call.services, updated)
    reply.text = f"{target.id}: {text}"
    return reply


async def _refresh_channel_card(services: Services, incident_id: str) -> None:
    """Keep the card at the top of the incident channel current; a failure only loses that."""
    current = await records.get(services.store, incident_id)
    if not (current.card_conversation_id and current.card_activity_id and services.messenger):
        return
    card = await current_card(services.store, current)
    try:
        await services.messenger.update(
            current.card_conversation_id, current.card_activity_id, Message(card=card), paced=True
        )
    except DeliveryFailed as exc:
        log.warning("incident %s: channel card not updated: %s", incident_id, exc)


async def _person(services: Services, text: str) -> tuple[str, str]:
    """A user Vigil has seen, by object id, UPN or display name (a typed @ is ignored)."""
    wanted = text.strip().lstrip("@").strip()
    if not wanted:
        raise UsageError("name the person")
    row = await services.store.fetchone(
        "SELECT aad_object_id, name FROM users WHERE aad_object_id = ? OR LOWER(upn) = ?"
        " OR LOWER(name) = ? ORDER BY last_seen DESC",
        wanted,
        wanted.lower(),
        wanted.lower(),
    )
    if row is None:
        known = await user_directory.get(services.store, wanted)
        if known is None:
            raise UsageError(
                f"I don't know {records.clean_text(wanted, 60)!r}; they need to have talked to "
                "Vigil once, or give their Entra object id"
            )
        return known.aad_object_id, known.name or wanted
    return row["aad_object_id"], row["name"] or wanted


def _one_word(words: list[str], what: str, choices: tuple[str, ...]) -> str:
    if len(words) != 1:
        hint = f" ({'|'.join(choices)})" if choices else ""
        raise UsageError(f"{what} needs one value{hint}")
    value = words[0].lower()
    if choices and value not in choices:
        raise UsageError(f"{what} must be one of {', '.join(choices)}")
    return value


def _no_more(words: list[str]) -> None:
    if words:
        raise UsageError(f"unexpected {' '.join(words)[:60]}")


_HANDLERS = {
    "show": _show,
    "status": _status,
    "severity": _severity,
    "assign": _assign,
    "note": _note,
    "close": _close,
    "timeline": _timeline,
    "export": _export,
}


@COMMANDS.command(
    "incident-team",
    summary="Show, or set with `use this`, the team that gets incident channels",
    role=Role.ADMIN,
    mutating=True,
    params=(Param("words", "use this", required=False, rest=True),),
    examples=("incident-team use this", "incident-team"),
)
async def incident_team(call: Invocation) -> Reply:
    words = [word.lower() for word in call.args["words"] or []]
    if not words:
        current = await channel.incident_team(call.services)
        return Reply(text=f"Incident team: {current or 'not set'}.")
    if words != ["use", "this"]:
        raise UsageError("say `incident-team use this` in a channel of the team")
    conversation = call.conversation
    if not conversation.team_aad_group_id:
        raise UsageError("this is not a team channel (or Teams sent no team id); say it in a team")
    await channel.remember_team(
        call.services, conversation.team_aad_group_id, conversation.team_id, ""
    )
    return Reply(
        text=f"Incident channels will be created in this team ({conversation.team_aad_group_id}).",
        audit_target=conversation.team_aad_group_id,
    )


@COMMANDS.action(RETRY_VERB, role=Role.ANALYST)
async def retry_channel(call: ActionCall) -> Reply:
    incident_id = records.normalise_id(str(call.data.get("incidentId", "")))
    if incident_id is None:
        raise UsageError("This button names no incident.")
    services = call.services
    try:
        target = await records.get(services.store, incident_id)
    except IncidentNotFound:
        raise UsageError(f"There is no incident {incident_id}.") from None
    if not target.channel_id:
        # Two clicks (or two instances) must not create two channels.
        if not await services.store.claim_once("incident-channel", incident_id, 15):
            return Reply(text="A retry is already running.", audit_target=incident_id)
        await timeline.add_timeline(
            services.store, incident_id, call.actor.name, "channel", "Channel creation retried"
        )
    # With a channel already there this only posts the card if that had failed.
    target = await channel.provision(services, target, call.actor.aad_object_id)
    reply = await answer(services, target)
    reply.audit_target = incident_id
    return reply
