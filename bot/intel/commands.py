"""Chat commands: check-ip, check-domain, check-url, check-hash, check, and pasted text."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from bot.intel import pending
from bot.intel.indicators import (
    Indicator,
    IndicatorType,
    InvalidIndicator,
    classify_as,
    extract_in_worker,
)
from bot.intel.presentation import extraction_note, lookup_name, lookup_verdicts, verdict_card
from bot.intel.service import look_up
from bot.kernel import timefmt
from bot.kernel.commands import CommandSet, Invocation, Option, Param, Reply, UsageError
from bot.kernel.rbac import Actor, Role
from bot.kernel.services import Services

COMMANDS = CommandSet(group="intel")


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
    reports = await look_up(
        services, actor, indicators, correlation_id=correlation_id, conversation=conversation
    )
    return Reply(
        card=verdict_card(reports, left_out),
        audit_target=lookup_name(reports),
        audit_detail=lookup_verdicts(reports),
    )


async def _check(call: Invocation, indicators: Sequence[Indicator], left_out: int = 0) -> Reply:
    return await check_reply(
        call.services,
        call.actor,
        indicators,
        left_out=left_out,
        correlation_id=call.correlation_id,
        conversation=call.conversation.id,
    )


@dataclass(frozen=True)
class TypedCheck:
    """A command that checks one indicator of one type (`check-ip`, `check-url` ...)."""

    name: str
    type: IndicatorType
    summary: str
    param_help: str
    examples: tuple[str, ...]

    def declare(self) -> None:
        async def check_typed(call: Invocation) -> Reply:
            try:
                indicator = classify_as(call.args["indicator"], self.type)
            except InvalidIndicator as exc:
                raise UsageError(str(exc)) from None
            return await _check(call, [indicator])

        COMMANDS.command(
            self.name,
            summary=self.summary,
            role=Role.ANALYST,
            params=(Param("indicator", self.param_help),),
            examples=self.examples,
        )(check_typed)


TYPED_CHECKS = (
    TypedCheck(
        "check-ip",
        IndicatorType.IP,
        "Enrich an IP address (v4 or v6, defanged is fine)",
        "an IPv4 or IPv6 address",
        ("check-ip 198.51.100.23", "check-ip 198[.]51[.]100[.]23:8080"),
    ),
    TypedCheck(
        "check-domain",
        IndicatorType.DOMAIN,
        "Enrich a domain (IDNA and defanged forms are fine)",
        "a domain name",
        ("check-domain evil.example.com", "check-domain evil[.]example[.]com"),
    ),
    TypedCheck(
        "check-url",
        IndicatorType.URL,
        "Enrich a URL (hxxp and [.] forms are fine)",
        "an http, https or ftp URL",
        ("check-url hxxps://evil[.]example[.]com/login",),
    ),
    TypedCheck(
        "check-hash",
        IndicatorType.HASH,
        "Enrich a file hash (MD5, SHA-1 or SHA-256)",
        "32, 40 or 64 hex digits",
        ("check-hash 44d88612fea8a8f36de82e1f5c8eb5a5",),
    ),
)
for typed_check in TYPED_CHECKS:
    typed_check.declare()


@COMMANDS.command(
    "check",
    summary="Enrich any indicators; the type is detected (up to 100)",
    role=Role.ANALYST,
    params=(Param("indicators", "IPs, domains, URLs or hashes", required=False, rest=True),),
    options=(
        Option("--retry-pending", "check again what a rate-limited source left not checked here"),
    ),
    examples=(
        "check 198.51.100.23",
        "check evil[.]example[.]com 203.0.113.66",
        "check --retry-pending",
    ),
)
async def check_any(call: Invocation) -> Reply:
    words = call.args["indicators"] or []
    if call.args.get("retry_pending"):
        if words:
            raise UsageError("--retry-pending takes no indicators")
        return await _retry_pending(call)
    if not words:
        raise UsageError("missing indicators")
    found = await extract_in_worker(" ".join(words))
    if not found.indicators:
        raise UsageError("no IP address, domain, URL or hash found")
    return await _check(call, found.indicators, found.left_out)


async def _retry_pending(call: Invocation) -> Reply:
    waiting = await pending.waiting(call.services.store, call.conversation.id or "cli")
    if not waiting.due:
        if waiting.later and waiting.next_at is not None:
            at = timefmt.recent(waiting.next_at, time.time())
            return Reply(
                text=f"{waiting.later} not checked yet; the first may be retried after {at}."
            )
        return Reply(text="Nothing here is waiting to be checked.")
    reply = await _check(call, waiting.due)
    if waiting.later:
        reply.text = f"{waiting.later} more are not due yet."
    return reply


@COMMANDS.fallback(
    "paste", summary="Paste text (an e-mail, a log): every indicator in it", role=Role.ANALYST
)
async def paste(call: Invocation) -> Reply | None:
    found = await extract_in_worker(call.text)
    if not found.indicators:
        return None
    reply = await _check(call, found.indicators, found.left_out)
    reply.text = extraction_note(found)
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
