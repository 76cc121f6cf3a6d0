"""Where an approval card is posted so that approvers see it.

With `VIGIL_APPROVALS_CHANNEL` set, every card goes to that channel, wherever it was asked. Without
it, a card is posted where it was asked, and a 1:1 chat is refused: only the requester reads a 1:1
chat, so the request would wait unseen until it expired. Both are checked before the request is
recorded, so a refused request leaves nothing pending.
"""

from __future__ import annotations

from bot.containment.approvals.settings import CHANNEL, approval_settings
from bot.kernel.commands import Conversation
from bot.kernel.errors import Refused
from bot.kernel.services import Services

NO_CHANNEL = (
    "Approval requests are posted in a channel where approvers see them, and a 1:1 chat is not "
    f"one. Ask in a team channel, or ask an admin to set {CHANNEL.env} (the channel for "
    "approval requests). Nothing was requested."
)
NOT_IN_CHANNEL = (
    f"I am not in the approvals channel ({CHANNEL.env}), so no approver would see this request. "
    "Ask an admin to add Vigil to that channel. Nothing was requested."
)


async def card_place(services: Services, conversation: Conversation) -> str | None:
    """The conversation the card goes to; None when the answer itself carries the card (the CLI,
    or a conversation Vigil cannot post in). Raises Refused when no approver would see it."""
    messenger = services.messenger
    if messenger is None or conversation.kind == "cli":
        return None
    channel = approval_settings(services).channel
    if channel:
        if not await messenger.reaches(channel):
            raise Refused(NOT_IN_CHANNEL, "approvals channel unreachable")
        return channel
    if conversation.kind == "personal":
        raise Refused(NO_CHANNEL, "asked in a 1:1 chat, no approvals channel")
    if not conversation.id or not await messenger.reaches(conversation.id):
        return None
    return conversation.id
