"""The `contain` dialog: target, action, reason, incident, expiry (blocks) or full/selective
(isolation), then the same request the one-line commands make (`isolate-endpoint`,
`block-domain`, ...); an internal block is asked for only after a second, explicit `internal`
(the command's `--internal`). `cancel` stops it any time."""

from __future__ import annotations

from botbuilder.dialogs import (
    ComponentDialog,
    DialogTurnResult,
    PromptValidatorContext,
    WaterfallDialog,
    WaterfallStepContext,
)
from botbuilder.dialogs.prompts import TextPrompt

from bot.containment.approvals.commands import requested_reply
from bot.containment.approvals.placement import card_place
from bot.containment.approvals.records import MAX_REASON
from bot.containment.approvals.requests import INTERNAL_REFUSAL, Ask, request_containment
from bot.containment.connector import Action
from bot.intel.indicators import IndicatorType, InvalidIndicator, classify
from bot.kernel.commands import Reply, refused_reply
from bot.kernel.errors import DomainError, Refused
from bot.kernel.rbac import Actor
from bot.kernel.services import Services
from dialogs.steps import answer_of, ask, send_card, unless_skipped
from dialogs.turn import actor_of, conversation_of

DIALOG_ID = "contain"
ISOLATION_WORDS = {"full", "selective"}
CONFIRM_INTERNAL = "internal"
ACTIONS = {action.command: action for action in Action}
_SUGGEST = {
    IndicatorType.DOMAIN: Action.BLOCK_DOMAIN,
    IndicatorType.IP: Action.BLOCK_IP,
    IndicatorType.URL: Action.BLOCK_URL,
    IndicatorType.HASH: Action.BLOCK_HASH,
}


def suggested_action(target: str) -> Action:
    """isolate-endpoint for a machine name, else the block matching the indicator's type."""
    if "." not in target and "/" not in target and len(target) not in (40, 64):
        return Action.ISOLATE_ENDPOINT
    try:
        return _SUGGEST[classify(target).type]
    except InvalidIndicator:
        return Action.ISOLATE_ENDPOINT


def _answer(prompt: PromptValidatorContext) -> str:
    return answer_of(prompt).strip()


async def _has_target(prompt: PromptValidatorContext) -> bool:
    text = _answer(prompt)
    return bool(text) and len(text) <= 2048 and len(text.split()) == 1


async def _is_action(prompt: PromptValidatorContext) -> bool:
    return _answer(prompt).lower() in ACTIONS or _answer(prompt).lower() in ("yes", "y", "ok")


async def _has_reason(prompt: PromptValidatorContext) -> bool:
    return 0 < len(_answer(prompt)) <= MAX_REASON


async def _is_isolation(prompt: PromptValidatorContext) -> bool:
    return _answer(prompt).lower() in ISOLATION_WORDS


