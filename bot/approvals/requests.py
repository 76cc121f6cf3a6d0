"""Asking for containment: validate the target, look it up, gather evidence, record, post the card.

Everything that can refuse a request happens before the record exists, so a refused request
leaves nothing pending; the router audits the refusal with the reason given here.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass

from bot.approvals import card as approval_card_module
from bot.approvals import policy
from bot.approvals import records as approval_records
from bot.approvals.presentation import action_title, display_time
from bot.approvals.records import MAX_REASON, Approval
from bot.approvals.settings import approval_settings
from bot.commands import Conversation, Reply, UsageError
from bot.containment.connector import Action, ConnectorError, TargetInfo
from bot.incidents import records as incident_records
from bot.incidents.timeline import add_timeline
from bot.intel.indicators import IndicatorType, InvalidIndicator, classify_as
from bot.kernel.messenger import DeliveryFailed
from bot.rbac import Actor
from bot.services import Services

log = logging.getLogger(__name__)

TIMELINE_KIND = "containment"
INTERNAL_REFUSAL = "internal target without --internal"
DESCRIBE_TIMEOUT = 20.0
_HOST = re.compile(r"[a-z0-9](?:[a-z0-9._-]{0,252})")
_INDICATOR_TYPES = {
    Action.BLOCK_DOMAIN: IndicatorType.DOMAIN,
    Action.BLOCK_IP: IndicatorType.IP,
    Action.BLOCK_URL: IndicatorType.URL,
    Action.BLOCK_HASH: IndicatorType.HASH,
}


@dataclass(frozen=True)
class Ask:
    """What the requester typed (or answered in the `contain` dialog)."""

    action: Action
    target: str
    reason: str
    selective: bool = False
    incident: str = ""
    expires: str = ""
    internal: bool = False


@dataclass(frozen=True)
class Target:
    value: str  # canonical: lower-case host, refanged indicator
    names: tuple[str, ...]  # what crown-jewel patterns are matched against
    internal: bool = False
    hash_kind: str = ""


def refusal(text: str, detail: str) -> Reply:
    return Reply(text=text, audit_result="refused", audit_detail=detail[:300])


def check_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise UsageError("--reason is required: say why, it is shown to the approvers")
    if len(reason) > MAX_REASON:
        raise UsageError(f"the reason is at most {MAX_REASON} characters")
    return reason


async def parse_target(services: Services, action: Action, text: str) -> Target:
    """Refang and validate; UsageError says what is wrong."""
    text = text.strip()
    if action is Action.ISOLATE_ENDPOINT:
        host = text.lower().rstrip(".")
        if not _HOST.fullmatch(host):
            raise UsageError("a host is a machine name like ws-fin-042 or its DNS name")
        return Target(host, (host, host.split(".", 1)[0]))
    try:
        indicator = classify_as(text, _INDICATOR_TYPES[action])
    except InvalidIndicator as exc:
        raise UsageError(str(exc)) from None
    if indicator.type is IndicatorType.HASH and indicator.hash_kind not in ("sha256", "sha1"):
        raise UsageError(
            "MD5 is not accepted for blocking (collisions are cheap and Defender blocks by "
            "SHA-256 or SHA-1): give the file's SHA-256"
        )
    from bot.intel.commands import attach

    guard = (await attach(services)).guard
    names = tuple(n for n in (indicator.value, indicator.host or "") if n)
    return Target(
        indicator.value,
        names,
        internal=guard.is_internal(indicator),
        hash_kind=indicator.hash_kind or "",
    )


async def verdict_evidence(services: Services, action: Action, value: str) -> list[dict[str, str]]:
    """The latest verdict for an indicator, if it comes within the evidence timeout."""
    from bot.intel.commands import attach
    from bot.intel.indicators import classify
    from bot.intel.presentation import summary

    timeout = approval_settings(services).evidence_timeout
    try:
        enricher = await asyncio.wait_for(attach(services), timeout)
        report = (await asyncio.wait_for(enricher.enrich([classify(value)]), timeout))[0]
    except TimeoutError:
        return [{"title": "Verdict", "value": f"not available within {timeout} s"}]
    except Exception as exc:
        log.warning("verdict for the approval card failed: %s", type(exc).__name__)
        return [{"title": "Verdict", "value": "not available (enrichment failed)"}]
    return [{"title": "Verdict", "value": f"{report.verdict.value}: {summary(report)}"}]


async def describe(services: Services, action: Action, target: str) -> TargetInfo:
    """The connector's view of the target; ConnectorError when there is no connector or lookup."""
    from bot.containment.registry import connectors_from_config

    connector = connectors_from_config(services).for_action(action)
    try:
        return await asyncio.wait_for(connector.describe(action, target), DESCRIBE_TIMEOUT)
    except TimeoutError:
        raise ConnectorError(
            f"{connector.name} did not answer the lookup within {DESCRIBE_TIMEOUT:g} s"
        ) from None


