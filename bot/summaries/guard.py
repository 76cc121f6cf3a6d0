"""The exec channel guard: in VIGIL_EXEC_CHANNEL Vigil takes no commands and no card actions
(the summary card has no buttons); it only posts summaries there through post_summary."""

from __future__ import annotations

from bot.commands import Conversation, Reply
from bot.conversation_refs import base_conversation_id
from bot.services import Services
from bot.summaries.settings import summary_settings

REFUSAL = (
    "This channel only receives executive summaries. Ask in the incident channel or in a chat "
    "with me (for example `exec-summary INC-…`)."
)
# Card verbs the exec channel accepts: the summary card posted there has none.
EXEC_CHANNEL_VERBS: frozenset[str] = frozenset()


def in_exec_channel(services: Services, conversation: Conversation) -> bool:
    exec_channel = summary_settings(services).exec_channel
    if not exec_channel:
        return False
    return exec_channel in (conversation.channel_id, base_conversation_id(conversation.id))


def exec_channel_refusal(
    services: Services, conversation: Conversation, verb: str | None = None
) -> Reply | None:
    """The refusal for a command (or a card action other than the summary's own), else None."""
    if not in_exec_channel(services, conversation):
        return None
    if verb is not None and verb in EXEC_CHANNEL_VERBS:
        return None
    return Reply(text=REFUSAL, audit_result="refused", audit_detail="exec channel: summaries only")
