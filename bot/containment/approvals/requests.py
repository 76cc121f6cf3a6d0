"""Asking for containment: validate the target, look it up, gather evidence, record the request.

Everything that can refuse a request happens before the record exists, so a refused request
leaves nothing pending. Bad input raises DomainError, a declined request Refused (its detail is
what the pipeline audits); the command or dialog that asked answers the requester and posts the
card.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass

from bot.containment.approvals import card as approval_card_module
from bot.containment.approvals import policy
from bot.containment.approvals import records as approval_records
from bot.containment.approvals.presentation import action_title
from bot.containment.approvals.records import MAX_REASON, Approval
from bot.containment.approvals.settings import ApprovalSettings, approval_settings
from bot.containment.connector import Action, ConnectorError, TargetInfo
from bot.incidents import records as incident_records
from bot.incidents.records import Incident
from bot.incidents.timeline import add_timeline
from bot.intel.indicators import IndicatorType, InvalidIndicator, classify, classify_as
from bot.intel.presentation import summary
from bot.intel.service import is_internal, verdict_for
from bot.kernel.errors import DomainError, Refused
from bot.kernel.rbac import Actor
from bot.kernel.services import Services

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


async def request_containment(services: Services, actor: Actor, ask: Ask) -> Approval:
    """Validate, look up and record the request; the pending Approval, its card not yet posted."""
    reason = check_reason(ask.reason)
    action = ask.action
    target = await parse_target(services, action, ask.target)
    settings = approval_settings(services)
    now = time.time()
    options, warnings = ask_options(ask, target, now)
    incident = await find_incident(services, ask.incident)
    info = await known_target(services, action, target.value)
    jewel = crown_jewel(settings, target, info)
    if jewel:
        warnings.insert(0, f"Crown jewel (matches {jewel}): 2 different approvers are needed.")
    evidence = await gather_evidence(services, ask, target, info, incident)
    options.update(found_options(settings, ask, target, info))
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
    return await record(services, actor, approval, settings, incident)


def check_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise DomainError("--reason is required: say why, it is shown to the approvers")
    if len(reason) > MAX_REASON:
        raise DomainError(f"the reason is at most {MAX_REASON} characters")
    return reason


async def parse_target(services: Services, action: Action, text: str) -> Target:
    """Refang and validate; DomainError says what is wrong."""
    text = text.strip()
    if action is Action.ISOLATE_ENDPOINT:
        host = text.lower().rstrip(".")
        if not _HOST.fullmatch(host):
            raise DomainError("a host is a machine name like ws-fin-042 or its DNS name")
        return Target(host, (host, host.split(".", 1)[0]))
    try:
        indicator = classify_as(text, _INDICATOR_TYPES[action])
    except InvalidIndicator as exc:
        raise DomainError(str(exc)) from None
    if indicator.type is IndicatorType.HASH and indicator.hash_kind not in ("sha256", "sha1"):
        raise DomainError(
            "MD5 is not accepted for blocking (collisions are cheap and Defender blocks by "
            "SHA-256 or SHA-1): give the file's SHA-256"
        )
    names = tuple(n for n in (indicator.value, indicator.host or "") if n)
    return Target(
        indicator.value,
        names,
        internal=await is_internal(services, indicator),
        hash_kind=indicator.hash_kind or "",
    )


def ask_options(ask: Ask, target: Target, now: float) -> tuple[dict[str, object], list[str]]:
    """The options and warnings the requester's flags give; an internal target must be meant."""
    options: dict[str, object] = {}
    if ask.selective and ask.action is not Action.ISOLATE_ENDPOINT:
        raise DomainError("--selective applies to isolate-endpoint only")
    if ask.expires:
        seconds = block_lifetime(ask)
        options["block_expires_seconds"] = seconds
        options["block_expires_at"] = now + seconds
    if not target.internal:
        return options, []
    if not ask.internal:
        raise Refused(
            f"{target.value} is internal (private address or internal domain). Blocking it "
            "can cut off your own services; if you mean it, add `--internal`.",
            INTERNAL_REFUSAL,
        )
    options["internal"] = True
    return options, [f"Internal target: blocking {target.value} affects internal services."]


