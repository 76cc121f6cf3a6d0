"""The command pipeline: rate limit, resolve, role check, parse, run, audit.

Every command and card action passes here, so refusals, usage errors and crashes are answered
and audited in one place rather than in each handler.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cards
from bot.audit_trail import AuditUnavailable
from bot.commands import (
    ActionCall,
    Command,
    Conversation,
    Invocation,
    Reply,
    UsageError,
    refused_reply,
    split_words,
)
from bot.kernel.errors import DomainError, Refused
from bot.rbac import Actor, Role
from bot.services import Services
from bot.summaries.guard import exec_channel_refusal

log = logging.getLogger(__name__)


@dataclass
class _Bucket:
    tokens: float
    updated: float


class UserRateLimiter:
    """A token bucket per user: `rate` commands a minute, bursts up to `rate`."""

    def __init__(self, per_minute: int, clock=time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.refill = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, user_id: str) -> float:
        """0 when allowed; otherwise the seconds until the next command is allowed."""
        now = self.clock()
        bucket = self._buckets.get(user_id)
        if bucket is None:
            bucket = self._buckets[user_id] = _Bucket(self.capacity, now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.refill)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.refill


class Router:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.registry = services.registry
        self.limiter = UserRateLimiter(services.settings.user_rate_per_minute)

    async def handle_text(
        self, text: str, actor: Actor, conversation: Conversation, correlation_id: str
    ) -> Reply:
        text = text.strip()
        refusal = exec_channel_refusal(self.services, conversation)
        if refusal is not None:
            # The exec channel is read-only for everyone: answer, audit, do nothing else.
            if not text:
                return Reply()
            await self._audit(
                actor,
                "exec-channel:command",
                _clip(text),
                {},
                refusal,
                conversation,
                correlation_id,
            )
            return refusal
        if not text:
            return Reply(text="Say `help` to see what I can do.")
        wait = self.limiter.take(actor.aad_object_id)
        if wait:
            reply = Reply(
                text=f"You are sending commands too fast; try again in {wait:.0f} s.",
                audit_result="refused",
                audit_detail="rate limited",
            )
            await self._audit(
                actor, "rate-limited", text[:80], {}, reply, conversation, correlation_id
            )
            return reply
        try:
            words = split_words(text)
        except UsageError as exc:
            # A pasted e-mail ("don't") is no command line, but may be full of indicators.
            first = text.split(maxsplit=1)[0]
            if self.registry.resolve(first) is not None:
                return await self._usage_only(actor, text, str(exc), conversation, correlation_id)
            words = text.split()
        command = self.registry.resolve(words[0]) if words else None
        if command is None:
            return await self._unknown(
                words[0] if words else text, text, actor, conversation, correlation_id
            )
        return await self._run(command, words[1:], text, actor, conversation, correlation_id)

    async def _run(
        self,
        command: Command,
        words: list[str],
        text: str,
        actor: Actor,
        conversation: Conversation,
        correlation_id: str,
        parsed: dict[str, Any] | None = None,
    ) -> Reply:
        action = f"command:{command.name}"
        if not command.allowed(actor):
            reply = Reply(
                text=f"`{command.name}` needs the {command.role} role; you have "
                f"{_roles_text(actor)}. Ask a Vigil admin.",
                audit_result="refused",
                audit_detail=f"needs role {command.role}",
            )
            await self._audit(actor, action, None, {}, reply, conversation, correlation_id)
            return reply
        refusal = await self._audit_missing(command.role)
        if refusal is not None:
            return refusal
        try:
            args = parsed if parsed is not None else command.parse(words)
        except UsageError as exc:
            reply = _usage_reply(command, str(exc))
            await self._audit(
                actor, action, None, {"words": words}, reply, conversation, correlation_id
            )
            return reply
        call = Invocation(command, actor, args, text, conversation, self.services, correlation_id)
        try:
            reply = await command.handler(call) or Reply(text="Done.")
        except Refused as exc:
            reply = refused_reply(exc)
        except DomainError as exc:
            reply = _usage_reply(command, str(exc))
        except Exception:
            log.exception("command %s failed", command.name)
            reply = error_reply(correlation_id)
        await self._audit(
            actor, action, _first_arg(command, args), args, reply, conversation, correlation_id
        )
        return reply

    async def _unknown(
        self, word: str, text: str, actor: Actor, conversation: Conversation, correlation_id: str
    ) -> Reply:
        for fallback in self.registry.fallbacks:
            if not fallback.allowed(actor):
                continue
            call = Invocation(
                fallback, actor, {}, text, conversation, self.services, correlation_id
            )
            try:
                reply = await fallback.handler(call)
            except Exception:
                log.exception("fallback %s failed", fallback.name)
                reply = error_reply(correlation_id)
            if reply is not None:
                action = f"command:{fallback.name}"
                await self._audit(actor, action, None, {}, reply, conversation, correlation_id)
                return reply
        suggestions = self.registry.suggest(word, actor)
        hint = ""
        if suggestions:
            best = self.registry.resolve(suggestions[0])
            usage = f" Usage: `{best.usage}`" if best else ""
            hint = f" Did you mean `{suggestions[0]}`?{usage}"
        reply = Reply(
            text=f"I don't know `{_clip(word)}`.{hint} Say `help` for the commands you can run.",
            audit_result="refused",
            audit_detail="unknown command",
        )
        await self._audit(
            actor, "command:unknown", _clip(word), {}, reply, conversation, correlation_id
        )
        return reply

    async def _usage_only(
        self, actor: Actor, text: str, problem: str, conversation: Conversation, correlation_id: str
    ) -> Reply:
        reply = Reply(
            text=f"{problem}. Say `help` for usage.", audit_result="refused", audit_detail=problem
        )
        await self._audit(actor, "command:unparsed", None, {}, reply, conversation, correlation_id)
        return reply

    async def handle_action(
        self,
        verb: str,
        data: Mapping[str, Any],
        actor: Actor,
        conversation: Conversation,
        correlation_id: str,
        *,
        activity_id: str = "",
        refresh: bool = False,
    ) -> Reply:
        refusal = exec_channel_refusal(self.services, conversation, verb)
        if refusal is not None:
            if not refresh:
                await self._audit(
                    actor,
                    "exec-channel:action",
                    _clip(verb),
                    dict(data),
                    refusal,
                    conversation,
                    correlation_id,
                )
            return refusal
        action = self.registry.action(verb)
        audit_action = f"action:{verb}"
        if action is None:
            reply = Reply(
                text="This button is no longer supported.",
                audit_result="refused",
                audit_detail="unknown verb",
            )
            await self._audit(
                actor, "action:unknown", _clip(verb), {}, reply, conversation, correlation_id
            )
            return reply
        # A refresh shows the card to whoever looks at it; deciding needs the role, not viewing.
        if not refresh and action.role is not None and not actor.has(action.role):
            reply = Reply(
                text=f"This needs the {action.role} role; you have {_roles_text(actor)}.",
                audit_result="refused",
                audit_detail=f"needs role {action.role}",
            )
            await self._audit(
                actor, audit_action, None, dict(data), reply, conversation, correlation_id
            )
            return reply
        refusal = await self._audit_missing(action.role)
        if refusal is not None:
            return refusal
        call = ActionCall(
            action, actor, data, conversation, self.services, correlation_id, activity_id, refresh
        )
        try:
            reply = await action.handler(call)
        except Refused as exc:
            reply = refused_reply(exc)
        except DomainError as exc:
            reply = Reply(text=str(exc), audit_result="refused", audit_detail=str(exc))
        except Exception:
            log.exception("card action %s failed", verb)
            reply = error_reply(correlation_id)
        if not refresh:
            await self._audit(
                actor,
                audit_action,
                reply.audit_target,
                dict(data),
                reply,
                conversation,
                correlation_id,
            )
        return reply

    async def _audit_missing(self, role: Role | None) -> Reply | None:
        """Work that needs a role must be recorded; with no audit log it does not happen."""
        if role is None:
            return None
        try:
            await self.services.audit.log()
        except AuditUnavailable as exc:
            log.error("refusing work: %s", exc)
            return Reply(
                text=f"I can't record actions right now, so I won't act: {exc}. "
                "A Vigil admin can run `vigil doctor` to see why."
            )
        return None

    async def _audit(
        self,
        actor: Actor,
        action: str,
        target: str | None,
        params: Mapping[str, Any],
        reply: Reply,
        conversation: Conversation,
        correlation_id: str,
    ) -> None:
        try:
            await self.services.audit.record(
                actor=actor,
                action=action,
                target=reply.audit_target or target,
                parameters=dict(params),
                result=reply.audit_result,
                detail=reply.audit_detail,
                correlation_id=correlation_id,
                conversation=conversation.id,
                origin="cli" if conversation.kind == "cli" else "teams",
            )
        except AuditUnavailable as exc:
            # Only role-free commands (help, whoami) get here without an audit log.
            log.warning("not audited (%s): %s by %s", exc, action, actor.aad_object_id)


def error_reply(correlation_id: str) -> Reply:
    card = cards.render(
        "error",
        {
            "title": "That did not work",
            "message": "Something went wrong on my side; nothing was changed by this request.",
            "hint": "Try again. If it keeps failing, give the correlation id to your Vigil admin.",
            "correlationId": correlation_id,
        },
    )
    return Reply(card=card, audit_result="error", audit_detail="unhandled exception")


def _usage_reply(command: Command, problem: str) -> Reply:
    examples = "".join(f"\n- `{example}`" for example in command.examples)
    text = f"{problem}.\nUsage: `{command.usage}`"
    if examples:
        text += f"\nExamples:{examples}"
    return Reply(text=text, audit_result="refused", audit_detail=f"usage: {problem}")


def _first_arg(command: Command, args: Mapping[str, Any]) -> str | None:
    if not command.params:
        return None
    value = args.get(command.params[0].name)
    if isinstance(value, list):
        return " ".join(value)[:200] or None
    return value


def _roles_text(actor: Actor) -> str:
    if not actor.roles:
        return "no role"
    return "roles " + ", ".join(sorted(actor.roles))


def _clip(text: str, limit: int = 60) -> str:
    text = text.replace("`", "'")
    return text if len(text) <= limit else text[: limit - 1] + "…"
