"""The `create-incident` dialog: title, severity, description, optional indicators or alert id,
then the incident is opened exactly as the one-line command does."""

from __future__ import annotations

from botbuilder.core import CardFactory, MessageFactory
from botbuilder.dialogs import (
    ComponentDialog,
    DialogTurnResult,
    PromptValidatorContext,
    WaterfallDialog,
    WaterfallStepContext,
)
from botbuilder.dialogs.prompts import PromptOptions, TextPrompt

from bot.incidents.opening import open_incident, parse_indicators, parse_severity
from bot.incidents.presentation import current_card, where_text
from bot.incidents.records import INCIDENT_ID, MAX_TITLE, Severity, clean_text
from bot.kernel.commands import Conversation
from bot.kernel.errors import DomainError
from bot.kernel.services import Services
from dialogs.turn import actor_of

DIALOG_ID = "incident"
SKIP_WORDS = {"none", "no", "skip", "-"}
SEVERITIES = ", ".join(s.value for s in Severity)


async def _has_title(prompt: PromptValidatorContext) -> bool:
    text = prompt.recognized.value if prompt.recognized.succeeded else ""
    return bool(clean_text(text or "", MAX_TITLE))


async def _is_severity(prompt: PromptValidatorContext) -> bool:
    text = prompt.recognized.value if prompt.recognized.succeeded else ""
    return (text or "").strip().lower() in {severity.value for severity in Severity}


def _conversation(step: WaterfallStepContext) -> Conversation:
    activity = step.context.activity
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    team = data.get("team") if isinstance(data.get("team"), dict) else {}
    channel = data.get("channel") if isinstance(data.get("channel"), dict) else {}
    conversation = activity.conversation
    return Conversation(
        id=conversation.id if conversation else "",
        kind=(conversation.conversation_type if conversation else None) or "personal",
        team_id=str(team.get("id") or ""),
        team_aad_group_id=str(team.get("aadGroupId") or ""),
        channel_id=str(channel.get("id") or ""),
    )


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
        return await step.prompt(
            "title",
            PromptOptions(
                prompt=MessageFactory.text("Title of the incident? Say `cancel` to stop."),
                retry_prompt=MessageFactory.text("The title cannot be empty. What is it about?"),
            ),
        )

    async def _severity(self, step: WaterfallStepContext) -> DialogTurnResult:
        step.values["title"] = step.result
        return await step.prompt(
            "severity",
            PromptOptions(
                prompt=MessageFactory.text(f"Severity? ({SEVERITIES})"),
                retry_prompt=MessageFactory.text(f"Please answer one of: {SEVERITIES}."),
            ),
        )

    async def _description(self, step: WaterfallStepContext) -> DialogTurnResult:
        step.values["severity"] = step.result
        prompt = "A short description? (`none` to skip)"
        return await step.prompt("text", PromptOptions(prompt=MessageFactory.text(prompt)))

    async def _related(self, step: WaterfallStepContext) -> DialogTurnResult:
        step.values["description"] = _unless_skipped(step.result)
        prompt = "Related indicators or an alert id? (`none` to skip)"
        return await step.prompt("text", PromptOptions(prompt=MessageFactory.text(prompt)))

    async def _open(self, step: WaterfallStepContext) -> DialogTurnResult:
        related = _unless_skipped(step.result)
        alert = ""
        words = related.split()
        if len(words) == 1 and not INCIDENT_ID.fullmatch(words[0]) and words[0].startswith("al"):
            alert, related = words[0], ""
        try:
            incident = await open_incident(
                self.services,
                actor_of(step.context),
                _conversation(step),
                title=step.values["title"],
                severity=parse_severity(step.values["severity"]),
                description=step.values["description"],
                indicators=parse_indicators(related),
                alert_id=alert,
            )
        except DomainError as exc:
            await step.context.send_activity(f"{exc}. Nothing was opened.")
            return await step.end_dialog()
        card = await current_card(self.services.store, incident)
        message = MessageFactory.attachment(CardFactory.adaptive_card(card))
        message.text = where_text(incident, created=True)
        await step.context.send_activity(message)
        return await step.end_dialog()


def _unless_skipped(text: object) -> str:
    value = str(text or "").strip()
    return "" if value.lower() in SKIP_WORDS else value