def block_lifetime(ask: Ask) -> int:
    """`--expires` in seconds; blocks only."""
    if not ask.action.is_block:
        raise DomainError("--expires applies to blocks only")
    try:
        return policy.parse_block_duration(ask.expires)
    except ValueError as exc:
        raise DomainError(str(exc)) from None


async def find_incident(services: Services, text: str) -> Incident | None:
    """The incident named by `--incident`, or None when none was named."""
    if not text:
        return None
    incident_id = incident_records.normalise_id(text)
    if incident_id is None:
        raise DomainError("--incident takes an id like INC-20240502-003")
    try:
        return await incident_records.get(services.store, incident_id)
    except incident_records.IncidentNotFound:
        raise Refused(f"There is no incident {incident_id}.", "unknown incident") from None


async def known_target(services: Services, action: Action, target: str) -> TargetInfo:
    """The connector's view of a target it knows; Refused when it cannot look or does not know."""
    try:
        info = await describe(services, action, target)
    except ConnectorError as exc:
        raise Refused(f"Cannot request {action.command}: {exc}", f"connector: {exc}") from None
    if not info.found:
        what = "host" if action is Action.ISOLATE_ENDPOINT else "target"
        raise Refused(
            f"Unknown {what} {target}: the connector does not know it, so nothing was "
            "requested. Check the name (the DNS name or the Defender machine id work).",
            "unknown target",
        )
    return info


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


def crown_jewel(settings: ApprovalSettings, target: Target, info: TargetInfo) -> str | None:
    """The crown-jewel pattern the target matches, if any (it then needs two approvers)."""
    # The machine's DNS name as the connector reports it counts as well as what was typed.
    dns = [v.lower() for t, v in info.facts if "dns" in t.lower() or "name" in t.lower()]
    names = (*target.names, info.target.lower(), *dns)
    return policy.crown_jewel_match(settings.crown_jewels, names, info.tags)


async def gather_evidence(
    services: Services, ask: Ask, target: Target, info: TargetInfo, incident: Incident | None
) -> list[dict[str, str]]:
    """The card's evidence: the verdict (blocks), the connector's facts, incident, lifetime."""
    evidence = [{"title": title, "value": value} for title, value in info.facts]
    if ask.action.is_block:
        evidence = (await verdict_evidence(services, target.value)) + evidence
    if incident is not None:
        evidence.append({"title": "Incident", "value": f"{incident.id} {incident.title}"})
    if ask.expires:
        evidence.append({"title": "Block lapses", "value": f"{ask.expires} after it is applied"})
    return evidence


async def verdict_evidence(services: Services, value: str) -> list[dict[str, str]]:
    """The latest verdict for an indicator, if it comes within the evidence timeout."""
    timeout = approval_settings(services).evidence_timeout
    try:
        report = await asyncio.wait_for(verdict_for(services, classify(value)), timeout)
    except TimeoutError:
        return [{"title": "Verdict", "value": f"not available within {timeout} s"}]
    except Exception as exc:
        log.warning("verdict for the approval card failed: %s", type(exc).__name__)
        return [{"title": "Verdict", "value": "not available (enrichment failed)"}]
    return [{"title": "Verdict", "value": f"{report.verdict.value}: {summary(report)}"}]


def found_options(
    settings: ApprovalSettings, ask: Ask, target: Target, info: TargetInfo
) -> dict[str, object]:
    """What the execution needs beyond the flags: the machine id, hash type, approver role."""
    options: dict[str, object] = {}
    if info.machine_id:
        options["machine_id"] = info.machine_id
    if ask.selective:
        options["selective"] = True
    if target.hash_kind:
        options["hash_type"] = target.hash_kind
    options["approver_role"] = settings.role_for(ask.action).value
    return options


async def record(
    services: Services,
    actor: Actor,
    approval: Approval,
    settings: ApprovalSettings,
    incident: Incident | None,
) -> Approval:
    """Store the pending request (with who may see its buttons) and note it on the incident."""
    role = settings.role_for(Action(approval.action))
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
    return approval
