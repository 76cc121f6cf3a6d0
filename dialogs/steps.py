"""What the dialogs' waterfall steps share: asking a question, reading the answer a validator
sees, leaving out an optional answer, and sending a card."""

from __future__ import annotations

from typing import Any

from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.dialogs import DialogTurnResult, PromptValidatorContext, WaterfallStepContext
from botbuilder.dialogs.prompts import PromptOptions

# Answers to an optional question that mean "nothing".
SKIP_WORDS = frozenset({"none", "no", "skip", "-"})


async def ask(
    step: WaterfallStepContext, prompt: str, text: str, retry: str | None = None
) -> DialogTurnResult:
    """Ask `text` through the prompt dialog `prompt`; `retry` is said when its validator refuses
    the answer (without one, the question is asked again)."""
    return await step.prompt(
        prompt,
        PromptOptions(
            prompt=MessageFactory.text(text),
            retry_prompt=MessageFactory.text(retry) if retry else None,
        ),
    )


def answer_of(prompt: PromptValidatorContext) -> str:
    """The answer a validator judges: the recognised text, or "" when there is none."""
    return str(prompt.recognized.value or "") if prompt.recognized.succeeded else ""


def unless_skipped(answer: object) -> str:
    """An optional answer, stripped; "" when it says to skip."""
    value = str(answer or "").strip()
    return "" if value.lower() in SKIP_WORDS else value


async def send_card(context: TurnContext, card: dict[str, Any], text: str | None = None) -> None:
    """Send `card` as an Adaptive Card, with `text` (when given) beside it."""
    message = MessageFactory.attachment(CardFactory.adaptive_card(card))
    if text is not None:
        message.text = text
    await context.send_activity(message)
