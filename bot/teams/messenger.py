"""The Messenger over the Bot Connector: the only code that builds a Teams activity envelope.

A conversation id is resolved to its stored conversation reference
(bot/kernel/conversation_refs.py), which gives the `serviceUrl`. Every outgoing activity,
proactive or a turn's reply (bot/teams/adapter.py sends those here), has its text and cards
redacted once, is refused when it is over Teams' size limit, and goes out through the process's
BotConnector (retries, token refresh). The answer to a card click, an HTTP response body rather
than a sent activity, is made here too (`invoke_answer`), so this is the only place that
redacts what Teams shows. A post or update the caller asks to pace first reserves
the conversation's next send time in the shared pace (bot/kernel/pacing.py) and waits until it;
a turn's replies are not paced, since they answer the user now. Connector errors become the
kernel's DeliveryFailed, so capabilities never see a connector type.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from bot.kernel import conversation_refs
from bot.kernel.messenger import (
    ChannelThread,
    ConversationUnknown,
    DeliveryFailed,
    Message,
    MessageTooLarge,
)
from bot.kernel.pacing import SharedPace
from bot.kernel.redaction import Redactor
from bot.kernel.retry import RETRY_STATUSES
from bot.store import Store
from bot.teams.connector import BotConnector, ConnectorError, PayloadTooLarge
from cards.limits import MAX_MESSAGE_BYTES

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
# An invoke answer of this type shows its text as a message instead of replacing the card.
INVOKE_MESSAGE_TYPE = "application/vnd.microsoft.activity.message"
# The one rule for text: plain (Teams renders no markup in it, so a link a user typed stays
# text) unless the sender marked it as Vigil's own markdown; any other format is made plain.
PLAIN = "plain"
MARKDOWN = "markdown"
# Activity fields a reader sees as text; the rest of the envelope is ids and routing.
_TEXT_FIELDS = ("text", "summary", "speak")
# Few quick retries for callers with a durable retry of their own; longer waits go back to them.
_BRIEF_ATTEMPTS = 3
_BRIEF_MAX_WAIT = 20.0


def envelope(message: Message) -> dict[str, Any]:
    """The Bot Connector activity for a message: its text, and its card as an attachment."""
    activity: dict[str, Any] = {"type": "message"}
    if message.text:
        activity["text"] = message.text
        activity["textFormat"] = MARKDOWN if message.markdown else PLAIN
    if message.card is not None:
        activity["attachments"] = [{"contentType": CARD_CONTENT_TYPE, "content": message.card}]
    return activity


def redacted(activity: dict[str, Any], redactor: Redactor) -> dict[str, Any]:
    """A copy of the activity with everything a reader sees redacted, texts and attachments, and
    its text plain unless it is marked as markdown."""
    shown = dict(activity)
    markdown = shown.get("textFormat") == MARKDOWN
    if isinstance(shown.get("text"), str) and not markdown:
        shown["textFormat"] = PLAIN
    for name in _TEXT_FIELDS:
        if isinstance(shown.get(name), str):
            shown[name] = redactor.redact_shown(shown[name], markdown=markdown)
    if isinstance(shown.get("attachments"), list):
        shown["attachments"] = [
            {**item, "content": redactor.redact_card(item["content"])}
            if isinstance(item, dict) and "content" in item
            else item
            for item in shown["attachments"]
        ]
    if "suggestedActions" in shown:
        shown["suggestedActions"] = redactor.redact_card(shown["suggestedActions"])
    return shown


class TeamsMessenger:
    """The Messenger port (bot/kernel/messenger.py) for Teams, plus the adapter's way out."""

    def __init__(
        self,
        connector: BotConnector,
        store: Store,
        redactor: Redactor,
        pace: SharedPace | None = None,
    ) -> None:
        self.connector = connector
        self.store = store
        self.redactor = redactor
        self.pace = pace or SharedPace(store)

    # The Messenger port

    async def post(
        self, conversation_id: str, message: Message, *, reply_to: str = "", paced: bool = False
    ) -> str:
        service_url = await self._service_url(conversation_id)
        body = self._outgoing(envelope(message))
        if paced:
            await self._wait_turn(conversation_id)
        return await self._send(service_url, conversation_id, body, reply_to)

    async def update(
        self, conversation_id: str, activity_id: str, message: Message, *, paced: bool = False
    ) -> None:
        service_url = await self._service_url(conversation_id)
        body = self._outgoing(envelope(message))
        if paced:
            await self._wait_turn(conversation_id)
        await self._replace(service_url, conversation_id, activity_id, body)

    async def create_channel_conversation(
        self, team_id: str, channel_id: str, message: Message
    ) -> ChannelThread:
        # Any reference saved in the team gives the serviceUrl, the bot account and the tenant.
        known = await conversation_refs.list_for_team(self.store, team_id)
        if not known:
            raise ConversationUnknown(f"team {team_id}")
        reference = known[0].reference
        service_url = str(reference.get("serviceUrl") or "")
        tenant = (reference.get("conversation") or {}).get("tenantId")
        parameters: dict[str, Any] = {
            "isGroup": True,
            "channelData": {"channel": {"id": channel_id}},
            "activity": self._outgoing(envelope(message)),
        }
        if isinstance(reference.get("bot"), dict):
            parameters["bot"] = reference["bot"]
        if tenant:
            parameters["tenantId"] = tenant
            parameters["channelData"]["tenant"] = {"id": tenant}
        try:
            created = await self.connector.create_conversation(service_url, parameters)
        except ConnectorError as exc:
            raise _delivery_failed(exc) from None
        thread = ChannelThread(
            conversation_id=str(created.get("id") or channel_id),
            activity_id=str(created.get("activityId") or created.get("id") or ""),
        )
        await self._remember_channel(known[0], thread.conversation_id, channel_id, service_url)
        return thread

    async def personal_chat(self, user_id: str) -> str | None:
        if not user_id or '"' in user_id:
            return None
        rows = await self.store.fetchall(
            "SELECT conversation_id FROM conversation_refs WHERE conversation_type = 'personal'"
            " AND reference LIKE ? ORDER BY updated_at DESC LIMIT 5",
            f'%"aadObjectId":"{user_id}"%',
        )
        for row in rows:
            reference = await conversation_refs.get(self.store, row["conversation_id"]) or {}
            user = reference.get("user") if isinstance(reference.get("user"), dict) else {}
            if user.get("aadObjectId") == user_id and reference.get("serviceUrl"):
                return row["conversation_id"]
        return None

    async def reaches(self, conversation_id: str) -> bool:
        reference = await conversation_refs.get(self.store, conversation_id)
        return bool(reference and reference.get("serviceUrl"))

    def retrying_briefly(self) -> TeamsMessenger:
        shared = self.connector
        brief = BotConnector(
            shared.http, shared.tokens, max_attempts=_BRIEF_ATTEMPTS, max_wait=_BRIEF_MAX_WAIT
        )
        return TeamsMessenger(brief, self.store, self.redactor, self.pace)

    # The adapter's way out: a turn's replies carry their serviceUrl already.

    def invoke_answer(self, message: Message) -> dict[str, Any]:
        """The body of the HTTP answer to a Universal Action click, redacted and size-checked
        like a sent message: a card replaces the clicked card for this user, text shows as a
        message. MessageTooLarge when Teams would refuse it."""
        if message.card is not None:
            body = {
                "statusCode": 200,
                "type": CARD_CONTENT_TYPE,
                "value": self.redactor.redact_card(message.card),
            }
        else:
            body = {
                "statusCode": 200,
                "type": INVOKE_MESSAGE_TYPE,
                "value": self.redactor.redact_shown(
                    message.text or "Done.", markdown=message.markdown
                ),
            }
        _check_size(body)
        return body

    async def send_activity(
        self, service_url: str, conversation_id: str, activity: dict[str, Any], reply_to: str = ""
    ) -> str:
        """Post an activity (a reply in `reply_to`'s thread when given); its new id."""
        return await self._send(service_url, conversation_id, self._outgoing(activity), reply_to)

    async def replace_activity(
        self, service_url: str, conversation_id: str, activity_id: str, activity: dict[str, Any]
    ) -> str:
        return await self._replace(
            service_url, conversation_id, activity_id, self._outgoing(activity)
        )

    async def delete_activity(
        self, service_url: str, conversation_id: str, activity_id: str
    ) -> None:
        try:
            await self.connector.delete(service_url, conversation_id, activity_id)
        except ConnectorError as exc:
            raise _delivery_failed(exc) from None

    async def _send(
        self, service_url: str, conversation_id: str, body: dict[str, Any], reply_to: str
    ) -> str:
        try:
            return await self.connector.send(
                service_url, conversation_id, body, reply_to_id=reply_to or None
            )
        except ConnectorError as exc:
            raise _delivery_failed(exc) from None

    async def _replace(
        self, service_url: str, conversation_id: str, activity_id: str, body: dict[str, Any]
    ) -> str:
        try:
            return await self.connector.update(service_url, conversation_id, activity_id, body)
        except ConnectorError as exc:
            raise _delivery_failed(exc) from None

    async def _wait_turn(self, conversation_id: str) -> None:
        # A thread's messages count against its channel's budget, as the outbox's do.
        wait = await self.pace.reserve(conversation_refs.base_conversation_id(conversation_id))
        if wait > 0:
            await asyncio.sleep(wait)

    def _outgoing(self, activity: dict[str, Any]) -> dict[str, Any]:
        body = redacted(activity, self.redactor)
        _check_size(body)
        return body

    async def _service_url(self, conversation_id: str) -> str:
        reference = await conversation_refs.get(self.store, conversation_id)
        service_url = str((reference or {}).get("serviceUrl") or "")
        if not service_url:
            raise ConversationUnknown(conversation_id)
        return service_url

    async def _remember_channel(
        self,
        team: conversation_refs.SavedConversation,
        conversation_id: str,
        channel_id: str,
        service_url: str,
    ) -> None:
        """Save a reference for a channel Vigil started a conversation in, so later updates and
        posts there resolve (Teams may never send Vigil an activity from that channel)."""
        if await conversation_refs.get(self.store, conversation_id) is not None:
            return
        reference = {
            "channelId": team.reference.get("channelId") or "msteams",
            "serviceUrl": service_url,
            "conversation": {"id": conversation_id, "conversationType": "channel", "isGroup": True},
        }
        if team.tenant_id:
            reference["conversation"]["tenantId"] = team.tenant_id
        if isinstance(team.reference.get("bot"), dict):
            reference["bot"] = team.reference["bot"]
        where = {
            "team_id": team.team_id,
            "team_name": team.team_name,
            "aad_group_id": team.aad_group_id,
            "channel_id": channel_id,
            "channel_name": None,
        }
        await conversation_refs.save(self.store, reference, where)


def _check_size(body: dict[str, Any]) -> None:
    size = len(json.dumps(body, separators=(",", ":")).encode())
    if size > MAX_MESSAGE_BYTES:
        raise MessageTooLarge(f"not sent: {size} bytes, over Teams' {MAX_MESSAGE_BYTES}")


def _delivery_failed(exc: ConnectorError) -> DeliveryFailed:
    if isinstance(exc, PayloadTooLarge):
        return MessageTooLarge(f"Teams answered 413: {exc.reason}")
    if not exc.status:
        # A timeout or a reset: the same message may get through later.
        return DeliveryFailed(f"Teams was not reached ({exc.reason})", retryable=True)
    return DeliveryFailed(
        f"Teams answered {exc.status}: {exc.reason}",
        status=exc.status,
        retryable=exc.status in RETRY_STATUSES,
    )
