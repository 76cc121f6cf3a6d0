"""The `exec-summary` dialog: show the draft card, let the commander edit each part (status line,
impact, actions taken, next steps, next update, internal names), then Post or Cancel.

Everything lives in the stored dialog state (the draft as JSON and the post key), so a restart
between turns loses nothing and a repeated `post` posts once.
"""

from __future__ import annotations

import time

from botbuilder.dialogs import (
    ComponentDialog,
    DialogTurnResult,
    PromptValidatorContext,
    WaterfallDialog,
    WaterfallStepContext,
)
from botbuilder.dialogs.prompts import TextPrompt

import cards
from bot.kernel.services import Services
from bot.summaries import editing
from bot.summaries.commands import DIALOG_ID
from bot.summaries.draft import Draft
from bot.summaries.posting import SummaryError, post_summary
from bot.summaries.presentation import card_data
from bot.summaries.redaction import internal_names, redact
from bot.summaries.settings import summary_settings
from cards.plaintext import display
from dialogs.steps import answer_of, ask, send_card
from dialogs.turn import actor_of

POST_WORDS = frozenset({"post", "send", "yes", "confirm"})
NO_WORDS = frozenset({"no", "don't", "dont", "discard"})
KEEP_NAMES = frozenset({"yes", "keep", "names", "real"})
USE_ROLES = frozenset({"no", "roles", "ok", "redact"})
MAX_NAMES_SHOWN = 10


async def _is_time(prompt: PromptValidatorContext) -> bool:
    text = answer_of(prompt)
    if editing.is_keep(text) or editing.is_clear(text):
        return True
    try:
        editing.parse_next_update(text, time.time())
    except ValueError:
        return False
    return True


def _one_of(*words: frozenset[str]):
    allowed = frozenset().union(*words)

    async def validate(prompt: PromptValidatorContext) -> bool:
        return answer_of(prompt).strip().lower() in allowed

    return validate


