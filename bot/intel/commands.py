"""Chat commands: check-ip, check-domain, check-url, check-hash, check, and pasted text."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import cards
from bot.commands import CommandSet, Invocation, Param, Reply, UsageError
from bot.incidents import add_timeline
from bot.incidents import records as incident_records
from bot.intel.enrichment import Enricher, Report
from bot.intel.indicators import (
    MAX_PASTE_INDICATORS,
    Indicator,
    IndicatorType,
    InvalidIndicator,
    classify,
    classify_as,
    extract,
)
from bot.intel.presentation import bulk_card_data, defang, verdict_card_data
from bot.intel.settings import IntelSettings
from bot.intel.sources.base import Status
from bot.intel.startup import build_enricher
from bot.rbac import Actor, Role
from bot.services import Services, Slot

COMMANDS = CommandSet(group="intel")
ENRICHER: Slot[asyncio.Future[Enricher]] = Slot("intel.enricher")


async def attach(services: Services) -> Enricher:
    """The process's enricher, built on first use (concurrent first callers share the build)."""
    pending = services.provide(ENRICHER, lambda: asyncio.ensure_future(_build(services)))
    return await asyncio.shield(pending)


async def _build(services: Services) -> Enricher:
    secrets = services.secrets
    if secrets is None:
        from bot.secrets import secret_source_from_config

        secrets = secret_source_from_config(services.raw_config)
    settings = IntelSettings.load(services.raw_config)
    return await build_enricher(settings, store=services.store, secrets=secrets, http=services.http)


async def check_reply(
    services: Services,
    actor: Actor,
    indicators: Sequence[Indicator],
    *,
    left_out: int = 0,
    correlation_id: str = "",
    conversation: str = "",
) -> Reply:
    """Enrich, audit the lookup, and answer with the verdict card or the bulk table card."""
    enricher = await attach(services)
    reports = await enricher.enrich(indicators)
    await audit_lookup(services, actor, enricher, reports, correlation_id, conversation)
    await record_in_incident(services, actor, reports, conversation)
    if len(reports) == 1 and not left_out:
        card = cards.render("verdict", verdict_card_data(reports[0]))
    else:
        card = cards.render("bulk_verdict", bulk_card_data(reports, left_out))
    verdicts = ", ".join(f"{r.indicator.value}={r.verdict.value}" for r in reports[:20])
    return Reply(
        card=card,
        audit_target=reports[0].indicator.value if len(reports) == 1 else f"{len(reports)} IOCs",
        audit_detail=verdicts[:500],
    )


async def record_in_incident(
    services: Services, actor: Actor, reports: Sequence[Report], conversation: str
) -> None:
    """An enrichment run in an incident's channel goes on that incident's timeline."""
    channel_id = conversation.split(";messageid=", 1)[0]
    incident = (
        await incident_records.for_channel(services.store, channel_id) if channel_id else None
    )
    if incident is None:
        return
    verdicts = ", ".join(f"{defang(r.indicator)} {r.verdict.value}" for r in reports[:10])
    more = f" (+{len(reports) - 10} more)" if len(reports) > 10 else ""
    await add_timeline(services.store, incident.id, actor.name, "enrichment", verdicts + more)


async def audit_lookup(
    services: Services,
    actor: Actor,
    enricher: Enricher,
    reports: Sequence[Report],
    correlation_id: str,
    conversation: str,
) -> None:
    """The enrichment event: who looked up what, which sources were asked, what came back."""
    if services.audit is None:
        return
    parameters: dict[str, Any] = {
        "indicators": [
            {
                "indicator": r.indicator.value,
                "type": r.indicator.type.value,
                "verdict": r.verdict.value,
                "internal": r.internal,
                "asked": sorted(
                    name
                    for name, a in r.sources.items()
                    if a.result.status is not Status.SKIPPED_INTERNAL
                ),
            }
            for r in reports
        ],
        "sources": enricher.source_names,
    }
    internal = sum(1 for r in reports if r.internal)
    await services.audit.record(
        actor=actor,
        action="intel.lookup",
        target=reports[0].indicator.value if len(reports) == 1 else f"{len(reports)} indicators",
        parameters=parameters,
        result="ok",
        detail=f"{len(reports)} looked up, {internal} internal (not sent out)",
        correlation_id=correlation_id,
        conversation=conversation,
        origin="cli" if conversation == "cli" else "teams",
    )


