"""The `create-incident` dialog: title, severity, description, optional indicators or alert id,
then the incident is opened exactly as the one-line command does."""

from __future__ import annotations

import uuid

from botbuilder.dialogs import (
    ComponentDialog,
    DialogTurnResult,
    PromptValidatorContext,
    WaterfallDialog,
    WaterfallStepContext,
)
from botbuilder.dialogs.prompts import TextPrompt

from bot.incidents.opening import open_incident, parse_indicators, parse_severity
from bot.incidents.presentation import current_card, where_text
from bot.incidents.records import INCIDENT_ID, MAX_TITLE, Severity, clean_text
from bot.kernel.errors import DomainError
from bot.kernel.services import Services
from dialogs.steps import answer_of, ask, send_card, unless_skipped
from dialogs.turn import actor_of, conversation_of

DIALOG_ID = "incident"
SEVERITIES = ", ".join(s.value for s in Severity)


async def _has_title(prompt: PromptValidatorContext) -> bool:
    return bool(clean_text(answer_of(prompt), MAX_TITLE))


async def _is_severity(prompt: PromptValidatorContext) -> bool:
    return answer_of(prompt).strip().lower() in {severity.value for severity in Severity}


class IncidentDialog(ComponentDialog):
    def __init__(self, services: Services) -> None:
        super().__init__(DIALOG_ID)
        self.services = services
        self.add_dialog(TextPrompt("title", _has_title))
        self.add_dialog(TextPrompt("severity", _is_severity))
        self.add_dialog(TextPrompt("text"))
        steps = [self._title, self._severity, self._description, self._related, self._open]
        self.add_dialog(WaterfallDialog("incident-steps", steps))
        self.initial_dialog_id = "incident-steps"

    async def _title(self, step: WaterfallStepContext) -> DialogTurnResult:
        # This run's key: should the last step run twice, it finds the incident it opened.
        step.values["run"] = uuid.uuid4().hex
        return await ask(
            step,
            "title",
            "Title of the incident? Say `cancel` to stop.",
            "The title cannot be empty. What is it about?",
        )

    async def _severity(self, step: WaterfallStepContext) -> DialogTurnResult:
        step.values["title"] = step.result
        return await ask(
            step, "severity", f"Severity? ({SEVERITIES})", f"Please answer one of: {SEVERITIES}."
        )

    async def _description(self, step: WaterfallStepContext) -> DialogTurnResult:
        step.values["severity"] = step.result
        return await ask(step, "text", "A short description? (`none` to skip)")

    async def _related(self, step: WaterfallStepContext) -> DialogTurnResult:
        step.values["description"] = unless_skipped(step.result)
        return await ask(step, "text", "Related indicators or an alert id? (`none` to skip)")

    async def _open(self, step: WaterfallStepContext) -> DialogTurnResult:
        related = unless_skipped(step.result)
        alert = ""
        words = related.split()
        if len(words) == 1 and not INCIDENT_ID.fullmatch(words[0]) and words[0].startswith("al"):
            alert, related = words[0], ""
        try:
            incident = await open_incident(
                self.services,
                actor_of(step.context),
                conversation_of(step.context),
                title=step.values["title"],
                severity=parse_severity(step.values["severity"]),
                description=step.values["description"],
                indicators=parse_indicators(related),
                alert_id=alert,
                request_key=f"dialog:{step.values['run']}",
            )
        except DomainError as exc:
            await step.context.send_activity(f"{exc}. Nothing was opened.")
            return await step.end_dialog()
        card = await current_card(self.services.store, incident)
        await send_card(step.context, card, where_text(incident, created=True))
        return await step.end_dialog()
