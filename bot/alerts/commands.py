"""Chat commands (`alerts recent | snooze | route-test`) and the alert card buttons."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import cards
from bot.alerts import mentions, outbox, repository
from bot.alerts.ingest import wake_event
from bot.alerts.model import Alert, InvalidAlert
from bot.alerts.normalise import SOURCES, normalise
from bot.alerts.pipeline import describe, resolve_channel
from bot.alerts.presentation import alert_card_data, when, with_mentions
from bot.alerts.routing import Routes
from bot.alerts.settings import AlertSettings
from bot.kernel import conversation_refs
from bot.kernel.commands import ActionCall, CommandSet, Invocation, Option, Param, Reply, UsageError
from bot.kernel.config import RawConfig
from bot.kernel.messenger import DeliveryFailed, Message
from bot.kernel.rbac import Role
from bot.kernel.request_body import BodyRejected, parse_json
from bot.kernel.services import Services
from bot.store import Store

log = logging.getLogger(__name__)

COMMANDS = CommandSet(group="alerts")
MAX_SNOOZE = 7 * 24 * 3600
RECENT = 15
_DURATION = re.compile(r"(\d+)\s*([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
ENRICHABLE = ("ip", "domain", "url", "hash")


def parse_duration(text: str) -> int:
    match = _DURATION.fullmatch(text.strip().lower())
    if not match:
        raise UsageError("duration like 30m, 2h or 1d")
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if not 60 <= seconds <= MAX_SNOOZE:
        raise UsageError("duration from 1m to 7d")
    return seconds


@COMMANDS.command(
    "alerts",
    summary="Recent alerts, snooze a rule (responder), or test where an alert would go",
    role=Role.ANALYST,
    params=(
        Param("what", "recent | snooze | route-test", required=False),
        Param("args", rest=True, required=False),
    ),
    options=(
        Option("--host", "snooze only this host", takes_value=True),
        Option("--source", "route-test source", takes_value=True),
    ),
    examples=(
        "alerts recent",
        "alerts snooze NodeDown --host web-01 2h",
        'alerts route-test {"title": "t", "severity": "high"}',
    ),
)
async def alerts(call: Invocation) -> Reply:
    what = (call.args["what"] or "recent").lower()
    words: list[str] = call.args["args"] or []
    if what == "recent":
        return await recent_reply(call.services)
    if what == "snooze":
        if not call.actor.has(Role.RESPONDER):
            return Reply(text="alerts snooze needs the responder role", audit_result="refused")
        if len(words) != 2:
            raise UsageError("alerts snooze <rule> [--host h] <duration>")
        return await snooze(
            call.services,
            words[0],
            call.args["host"] or "",
            parse_duration(words[1]),
            call.actor.name,
        )
    if what == "route-test":
        text = call.text.split("route-test", 1)[1] if "route-test" in call.text else ""
        text = re.sub(r"--source\s+\S+", "", text)
        return Reply(
            text=await route_test(
                call.services.raw_config,
                call.services.store,
                call.args["source"] or "generic",
                text.encode(),
            )
        )
    raise UsageError(
        "alerts recent | alerts snooze <rule> [--host h] <duration> | alerts route-test <json>"
    )


async def recent_reply(services: Services) -> Reply:
    rows = await repository.recent(services.store, RECENT)
    if not rows:
        return Reply(text="No alerts yet.")
    states = {
        0: "waiting",
        1: "routed",
        2: "dropped/snoozed",
        3: "no channel",
        4: "recorded",
        5: "failed",
    }
    lines = [
        f"- {when(a.last_seen)} {a.severity.value.upper()} {a.title[:80]} ({a.source}, {a.id},"
        f" {states.get(int(c['routed']), '?')}{', rule ' + c['route'] if c['route'] else ''})"
        for a, c in rows
    ]
    return Reply(text="Recent alerts:\n" + "\n".join(lines))


async def snooze(services: Services, rule: str, host: str, seconds: int, who: str) -> Reply:
    until = time.time() + seconds
    await services.store.execute(
        "INSERT INTO alert_snoozes (rule, host, until, snoozed_by) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (rule, host) DO UPDATE SET until = excluded.until,"
        " snoozed_by = excluded.snoozed_by",
        rule[:300],
        host[:300],
        until,
        who[:200],
    )
    scope = f" on {host}" if host else ""
    return Reply(text=f"Snoozed {rule}{scope} until {when(until)}.", audit_target=f"{rule}{scope}")


async def route_test(raw: RawConfig, store: Store, source: str, body: bytes) -> str:
    """Which rule and channel each alert in the body would take; nothing is stored or posted."""
    if source not in SOURCES:
        raise UsageError(f"source must be one of {', '.join(SOURCES)}")
    settings = AlertSettings.load(raw)
    routes = Routes.load(raw)
    try:
        results = normalise(source, parse_json(body), settings.elastic_fields)
    except (BodyRejected, InvalidAlert) as exc:
        raise UsageError(f"not a {source} alert: {exc}") from None
    lines = []
    for item in results:
        if isinstance(item, InvalidAlert):
            lines.append(f"- rejected: {item}")
            continue
        decision = routes.decide(item)
        conversation = await resolve_channel(store, decision.channel)
        lines.append(
            f"- {item.severity.value} {item.title[:80]}: {describe(decision, conversation)}"
        )
    return "\n".join(lines)


# Card buttons. The pipeline checks roles and audits each click; these only do the work.


MAX_ALERT_ID = 100


async def _alert_and_group(call: ActionCall) -> tuple[Alert, dict[str, Any] | None]:
    alert_id = call.data.get("alertId")
    if not isinstance(alert_id, str) or not alert_id.strip():
        raise UsageError("This card names no alert (alertId missing); nothing was changed.")
    if len(alert_id) > MAX_ALERT_ID or not alert_id.isprintable():
        raise UsageError("This card's alertId is not an alert id; nothing was changed.")
    found = await repository.get(call.services.store, alert_id.strip())
    if found is None:
        raise UsageError("That alert is not known here; nothing was changed.")
    alert, columns = found
    group = (
        await outbox.current(call.services.store, columns["group_id"])
        if columns["group_id"]
        else None
    )
    return alert, group


async def _in_thread(call: ActionCall, reply: Reply) -> bool:
    """Post a reply under the clicked card (the channel thread); False when that cannot be done."""
    messenger = call.services.messenger
    if messenger is None:
        return False
    base = conversation_refs.base_conversation_id(call.conversation.id)
    try:
        # Reply to Activity on the card's message: Teams shows it in the card's thread. Not
        # paced: it answers the click now, as a turn's reply does.
        await messenger.post(
            base, Message(text=reply.text or "", card=reply.card), reply_to=call.activity_id
        )
    except DeliveryFailed as exc:
        log.warning("could not post the %s answer in the thread: %s", call.action.verb, exc)
        return False
    return True


async def _card(call: ActionCall, alert: Alert, group: dict[str, Any] | None) -> dict[str, Any]:
    """The alert card as this viewer may use it (buttons for analysts and up), with its mentions."""
    shown = group or {"status": alert.status.value, "count": 1, "last_seen": alert.last_seen}
    members = await repository.on_card(call.services.store, group["id"], 1000) if group else None
    data = alert_card_data(alert, shown, members=members)
    data["canAct"] = call.actor.has(Role.ANALYST)
    # Redacted before render as well as on the way out: render cuts long text, and a secret or
    # token cut short no longer matches.
    template = (
        Routes.load(call.services.raw_config).template_for(group["route"]) if group else "alert"
    )
    card = cards.render(template, call.services.redactor.redact_data(data))
    # The same Notify line delivery posted: a re-render without it would drop the mentions.
    wanted = mentions.wanted_by(group)
    return with_mentions(card, await mentions.resolve(call.services.store, wanted))


@COMMANDS.action("alert.ack", role=Role.ANALYST)
async def ack(call: ActionCall) -> Reply:
    alert, group = await _alert_and_group(call)
    if call.refresh or group is None:
        return Reply(card=await _card(call, alert, group), audit_target=alert.id)
    if not group["acked_by"]:
        await call.services.store.execute(
            "UPDATE alert_groups SET acked_by = ?, acked_at = ?, version = version + 1,"
            " state = CASE WHEN state = 'dead' THEN 'dead' ELSE 'pending' END,"
            " next_attempt_at = CASE WHEN state = 'sent' THEN ? ELSE next_attempt_at END"
            " WHERE id = ? AND acked_by IS NULL",
            call.actor.name[:200],
            time.time(),
            time.time(),
            group["id"],
        )
        wake_event(call.services).set()
    group = await outbox.current(call.services.store, group["id"])
    return Reply(card=await _card(call, alert, group), audit_target=alert.id)


@COMMANDS.action("alert.refresh", role=Role.ANALYST, mutating=False)
async def refresh(call: ActionCall) -> Reply:
    alert, group = await _alert_and_group(call)
    return Reply(card=await _card(call, alert, group), audit_target=alert.id)


@COMMANDS.action("alert.snooze", role=Role.RESPONDER)
async def snooze_button(call: ActionCall) -> Reply:
    alert, _ = await _alert_and_group(call)
    minutes = call.data.get("minutes", 60)
    if (
        not isinstance(minutes, int)
        or isinstance(minutes, bool)
        or not 1 <= minutes <= MAX_SNOOZE // 60
    ):
        raise UsageError("minutes must be a whole number from 1 to 10080; nothing was snoozed.")
    return await snooze(
        call.services,
        alert.rule or alert.title,
        alert.entity("host"),
        minutes * 60,
        call.actor.name,
    )


@COMMANDS.action("alert.enrich", role=Role.ANALYST)
async def enrich(call: ActionCall) -> Reply:
    from bot.intel.indicators import InvalidIndicator, classify
    from bot.intel.presentation import lookup_name, lookup_verdicts, verdict_card
    from bot.intel.service import look_up

    alert, group = await _alert_and_group(call)
    indicators = []
    for entity in alert.entities:
        if entity.type in ENRICHABLE:
            try:
                indicators.append(classify(entity.value))
            except InvalidIndicator:
                continue
    if not indicators:
        return Reply(
            text="This alert has no IP, domain, URL or hash to enrich.", audit_target=alert.id
        )
    reports = await look_up(
        call.services,
        call.actor,
        indicators[:20],
        correlation_id=call.correlation_id,
        conversation=call.conversation.id,
    )
    verdict = Reply(
        card=verdict_card(reports, left_out=max(0, len(indicators) - 20)),
        audit_target=lookup_name(reports),
        audit_detail=lookup_verdicts(reports),
    )
    if not await _in_thread(call, verdict):
        return verdict  # no thread to answer in: the verdict replaces the card for this user
    return Reply(
        card=await _card(call, alert, group),
        audit_target=alert.id,
        audit_detail=verdict.audit_detail,
    )


@COMMANDS.action("alert.incident", role=Role.RESPONDER)
async def incident(call: ActionCall) -> Reply:
    from bot.incidents.opening import open_incident
    from bot.incidents.presentation import current_card, where_text
    from bot.incidents.records import Severity

    alert, group = await _alert_and_group(call)
    # One incident per alert: a second click (or a second responder) gets the first one.
    existing = await call.services.store.fetchval(
        "SELECT id FROM incidents WHERE alert_id = ? ORDER BY id LIMIT 1", alert.id
    )
    if existing is not None or not await call.services.store.claim_once(
        "alert.incident", alert.id, 3600
    ):
        shown = existing or "one"
        return Reply(
            text=f"An incident ({shown}) was already opened from this alert.",
            audit_target=alert.id,
            audit_result="refused",
            audit_detail=f"already opened: {shown}",
        )
    level = (
        alert.severity.value if alert.severity.value in Severity._value2member_map_ else "medium"
    )
    entities = [e.value for e in alert.entities if e.type in ENRICHABLE][:20]
    hosts = ", ".join(e.value for e in alert.entities if e.type in ("host", "user"))[:500]
    description = alert.description[:1500]
    if hosts:
        description += f"\n\nHosts and users: {hosts}"
    incident = await open_incident(
        call.services,
        call.actor,
        call.conversation,
        title=alert.title[:200],
        severity=Severity(level),
        description=f"{description}\n\nFrom {alert.source} alert {alert.id}.",
        indicators=entities,
        alert_id=alert.id,
        correlation_id=call.correlation_id,
    )
    opened = Reply(
        text=where_text(incident, created=True),
        card=await current_card(call.services.store, incident),
        audit_target=incident.id,
    )
    if not await _in_thread(call, opened):
        return opened
    return Reply(card=await _card(call, alert, group), audit_target=alert.id)
