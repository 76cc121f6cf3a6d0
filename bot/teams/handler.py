"""The Teams activity handler: adapts Teams activities to the one way in and renders replies.

It answers a redelivered activity once, persists conversation references, turns an activity
into the pipeline's plain `Inbound` (bot/kernel/pipeline.py normalises, resolves, filters,
audits and dispatches) and runs Bot Framework dialogs behind the pipeline's `DialogPort`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from botbuilder.core import (
    CardFactory,
    InvokeResponse,
    MessageFactory,
    PrivateConversationState,
    StatePropertyAccessor,
    TurnContext,
)
from botbuilder.core.teams import TeamsActivityHandler, TeamsInfo
from botbuilder.dialogs import DialogContext, DialogSet, DialogTurnStatus
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount

from bot.kernel import conversation_refs, user_directory
from bot.kernel.commands import Conversation, Reply
from bot.kernel.inbound import ActiveDialog, Click, Inbound, Sender, Turn
from bot.kernel.logs import new_correlation_id
from bot.kernel.messenger import Message, MessageTooLarge
from bot.kernel.normalise import Mention
from bot.kernel.pipeline import Pipeline, error_reply
from bot.kernel.rbac import Role
from bot.kernel.services import Services
from bot.teams.messenger import TeamsMessenger
from dialogs.turn import set_turn

log = logging.getLogger(__name__)

# Teams retries a delivery it did not see acknowledged; a day covers its retry window with room.
DEDUPE_TTL_SECONDS = 24 * 3600
TOO_LARGE = "The answer is too large for Teams to show; nothing else went wrong."


class TeamsDialogs:
    """The pipeline's dialog operations (bot.kernel.inbound.DialogPort) for one turn.

    Beside the dialog stack it keeps the role the dialog was begun with, in the same private
    conversation state, so the pipeline can check it on every answer."""

    def __init__(
        self, turn_context: TurnContext, dialogs: DialogSet, roles: StatePropertyAccessor
    ) -> None:
        self.turn_context = turn_context
        self.dialogs = dialogs
        self.roles = roles
        self._context: DialogContext | None = None

    async def _dialog_context(self) -> DialogContext:
        if self._context is None:
            self._context = await self.dialogs.create_context(self.turn_context)
        return self._context

    async def active(self) -> ActiveDialog | None:
        context = await self._dialog_context()
        if context.active_dialog is None:
            return None
        name = context.active_dialog.id
        record = await self.roles.get(self.turn_context)
        if not isinstance(record, dict) or record.get("dialog") != name:
            return ActiveDialog(name, None, declared=False)
        try:
            role = Role(record["role"]) if record.get("role") else None
        except ValueError:
            return ActiveDialog(name, None, declared=False)
        return ActiveDialog(name, role)

    async def begin(self, name: str, options: Mapping[str, Any], turn: Turn) -> bool:
        context = await self._dialog_context()
        role = turn.role.value if turn.role else None
        await self.roles.set(self.turn_context, {"dialog": name, "role": role})
        set_turn(self.turn_context, turn)
        result = await context.begin_dialog(name, dict(options))
        return result.status != DialogTurnStatus.Empty

    async def continue_with(self, turn: Turn) -> None:
        # Prompts and validators read the activity's text: give them the normalised answer.
        self.turn_context.activity.text = turn.text
        set_turn(self.turn_context, turn)
        await (await self._dialog_context()).continue_dialog()

    async def cancel(self) -> None:
        await (await self._dialog_context()).cancel_all_dialogs()
        await self.roles.delete(self.turn_context)


class VigilTeamsHandler(TeamsActivityHandler):
    def __init__(
        self,
        services: Services,
        pipeline: Pipeline,
        dialog_state: PrivateConversationState,
        dialogs: DialogSet,
        welcome_card: Callable[[str | None, str | None], dict[str, Any]],
        messenger: TeamsMessenger,
    ) -> None:
        self.services = services
        self.messenger = messenger
        self.pipeline = pipeline
        self.dialog_state = dialog_state
        self.dialogs = dialogs
        self.dialog_roles = dialog_state.create_property("dialog-role")
        self.welcome_card = welcome_card

    async def on_turn(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if activity.type in (ActivityTypes.message, ActivityTypes.invoke) and activity.id:
            key = f"{activity.conversation.id}|{activity.id}"
            if not await self.services.store.claim_once("activity", key, DEDUPE_TTL_SECONDS):
                log.info("redelivered activity %s answered once already", activity.id)
                if activity.type == ActivityTypes.invoke:
                    answer = self._invoke_answer(Reply(text="Already handled."))
                    await turn_context.send_activity(
                        Activity(type=ActivityTypes.invoke_response, value=answer)
                    )
                return
        await self._remember(turn_context)
        await super().on_turn(turn_context)
        await self.dialog_state.save_changes(turn_context)

    async def _remember(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        reference = TurnContext.get_conversation_reference(activity).serialize()
        team = _team_info(activity)
        await conversation_refs.save(self.services.store, reference, team)
        user = activity.from_property
        if user is not None and user.aad_object_id:
            await user_directory.remember(
                self.services.store,
                aad_object_id=user.aad_object_id,
                name=user.name or "",
                tenant_id=_tenant_id(activity),
            )

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if activity.value and not (activity.text or "").strip():
            # Legacy Action.Submit: the button's data arrives as the message value.
            await self._legacy_submit(turn_context)
            return
        inbound = Inbound(
            sender_of(activity),
            conversation_of(activity),
            new_correlation_id(),
            text=activity.text or "",
            mentions=mentions_of(activity),
        )
        dialogs = TeamsDialogs(turn_context, self.dialogs, self.dialog_roles)
        reply = await self.pipeline.handle(inbound, dialogs)
        await send_reply(turn_context, reply)

    async def _legacy_submit(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        value = activity.value
        verb = value.get("verb") if isinstance(value, dict) else None
        if not isinstance(verb, str):
            await send_reply(turn_context, Reply(text="That button sent nothing I understand."))
            return
        data = value.get("data", value)
        click = Click(
            verb, data if isinstance(data, dict) else {}, activity_id=activity.reply_to_id or ""
        )
        inbound = Inbound(
            sender_of(activity), conversation_of(activity), new_correlation_id(), click=click
        )
        reply = await self.pipeline.handle(inbound)
        if reply.card is not None and activity.reply_to_id:
            # A Submit cannot answer with a card; update the card it came from instead.
            updated = MessageFactory.attachment(CardFactory.adaptive_card(reply.card))
            updated.id = activity.reply_to_id
            await turn_context.update_activity(updated)
            if reply.text:
                await turn_context.send_activity(MessageFactory.text(reply.text))
            return
        await send_reply(turn_context, reply)

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        activity = turn_context.activity
        if activity.name != "adaptiveCard/action":
            return await super().on_invoke_activity(turn_context)
        value = activity.value if isinstance(activity.value, dict) else {}
        action = value.get("action") if isinstance(value.get("action"), dict) else {}
        verb = action.get("verb")
        data = action.get("data") if isinstance(action.get("data"), dict) else {}
        if not isinstance(verb, str) or not verb:
            return self._invoke_answer(Reply(text="That button sent no action."), status=400)
        click = Click(
            verb,
            data,
            activity_id=activity.reply_to_id or "",
            refresh=value.get("trigger") == "automatic",
        )
        inbound = Inbound(
            sender_of(activity), conversation_of(activity), new_correlation_id(), click=click
        )
        return self._invoke_answer(await self.pipeline.handle(inbound))

    def _invoke_answer(self, reply: Reply, status: int = 200) -> InvokeResponse:
        # Universal Actions: the Messenger makes the body (redacted, within Teams' size limit).
        try:
            body = self.messenger.invoke_answer(Message(text=reply.text or "", card=reply.card))
        except MessageTooLarge:
            body = self.messenger.invoke_answer(Message(text=TOO_LARGE))
        return InvokeResponse(status=status, body=body)

    async def on_conversation_update_activity(self, turn_context: TurnContext) -> None:
        # Handled here rather than by TeamsActivityHandler, whose member lookup re-raises any
        # connector error but ConversationNotFound; a failed lookup only loses the name.
        activity = turn_context.activity
        for member in activity.members_added or []:
            bot_added = member.id == activity.recipient.id
            await self._welcome(turn_context, None if bot_added else member)

    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        await self._welcome(turn_context, None)

    async def _welcome(self, turn_context: TurnContext, member: ChannelAccount | None) -> None:
        activity = turn_context.activity
        who = member.id if member else "bot"
        # Teams sends conversationUpdate and installationUpdate for one install: welcome once.
        key = f"{activity.conversation.id}|{who}"
        if not await self.services.store.claim_once("welcome", key, 365 * 24 * 3600):
            return
        name = (member.name or await _member_name(turn_context, member.id)) if member else None
        card = self.welcome_card(name, activity.conversation.conversation_type)
        await turn_context.send_activity(MessageFactory.attachment(CardFactory.adaptive_card(card)))


async def _member_name(turn_context: TurnContext, member_id: str) -> str:
    """Teams sends new members without names; ask the connector, and greet without on failure."""
    try:
        member = await TeamsInfo.get_member(turn_context, member_id)
    except Exception as exc:  # an expected connector answer, not a bug: no traceback
        log.warning("could not look up new member %s (%s)", member_id, type(exc).__name__)
        return ""
    return member.name or ""


def mentions_of(activity: Activity) -> tuple[Mention, ...]:
    """The activity's mention entities as plain data for the pipeline, which removes their
    markup; malformed ones are left out (their markup then goes as stray markup)."""
    bot_id = activity.recipient.id if activity.recipient else None
    found: list[Mention] = []
    for entity in activity.entities or []:
        props = entity.additional_properties or {}
        mentioned = props.get("mentioned") if entity.type == "mention" else None
        mention_text = props.get("text")
        if not isinstance(mentioned, dict) or not isinstance(mention_text, str) or not mention_text:
            continue
        name = mentioned.get("name")
        found.append(
            Mention(
                mention_text,
                is_bot=bool(bot_id) and mentioned.get("id") == bot_id,
                name=name if isinstance(name, str) else "",
            )
        )
    return tuple(found)


def sender_of(activity: Activity) -> Sender:
    user = activity.from_property or ChannelAccount()
    return Sender(user.aad_object_id or "", user.name or "", _tenant_id(activity))


def conversation_of(activity: Activity) -> Conversation:
    channel_data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    team = channel_data.get("team") if isinstance(channel_data.get("team"), dict) else {}
    channel = channel_data.get("channel") if isinstance(channel_data.get("channel"), dict) else {}
    conversation = activity.conversation
    return Conversation(
        id=conversation.id if conversation else "",
        kind=(conversation.conversation_type if conversation else None) or "personal",
        tenant_id=_tenant_id(activity),
        team_id=str(team.get("id") or ""),
        team_aad_group_id=str(team.get("aadGroupId") or ""),
        channel_id=str(channel.get("id") or ""),
        channel_name=str(channel.get("name") or ""),
    )


def _team_info(activity: Activity) -> dict[str, str] | None:
    conversation = conversation_of(activity)
    if not conversation.team_id:
        return None
    channel_data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    team = channel_data.get("team") or {}
    return {
        "team_id": conversation.team_id,
        "aad_group_id": conversation.team_aad_group_id,
        "team_name": str(team.get("name") or ""),
        "channel_id": conversation.channel_id,
        "channel_name": conversation.channel_name,
    }


def _tenant_id(activity: Activity) -> str:
    if activity.conversation and activity.conversation.tenant_id:
        return activity.conversation.tenant_id
    channel_data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = channel_data.get("tenant")
    return str(tenant.get("id") or "") if isinstance(tenant, dict) else ""


async def send_reply(turn_context: TurnContext, reply: Reply) -> None:
    """Post a reply; the adapter sends it through the TeamsMessenger, which redacts it."""
    if reply.card is not None:
        message = MessageFactory.attachment(CardFactory.adaptive_card(reply.card))
        if reply.text:
            message.text = reply.text
    elif reply.text:
        message = MessageFactory.text(reply.text)
    else:
        return
    if reply.markdown:
        message.text_format = "markdown"  # the Messenger sends any other text as plain text
    await turn_context.send_activity(message)


async def on_turn_error(turn_context: TurnContext, error: Exception) -> None:
    """The adapter's on_turn_error: one log record with the traceback and a correlation id; the
    user sees only the id (the reply goes out through the Messenger, redacted like any other).
    The reply is tried first so that a failed reply is told in the same record."""
    correlation_id = new_correlation_id()
    reply_failed = ""
    try:
        await send_reply(turn_context, error_reply(correlation_id))
    except Exception as exc:
        reply_failed = f"; the error reply could not be sent either ({type(exc).__name__})"
    log.error(
        "turn failed (correlation id %s)%s",
        correlation_id,
        reply_failed,
        exc_info=(type(error), error, error.__traceback__),
    )
