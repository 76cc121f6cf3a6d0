"""The one way in: every message, dialog answer and card click passes here.

It normalises the text once, resolves the actor and their roles, runs the filters (those the
capabilities register, the rate limit, the role check), and dispatches to a command, the active
dialog's next step or a card action. Refusals, usage errors and crashes are answered and audited
here rather than in each handler. Nothing here knows Teams or Bot Framework: the adapter hands
in an `Inbound` and a `DialogPort` (bot/kernel/inbound.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cards
from bot.audit.trail import AuditUnavailable
from bot.kernel import user_directory
from bot.kernel.commands import (
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
from bot.kernel.filters import Filter, RateLimit, clipped, role_filter
from bot.kernel.inbound import ActiveDialog, Click, DialogPort, Inbound, Sender, Turn
from bot.kernel.normalise import Mention, normalise_text
from bot.kernel.rbac import Actor, Role
from bot.kernel.services import Services

log = logging.getLogger(__name__)

CANCEL_WORDS = frozenset({"cancel", "stop", "quit", "exit"})


@dataclass(frozen=True)
class _Line:
    """A message read as a command line; `problem` when it names a command but cannot be split."""

    words: list[str]
    command: Command | None
    problem: str = ""


class Pipeline:
    def __init__(self, services: Services, filters: Sequence[Filter] = ()) -> None:
        self.services = services
        self.registry = services.registry
        limit = RateLimit(services.settings.user_rate_per_minute)
        # The capabilities' filters first: the exec channel refuses before anything counts.
        self.filters: tuple[Filter, ...] = (*filters, limit, role_filter)

    async def handle(self, inbound: Inbound, dialogs: DialogPort | None = None) -> Reply:
        """One inbound activity, start to end; the reply is what the adapter should send."""
        actor = await self.actor_of(inbound.sender)
        if inbound.click is not None:
            return await self.action(
                inbound.click, actor, inbound.conversation, inbound.correlation_id
            )
        return await self.message(
            inbound.text,
            actor,
            inbound.conversation,
            inbound.correlation_id,
            mentions=inbound.mentions,
            dialogs=dialogs,
        )

    async def actor_of(self, sender: Sender) -> Actor:
        """The sender with their roles, from their own id and the groups Vigil knows of."""
        object_id = sender.aad_object_id
        groups: tuple[str, ...] = ()
        if object_id:
            known = await user_directory.get(self.services.store, object_id)
            groups = tuple(known.group_ids) if known else ()
        return Actor(
            aad_object_id=object_id,
            name=sender.name or "unknown user",
            roles=self.services.roles.roles_for(object_id, groups) if object_id else frozenset(),
            tenant_id=sender.tenant_id,
            groups=groups,
        )

    async def message(
        self,
        text: str,
        actor: Actor,
        conversation: Conversation,
        correlation_id: str,
        *,
        mentions: Sequence[Mention] = (),
        dialogs: DialogPort | None = None,
    ) -> Reply:
        """A message: the active dialog's answer if one waits, else a command line."""
        text = normalise_text(text, mentions)
        active = await dialogs.active() if dialogs is not None else None
        if active is not None and dialogs is not None:
            return await self._answer(text, active, actor, conversation, correlation_id, dialogs)
        line = self._read(text)
        command = line.command
        turn = Turn(
            "command",
            actor,
            conversation,
            correlation_id,
            name=command.name if command else "",
            role=command.role if command and not line.problem else None,
            text=text,
        )
        refused = await self._filter(turn)
        if refused is not None:
            return refused
        if not text:
            return Reply(text="Say `help` to see what I can do.", markdown=True)
        if line.problem:
            return await self._usage_only(turn, line.problem)
        if command is None:
            return await self._unknown(turn, line.words[0] if line.words else text)
        return await self._run(command, line.words[1:], turn, dialogs)

    def _read(self, text: str) -> _Line:
        try:
            words = split_words(text)
        except UsageError as exc:
            # A pasted e-mail ("don't") is no command line, but may be full of indicators.
            words = text.split()
            command = self.registry.resolve(words[0]) if words else None
            return _Line(words, command, str(exc) if command else "")
        return _Line(words, self.registry.resolve(words[0]) if words else None)

    async def _answer(
        self,
        text: str,
        active: ActiveDialog,
        actor: Actor,
        conversation: Conversation,
        correlation_id: str,
        dialogs: DialogPort,
    ) -> Reply:
        """The active dialog's next step, with the role it was begun with checked again."""
        if text.lower() in CANCEL_WORDS:
            await dialogs.cancel()
            return Reply(text="Cancelled.")
        turn = Turn(
            "dialog",
            actor,
            conversation,
            correlation_id,
            name=active.name,
            role=active.role,
            text=text,
        )
        if not active.declared:
            # Fail closed: without its role nobody can say who may go on.
            await dialogs.cancel()
            reply = Reply(
                text="I lost track of this conversation; please start it again.",
                audit_result="refused",
                audit_detail="no role recorded for the dialog; cancelled",
            )
            await self._audit(turn, f"dialog:{active.name}", None, {}, reply)
            return reply
        refused = await self._filter(turn, dialogs)
        if refused is not None:
            return refused
        refusal = await self._audit_missing(turn.role)
        if refusal is not None:
            return refusal
        await dialogs.continue_with(turn)
        return Reply()

    async def _run(
        self, command: Command, words: list[str], turn: Turn, dialogs: DialogPort | None
    ) -> Reply:
        action = f"command:{command.name}"
        refusal = await self._audit_missing(command.role)
        if refusal is not None:
            return refusal
        try:
            args = command.parse(words)
        except UsageError as exc:
            # The problem as the redacted line gives it: it quotes words ("unexpected ...").
            audited, problem = self._audited(command, turn)
            reply = _usage_reply(command, problem or str(exc))
            await self._audit(turn, action, None, audited, reply)
            return reply
        call = Invocation(
            command,
            turn.actor,
            args,
            turn.text,
            turn.conversation,
            self.services,
            turn.correlation_id,
        )
        try:
            reply = await command.handler(call) or Reply(text="Done.")
        except Refused as exc:
            reply = refused_reply(exc)
        except DomainError as exc:
            reply = _usage_reply(command, str(exc))
        except Exception:
            log.exception("command %s failed", command.name)
            reply = error_reply(turn.correlation_id)
        audited = self._audited(command, turn)[0]  # the same args when nothing was redacted
        await self._audit(turn, action, _first_arg(command, audited), audited, reply)
        if reply.dialog and dialogs is not None:
            answered = await dialogs.begin(reply.dialog, reply.dialog_options, turn)
            if answered or not (reply.text or reply.card):
                return Reply()
        return reply

    def _audited(self, command: Command, turn: Turn) -> tuple[dict[str, Any], str]:
        """The arguments the audit log keeps, and the usage problem ("" if none), from the line
        redacted as one text before it is split: a credential spread over words (`pwd: S3cr3t`,
        a JSON object, a PEM block) is found whole, which redacting word by word cannot do."""
        words = _words_after_name(self.services.redactor.redact(turn.text))
        try:
            return command.parse(words), ""
        except UsageError as exc:
            return {"words": words}, str(exc)

    async def _unknown(self, turn: Turn, word: str) -> Reply:
        actor = turn.actor
        for fallback in self.registry.fallbacks:
            if not fallback.allowed(actor):
                continue
            call = Invocation(
                fallback,
                actor,
                {},
                turn.text,
                turn.conversation,
                self.services,
                turn.correlation_id,
            )
            try:
                reply = await fallback.handler(call)
            except Exception:
                log.exception("fallback %s failed", fallback.name)
                reply = error_reply(turn.correlation_id)
            if reply is not None:
                await self._audit(turn, f"command:{fallback.name}", None, {}, reply)
                return reply
        suggestions = self.registry.suggest(word, actor)
        hint = ""
        if suggestions:
            best = self.registry.resolve(suggestions[0])
            usage = f" Usage: `{best.usage}`" if best else ""
            hint = f" Did you mean `{suggestions[0]}`?{usage}"
        reply = Reply(
            text=f"I don't know `{clipped(word)}`.{hint} Say `help` for the commands you can run.",
            audit_result="refused",
            audit_detail="unknown command",
        )
        await self._audit(turn, "command:unknown", clipped(word), {}, reply)
        return reply

    async def _usage_only(self, turn: Turn, problem: str) -> Reply:
        reply = Reply(
            text=f"{problem}. Say `help` for usage.", audit_result="refused", audit_detail=problem
        )
        await self._audit(turn, "command:unparsed", None, {}, reply)
        return reply

    async def action(
        self, click: Click, actor: Actor, conversation: Conversation, correlation_id: str
    ) -> Reply:
        """A card button (Action.Execute or a legacy Action.Submit)."""
        action = self.registry.action(click.verb)
        turn = Turn(
            "action",
            actor,
            conversation,
            correlation_id,
            name=click.verb,
            role=action.role if action else None,
            data=click.data,
            refresh=click.refresh,
        )
        refused = await self._filter(turn)
        if refused is not None:
            return refused
        if action is None:
            reply = Reply(
                text="This button is no longer supported.",
                audit_result="refused",
                audit_detail="unknown verb",
            )
            await self._audit(turn, "action:unknown", clipped(click.verb), {}, reply)
            return reply
        refusal = await self._audit_missing(action.role)
        if refusal is not None:
            return refusal
        call = ActionCall(
            action,
            actor,
            click.data,
            conversation,
            self.services,
            correlation_id,
            click.activity_id,
            click.refresh,
        )
        try:
            reply = await action.handler(call)
        except Refused as exc:
            reply = refused_reply(exc)
        except DomainError as exc:
            reply = Reply(text=str(exc), audit_result="refused", audit_detail=str(exc))
        except Exception:
            log.exception("card action %s failed", click.verb)
            reply = error_reply(correlation_id)
        if not click.refresh:
            await self._audit(turn, f"action:{click.verb}", reply.audit_target, click.data, reply)
        return reply

    async def _filter(self, turn: Turn, dialogs: DialogPort | None = None) -> Reply | None:
        """The first refusal of the filters, audited (a refresh never is), or None."""
        for check in self.filters:
            refusal = await check(self.services, turn)
            if refusal is None:
                continue
            if refusal.ends_dialog and dialogs is not None:
                await dialogs.cancel()
            if refusal.audited and not turn.refresh:
                await self._audit(
                    turn, refusal.audit_action, refusal.audit_target, turn.data, refusal.reply
                )
            return refusal.reply
        return None

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
        turn: Turn,
        action: str,
        target: str | None,
        params: Mapping[str, Any],
        reply: Reply,
    ) -> None:
        try:
            await self.services.audit.record(
                actor=turn.actor,
                action=action,
                target=reply.audit_target or target,
                parameters=dict(params),
                result=reply.audit_result,
                detail=reply.audit_detail,
                correlation_id=turn.correlation_id,
                conversation=turn.conversation.id,
                origin="cli" if turn.conversation.kind == "cli" else "teams",
            )
        except AuditUnavailable as exc:
            # Only role-free commands (help, whoami) get here without an audit log.
            log.warning("not audited (%s): %s by %s", exc, action, turn.actor.aad_object_id)


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


def _words_after_name(line: str) -> list[str]:
    try:
        words = split_words(line)
    except UsageError:
        words = line.split()
    return words[1:]


def _first_arg(command: Command, args: Mapping[str, Any]) -> str | None:
    if not command.params:
        return None
    value = args.get(command.params[0].name)
    if isinstance(value, list):
        return " ".join(value)[:200] or None
    return value