class ExecSummaryDialog(ComponentDialog):
    def __init__(self, services: Services) -> None:
        super().__init__(DIALOG_ID)
        self.services = services
        # Loaded here so a wrong VIGIL_EXEC_CHANNEL or role map stops the start-up, naming the key.
        self.settings = summary_settings(services)
        self.add_dialog(TextPrompt("text"))
        self.add_dialog(TextPrompt("time", _is_time))
        self.add_dialog(TextPrompt("names", _one_of(KEEP_NAMES, USE_ROLES)))
        self.add_dialog(TextPrompt("confirm", _one_of(POST_WORDS, NO_WORDS)))
        steps = [
            self._status,
            self._impact,
            self._actions,
            self._next_steps,
            self._next_update,
            self._names,
            self._confirm,
            self._post,
        ]
        self.add_dialog(WaterfallDialog("exec-summary-steps", steps))
        self.initial_dialog_id = "exec-summary-steps"

    def _draft(self, step: WaterfallStepContext) -> Draft:
        return Draft.from_dict(step.values.get("draft") or step.options["draft"])

    def _save(self, step: WaterfallStepContext, draft: Draft) -> None:
        step.values["draft"] = draft.to_dict()

    async def _card(self, step: WaterfallStepContext, draft: Draft, text: str, preview: bool):
        data = card_data(
            draft, self.settings.policy, self.services.redactor.redact_pii, preview=preview
        )
        await send_card(step.context, cards.render("exec_summary", data), text)

    async def _ask(self, step: WaterfallStepContext, text: str, prompt: str = "text"):
        retry = None
        if prompt == "time":
            retry = "Say a time like `in 2h`, `in 45m` or `14:00 UTC` (5 minutes to 3 days away)."
        return await ask(step, prompt, text, retry)

    async def _status(self, step: WaterfallStepContext) -> DialogTurnResult:
        draft = self._draft(step)
        self._save(step, draft)
        await self._card(
            step,
            draft,
            f"Draft executive summary for {draft.incident_id} (not posted yet). Say `cancel` "
            "at any time to stop.",
            preview=True,
        )
        return await self._ask(step, "Status line? Send new text, or `ok` to keep it.")

    async def _impact(self, step: WaterfallStepContext) -> DialogTurnResult:
        draft = self._draft(step)
        draft.status = editing.edit_text(draft.status, str(step.result or ""), 200) or draft.status
        self._save(step, draft)
        if not draft.impact:
            ask = "The impact is unknown. What is it? (`skip` shows it as being assessed)"
        else:
            ask = "Impact? Send new text, or `ok` to keep it."
        return await self._ask(step, ask)

    async def _actions(self, step: WaterfallStepContext) -> DialogTurnResult:
        draft = self._draft(step)
        answer = str(step.result or "")
        if answer.strip().lower() != "skip":
            draft.impact = editing.edit_text(draft.impact, answer)
        self._save(step, draft)
        return await self._ask(
            step,
            "Actions taken? `ok` keeps the list on the card; or send the list, one per line "
            "(or separated by `;`); `none` clears it.",
        )

    async def _next_steps(self, step: WaterfallStepContext) -> DialogTurnResult:
        draft = self._draft(step)
        draft.actions_taken, draft.actions_more = editing.edit_shown_list(
            draft.actions_taken, draft.actions_more, str(step.result or "")
        )
        self._save(step, draft)
        return await self._ask(
            step, "Next steps? `ok` keeps them; or send them one per line (or `;`); `none` clears."
        )

    async def _next_update(self, step: WaterfallStepContext) -> DialogTurnResult:
        draft = self._draft(step)
        draft.next_steps, draft.next_steps_more = editing.edit_shown_list(
            draft.next_steps, draft.next_steps_more, str(step.result or "")
        )
        self._save(step, draft)
        return await self._ask(
            step,
            "Time of the next update? `in 2h`, `14:00 UTC`, `ok` keeps the card's time, "
            "`none` for no planned update.",
            "time",
        )

    async def _names(self, step: WaterfallStepContext) -> DialogTurnResult:
        draft = self._draft(step)
        answer = str(step.result or "")
        if editing.is_clear(answer):
            draft.next_update_at = None
        elif not editing.is_keep(answer):
            draft.next_update_at = editing.parse_next_update(answer, time.time())
        self._save(step, draft)
        names = internal_names(_texts(draft), self.settings.policy, hosts=draft.internal_hosts)
        step.values["names"] = names
        if not names:
            return await step.next(None)
        shown = "; ".join(
            f"{display(name, 80)} → {display(self._role(draft, name), 100)}"
            for name in names[:MAX_NAMES_SHOWN]
        )
        more = f" (and {len(names) - MAX_NAMES_SHOWN} more)" if len(names) > MAX_NAMES_SHOWN else ""
        return await self._ask(
            step,
            f"Internal names are shown by their role: {shown}{more}. Keep the real names instead? "
            "(`yes` keeps them, `no` uses the roles)",
            "names",
        )

    def _role(self, draft: Draft, name: str) -> str:
        return redact(name, self.settings.policy, hosts=draft.internal_hosts)

    async def _confirm(self, step: WaterfallStepContext) -> DialogTurnResult:
        draft = self._draft(step)
        answer = str(step.result or "").strip().lower()
        draft.kept_names = set(step.values.get("names") or ()) if answer in KEEP_NAMES else set()
        self._save(step, draft)
        await self._card(step, draft, "This is what the exec channel will see:", preview=False)
        return await self._ask(
            step, "Post it to the exec channel? Say `post`, or `cancel`.", "confirm"
        )

    async def _post(self, step: WaterfallStepContext) -> DialogTurnResult:
        if str(step.result or "").strip().lower() not in POST_WORDS:
            await step.context.send_activity("Cancelled. Nothing was posted.")
            return await step.end_dialog()
        draft = self._draft(step)
        conversation = step.context.activity.conversation
        try:
            await post_summary(
                self.services,
                draft,
                actor_of(step.context),
                key=str(step.options.get("key") or ""),
                conversation=conversation.id if conversation else "",
            )
        except SummaryError as exc:
            await step.context.send_activity(str(exc))
            return await step.end_dialog()
        await step.context.send_activity(
            f"Posted the executive summary of {draft.incident_id} to the exec channel; a copy "
            "is on the incident timeline."
        )
        return await step.end_dialog()


def _texts(draft: Draft) -> list[str]:
    return [draft.title, draft.status, draft.impact, *draft.actions_taken, *draft.next_steps]
