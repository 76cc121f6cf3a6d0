"""Intel as the rest of Vigil uses it: the process's enricher, an indicator's verdict, whether an
indicator is internal, and an audited lookup. Chat commands and other capabilities (approvals,
alerts) come here; none of them imports intel's chat module."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from bot.incidents import add_timeline
from bot.incidents import records as incident_records
from bot.intel import pending
from bot.intel.enrichment import Enricher, Report
from bot.intel.indicators import Indicator
from bot.intel.presentation import defang
from bot.intel.settings import IntelSettings
from bot.intel.sources.base import Status
from bot.intel.startup import build_enricher
from bot.kernel.rbac import Actor
from bot.kernel.services import Services, Slot

ENRICHER: Slot[asyncio.Future[Enricher]] = Slot("intel.enricher")


async def enricher_for(services: Services) -> Enricher:
    """The process's enricher, built on first use (concurrent first callers share the build)."""
    pending = services.provide(ENRICHER, lambda: asyncio.ensure_future(_build(services)))
    return await asyncio.shield(pending)


async def _build(services: Services) -> Enricher:
    secrets = services.secrets
    if secrets is None:
        from bot.secrets.source import secret_source_from_config

        secrets = secret_source_from_config(services.raw_config)
    settings = IntelSettings.load(services.raw_config)
    return await build_enricher(settings, store=services.store, secrets=secrets, http=services.http)


async def verdict_for(services: Services, indicator: Indicator) -> Report:
    """One indicator's verdict with every source's answer (not audited: no one asked for it)."""
    enricher = await enricher_for(services)
    return (await enricher.enrich([indicator]))[0]


async def is_internal(services: Services, indicator: Indicator) -> bool:
    """Whether the indicator is ours (a private address, an internal domain): never sent out."""
    return (await enricher_for(services)).guard.is_internal(indicator)


async def look_up(
    services: Services,
    actor: Actor,
    indicators: Sequence[Indicator],
    *,
    correlation_id: str = "",
    conversation: str = "",
) -> list[Report]:
    """Enrich for a person: the lookup is audited, and noted on the incident whose channel it
    was asked in."""
    enricher = await enricher_for(services)
    reports = await enricher.enrich(indicators)
    await audit_lookup(services, actor, enricher, reports, correlation_id, conversation)
    await pending.track(services.store, reports, conversation or "cli")
    await record_in_incident(services, actor, reports, conversation)
    return reports


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
