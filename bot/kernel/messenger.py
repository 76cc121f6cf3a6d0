"""The Messenger port: the one way out to Teams, in domain terms.

Capabilities hand it a conversation id and a `Message` (text, a card, or both). The
implementation (bot/teams/messenger.py) resolves the conversation id to the stored conversation
reference, builds the activity (its text plain unless the Message says it is Vigil's own
markdown), redacts it once, checks Teams' size limit, waits for the
conversation's turn under Teams' rate limits when the caller asks for pacing, and sends it.
Nothing here knows Bot Framework, a `serviceUrl` or an activity envelope, so a capability never
does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Message:
    """What to show: text, an Adaptive Card, or both (the text then shows with the card).

    The text goes as plain text, so nothing a user typed in it renders as a link or markup;
    `markdown=True` only for text Vigil wrote in full, with no user input in it."""

    text: str = ""
    card: dict[str, Any] | None = None
    markdown: bool = False


@dataclass(frozen=True)
class ChannelThread:
    """A conversation started in a channel: where its first message is, to update it later."""

    conversation_id: str
    activity_id: str


class DeliveryFailed(Exception):
    """The message was not delivered, for the reason given. `status` is Teams' HTTP answer (0:
    none); `retryable` says whether the same message may succeed later (throttling, an outage)."""

    def __init__(self, reason: str, *, status: int = 0, retryable: bool = False) -> None:
        super().__init__(reason)
        self.status = status
        self.retryable = retryable


class MessageTooLarge(DeliveryFailed):
    """The message is over Teams' size limit; a caller may send a shorter form."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, status=413)


class ConversationUnknown(DeliveryFailed):
    """Vigil holds no conversation reference for it (the bot was never installed there)."""

    def __init__(self, conversation_id: str) -> None:
        super().__init__(f"no saved conversation reference for {conversation_id[:80]}")
        self.conversation_id = conversation_id


class Messenger(Protocol):
    """Posts, replies and card updates to Teams conversations, known by their conversation id."""

    async def post(
        self, conversation_id: str, message: Message, *, reply_to: str = "", paced: bool = False
    ) -> str:
        """Post a message (into `reply_to`'s thread when given); the new message's id.

        `paced`: wait for the conversation's turn under Teams' rate limits (bot/kernel/pacing.py)
        first; for proactive posts, not for answering a user now."""
        ...

    async def update(
        self, conversation_id: str, activity_id: str, message: Message, *, paced: bool = False
    ) -> None:
        """Replace a message Vigil posted earlier (a card showing a new state); `paced` as for
        `post` (an update counts against the same limits)."""
        ...

    async def create_channel_conversation(
        self, team_id: str, channel_id: str, message: Message
    ) -> ChannelThread:
        """Start a conversation in a channel of a team Vigil was installed in, with `message`
        first; the conversation then takes posts and updates like any other."""
        ...

    async def personal_chat(self, user_id: str) -> str | None:
        """The conversation id of Vigil's newest 1:1 chat with this Entra user, if any."""
        ...

    async def reaches(self, conversation_id: str) -> bool:
        """True when Vigil can post to this conversation (it holds its reference)."""
        ...

    def retrying_briefly(self) -> Messenger:
        """The same way out, retrying a few seconds at most: for callers that retry durably
        themselves (an outbox), so a throttled send goes back to them rather than blocking."""
        ...