async def _one(call: Invocation, expected: IndicatorType | None) -> Reply:
    text = call.args["indicator"]
    try:
        indicator = classify(text) if expected is None else classify_as(text, expected)
    except InvalidIndicator as exc:
        raise UsageError(str(exc)) from None
    return await check_reply(
        call.services,
        call.actor,
        [indicator],
        correlation_id=call.correlation_id,
        conversation=call.conversation.id,
    )


@COMMANDS.command(
    "check-ip",
    summary="Enrich an IP address (v4 or v6, defanged is fine)",
    role=Role.ANALYST,
    params=(Param("indicator", "an IPv4 or IPv6 address"),),
    examples=("check-ip 198.51.100.23", "check-ip 198[.]51[.]100[.]23:8080"),
)
async def check_ip(call: Invocation) -> Reply:
    return await _one(call, IndicatorType.IP)


@COMMANDS.command(
    "check-domain",
    summary="Enrich a domain (IDNA and defanged forms are fine)",
    role=Role.ANALYST,
    params=(Param("indicator", "a domain name"),),
    examples=("check-domain evil.example.com", "check-domain evil[.]example[.]com"),
)
async def check_domain(call: Invocation) -> Reply:
    return await _one(call, IndicatorType.DOMAIN)


@COMMANDS.command(
    "check-url",
    summary="Enrich a URL (hxxp and [.] forms are fine)",
    role=Role.ANALYST,
    params=(Param("indicator", "an http, https or ftp URL"),),
    examples=("check-url hxxps://evil[.]example[.]com/login",),
)
async def check_url(call: Invocation) -> Reply:
    return await _one(call, IndicatorType.URL)


@COMMANDS.command(
    "check-hash",
    summary="Enrich a file hash (MD5, SHA-1 or SHA-256)",
    role=Role.ANALYST,
    params=(Param("indicator", "32, 40 or 64 hex digits"),),
    examples=("check-hash 44d88612fea8a8f36de82e1f5c8eb5a5",),
)
async def check_hash(call: Invocation) -> Reply:
    return await _one(call, IndicatorType.HASH)


@COMMANDS.command(
    "check",
    summary="Enrich any indicators; the type is detected (up to 100)",
    role=Role.ANALYST,
    params=(Param("indicators", "IPs, domains, URLs or hashes", rest=True),),
    examples=("check 198.51.100.23", "check evil[.]example[.]com 203.0.113.66"),
)
async def check_any(call: Invocation) -> Reply:
    found = extract(" ".join(call.args["indicators"]))
    if not found.indicators:
        raise UsageError("no IP address, domain, URL or hash found")
    return await check_reply(
        call.services,
        call.actor,
        found.indicators,
        left_out=found.left_out,
        correlation_id=call.correlation_id,
        conversation=call.conversation.id,
    )


@COMMANDS.fallback(
    "paste", summary="Paste text (an e-mail, a log): every indicator in it", role=Role.ANALYST
)
async def paste(call: Invocation) -> Reply | None:
    found = extract(call.text)
    if not found.indicators:
        return None
    reply = await check_reply(
        call.services,
        call.actor,
        found.indicators,
        left_out=found.left_out,
        correlation_id=call.correlation_id,
        conversation=call.conversation.id,
    )
    if found.left_out:
        reply.text = (
            f"Checked the first {MAX_PASTE_INDICATORS} indicators; {found.left_out} more left out."
        )
    return reply


@COMMANDS.command(
    "enrich",
    summary="Start a conversation that asks for indicators and checks them",
    role=Role.ANALYST,
    examples=("enrich",),
)
async def enrich(call: Invocation) -> Reply:
    # dialogs/enrich.py knows Bot Framework; here only its id. The pipeline hands it the actor.
    return Reply(dialog="enrich", audit_detail="enrich dialog started")