class ContainDialog(ComponentDialog):
    """Added to the bot's DialogSet at start-up; begun by the `contain` command."""

    def __init__(self, services: Services) -> None:
        super().__init__(DIALOG_ID)
        self.services = services
        self.add_dialog(TextPrompt("target", _has_target))
        self.add_dialog(TextPrompt("action", _is_action))
        self.add_dialog(TextPrompt("reason", _has_reason))
        self.add_dialog(TextPrompt("isolation", _is_isolation))
        self.add_dialog(TextPrompt("text"))
        steps = [
            self._target,
            self._action,
            self._reason,
            self._incident,
            self._expiry,
            self._isolation,
            self._ask,
            self._confirm_internal,
        ]
        self.add_dialog(WaterfallDialog("contain-steps", steps))
        self.initial_dialog_id = "contain-steps"

    async def _target(self, step: WaterfallStepContext) -> DialogTurnResult:
        given = str((step.options or {}).get("target") or "").strip()
        if given:
            return await step.next(given)
        return await ask(
            step,
            "target",
            "What should be contained? A machine name, or a domain, IP, URL or SHA-256."
            " Say `cancel` to stop.",
            "One machine name or indicator, please.",
        )

    async def _action(self, step: WaterfallStepContext) -> DialogTurnResult:
        step.values["target"] = str(step.result).strip()
        suggestion = suggested_action(step.values["target"]).command
        step.values["suggestion"] = suggestion
        choices = ", ".join(ACTIONS)
        return await ask(
            step,
            "action",
            f"Which action? `{suggestion}` (say yes) or: {choices}",
            f"Please answer yes or one of: {choices}.",
        )

    async def _reason(self, step: WaterfallStepContext) -> DialogTurnResult:
        answer = str(step.result).strip().lower()
        # Dialog state is stored as JSON between turns: keep the plain value, not the enum.
        step.values["action"] = ACTIONS.get(answer, ACTIONS[step.values["suggestion"]]).value
        return await ask(
            step,
            "reason",
            "Why? The approvers read this.",
            f"A reason is required (at most {MAX_REASON} characters).",
        )

    async def _incident(self, step: WaterfallStepContext) -> DialogTurnResult:
        step.values["reason"] = str(step.result).strip()
        return await ask(step, "text", "Incident id, e.g. INC-20240502-003? (`none` to skip)")

    async def _expiry(self, step: WaterfallStepContext) -> DialogTurnResult:
        step.values["incident"] = unless_skipped(step.result)
        if not Action(step.values["action"]).is_block:
            return await step.next("")
        prompt = "How long should the block last? 30m, 12h, 7d (90d max), or `none` for no end."
        return await ask(step, "text", prompt)

    async def _isolation(self, step: WaterfallStepContext) -> DialogTurnResult:
        step.values["expires"] = unless_skipped(step.result)
        if Action(step.values["action"]) is not Action.ISOLATE_ENDPOINT:
            return await step.next("")
        prompt = (
            "Full isolation, or selective (Outlook, Teams and Skype for Business keep their"
            " connection)? `full` or `selective`."
        )
        return await ask(step, "isolation", prompt, "Please answer `full` or `selective`.")

    async def _ask(self, step: WaterfallStepContext) -> DialogTurnResult:
        step.values["selective"] = str(step.result or "").strip().lower() == "selective"
        reply = await self._request(step, internal=False)
        if reply.audit_detail != INTERNAL_REFUSAL:
            return await step.end_dialog()
        # The one-line command's `--internal`, as a deliberate second answer.
        prompt = (
            f"Say `{CONFIRM_INTERNAL}` to ask for it anyway (the approval card warns the approvers"
            " that the target is internal), or anything else to stop."
        )
        return await ask(step, "text", prompt)

    async def _confirm_internal(self, step: WaterfallStepContext) -> DialogTurnResult:
        if str(step.result or "").strip().lower() == CONFIRM_INTERNAL:
            await self._request(step, internal=True)
        else:
            await step.context.send_activity("Nothing was requested.")
        return await step.end_dialog()

    async def _request(self, step: WaterfallStepContext, *, internal: bool) -> Reply:
        """The same request the one-line command makes; answered, audited, and returned."""
        actor = actor_of(step.context)
        asked = Ask(
            action=Action(step.values["action"]),
            target=step.values["target"],
            reason=step.values["reason"],
            selective=step.values["selective"],
            incident=step.values["incident"],
            expires=step.values["expires"],
            internal=internal,
        )
        try:
            place = await card_place(self.services, conversation_of(step.context))
            approval = await request_containment(self.services, actor, asked)
        except Refused as exc:
            reply = refused_reply(exc)
        except DomainError as exc:
            # Refused before any record, like the one-line command: audited with the reason.
            reply = Reply(
                text=f"{exc}. Nothing was requested.",
                audit_result="refused",
                audit_detail=f"usage: {exc}"[:300],
            )
        else:
            reply = await requested_reply(
                self.services, approval, conversation_of(step.context), place
            )
        if reply.card is not None:
            await send_card(step.context, reply.card, reply.text or "")
        else:
            await step.context.send_activity(reply.text or "Done.")
        await self._audit(actor, asked, reply, conversation_of(step.context).id)
        return reply

    async def _audit(self, actor: Actor, asked: Ask, reply: Reply, conversation: str) -> None:
        # The `contain` command was audited when the dialog began; the request itself is here.
        await self.services.audit.record(
            actor=actor,
            action=f"command:{asked.action.command}",
            target=reply.audit_target or asked.target[:200],
            parameters={"target": asked.target[:200], "via": "contain dialog"},
            result=reply.audit_result,
            detail=reply.audit_detail,
            conversation=conversation,
            origin="teams",
        )
