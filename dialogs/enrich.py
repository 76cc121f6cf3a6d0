"""The `enrich` dialog: ask for indicators, re-prompt until some are found, show the verdict,
then offer what can follow (checking more, for now)."""

from __future__ import annotations

from botbuilder.dialogs import (
    ComponentDialog,
    DialogTurnResult,
    PromptValidatorContext,
    WaterfallDialog,
    WaterfallStepContext,
)
from botbuilder.dialogs.prompts import TextPrompt

from bot.intel.commands import check_reply
from bot.intel.indicators import extract_in_worker
from bot.intel.presentation import extraction_note
from bot.kernel.services import Services
from dialogs.steps import answer_of, ask, send_card
from dialogs.turn import actor_of

DIALOG_ID = "enrich"
ASK = (
    "Which indicators should I check? Paste IPs, domains, URLs or hashes (defanged is fine), "
    "or a whole e-mail. Say `cancel` to stop."
)
RETRY = (
    "I found no IP address, domain, URL or MD5/SHA-1/SHA-256 hash in that. Examples: "
    "`198.51.100.23`, `evil[.]example[.]com`, `hxxps://evil.example.com/login`, "
    "`44d88612fea8a8f36de82e1f5c8eb5a5`. Say `cancel` to stop."
)
NEXT = "Say `more` to check other indicators, or `done`."
MORE_WORDS = {"more", "again", "yes", "another"}


async def _has_indicators(prompt: PromptValidatorContext) -> bool:
    text = answer_of(prompt)
    return bool(text and (await extract_in_worker(text)).indicators)


class EnrichDialog(ComponentDialog):
    """Added to the bot's DialogSet at start-up; begun by the `enrich` command."""

    def __init__(self, services: Services) -> None:
        super().__init__(DIALOG_ID)
        self.services = services
        self.add_dialog(TextPrompt("indicators", _has_indicators))
        self.add_dialog(TextPrompt("next"))
        self.add_dialog(WaterfallDialog("enrich-steps", [self._ask, self._check, self._follow_up]))
        self.initial_dialog_id = "enrich-steps"

    async def _ask(self, step: WaterfallStepContext) -> DialogTurnResult:
        return await ask(step, "indicators", ASK, RETRY)

    async def _check(self, step: WaterfallStepContext) -> DialogTurnResult:
        found = await extract_in_worker(step.result)
        reply = await check_reply(
            self.services,
            actor_of(step.context),
            found.indicators,
            left_out=found.left_out,
            conversation=step.context.activity.conversation.id,
        )
        await send_card(step.context, reply.card, extraction_note(found))
        return await ask(step, "next", NEXT)

    async def _follow_up(self, step: WaterfallStepContext) -> DialogTurnResult:
        if str(step.result or "").strip().lower() in MORE_WORDS:
            return await step.replace_dialog(self.initial_dialog_id, step.options)
        await step.context.send_activity("Done.")
        return await step.end_dialog()