async def request_containment(
    services: Services, actor: Actor, conversation: Conversation, ask: Ask
) -> Reply:
    """Validate, look up, record and post the approval card; a Reply for the requester."""
    reason = check_reason(ask.reason)
    action = ask.action
    target = await parse_target(services, action, ask.target)
    settings = approval_settings(services)
    now = time.time()
    options: dict[str, object] = {}
    warnings: list[str] = []
    if ask.selective and action is not Action.ISOLATE_ENDPOINT:
        raise UsageError("--selective applies to isolate-endpoint only")
    if ask.expires:
        if not action.is_block:
            raise UsageError("--expires applies to blocks only")
        try:
            seconds = policy.parse_block_duration(ask.expires)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        options["block_expires_seconds"] = seconds
        options["block_expires_at"] = now + seconds
    if target.internal:
        if not ask.internal:
            return refusal(
                f"{target.value} is internal (private address or internal domain). Blocking it "
                "can cut off your own services; if you mean it, add `--internal`.",
                INTERNAL_REFUSAL,
            )
        options["internal"] = True
        warnings.append(f"Internal target: blocking {target.value} affects internal services.")
    incident = None
    if ask.incident:
        incident_id = incident_records.normalise_id(ask.incident)
        if incident_id is None:
            raise UsageError("--incident takes an id like INC-20240502-003")
        try:
            incident = await incident_records.get(services.store, incident_id)
        except incident_records.IncidentNotFound:
            return refusal(f"There is no incident {incident_id}.", "unknown incident")
    try:
        info = await describe(services, action, target.value)
    except ConnectorError as exc:
        return refusal(f"Cannot request {action.command}: {exc}", f"connector: {exc}")
    if not info.found:
        what = "host" if action is Action.ISOLATE_ENDPOINT else "target"
        return refusal(
            f"Unknown {what} {target.value}: the connector does not know it, so nothing was "
            "requested. Check the name (the DNS name or the Defender machine id work).",
            "unknown target",
        )
    role = settings.role_for(action)
    # The machine's DNS name as the connector reports it counts as well as what was typed.
    dns = [v.lower() for t, v in info.facts if "dns" in t.lower() or "name" in t.lower()]
    names = (*target.names, info.target.lower(), *dns)
    jewel = policy.crown_jewel_match(settings.crown_jewels, names, info.tags)
    if jewel:
        warnings.insert(0, f"Crown jewel (matches {jewel}): 2 different approvers are needed.")
    evidence = [{"title": title, "value": value} for title, value in info.facts]
    if action.is_block:
        evidence = (await verdict_evidence(services, action, target.value)) + evidence
    if incident is not None:
        evidence.append({"title": "Incident", "value": f"{incident.id} {incident.title}"})
    if "block_expires_at" in options:
        evidence.append({"title": "Block lapses", "value": f"{ask.expires} after it is applied"})
    if info.machine_id:
        options["machine_id"] = info.machine_id
    if ask.selective:
        options["selective"] = True
    if target.hash_kind:
        options["hash_type"] = target.hash_kind
    options["approver_role"] = role.value
    approval = Approval(
        id="",
        action=action.value,
        target=target.value,
        reason=reason,
        requester_id=actor.aad_object_id,
        requester_name=actor.name,
        requested_at=now,
        expires_at=now + settings.expiry_for(action),
        options=options,
        incident_id=incident.id if incident else "",
        required_approvals=policy.required_approvals(bool(jewel)),
        evidence=evidence,
        warnings=warnings,
        crown_jewel=bool(jewel),
    )
    approval.options[approval_card_module.USER_IDS_OPTION] = await approval_card_module.audience(
        services, approval, role
    )
    approval = await approval_records.create(services.store, approval)
    if incident is not None:
        await add_timeline(
            services.store,
            incident.id,
            actor.name,
            TIMELINE_KIND,
            f"containment requested: {action_title(approval)} ({approval.id})",
        )
    return await _post(services, approval, conversation)


async def _post(services: Services, approval: Approval, conversation: Conversation) -> Reply:
    expires = display_time(approval.expires_at)
    needs = " Needs 2 different approvers (crown jewel)." if approval.crown_jewel else ""
    reply = Reply(
        text=f"Requested {approval.id}: {action_title(approval)}. Waiting for approval until "
        f"{expires}.{needs}",
        audit_target=approval.target,
        audit_detail=f"{approval.id} requested",
    )
    messenger = services.messenger
    if (
        messenger is None
        or conversation.kind == "cli"
        or not conversation.id
        or not await messenger.reaches(conversation.id)
    ):
        # No Teams conversation to post in (the CLI): answer with the card itself.
        reply.card = approval_card_module.approval_card(approval, services=services)
        return reply
    try:
        await approval_card_module.post_card(services, approval, conversation.id)
    except DeliveryFailed as exc:
        log.warning("approval %s: card not posted: %s", approval.id, exc)
        reply.text = (
            f"Requested {approval.id}, but the approval card could not be posted ({exc}). "
            f"Approvers can use `approvals show {approval.id}`."
        )
    return reply
