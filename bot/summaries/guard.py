"""The exec channel filter: in VIGIL_EXEC_CHANNEL Vigil takes no commands, no dialog answers and
no card actions (the summary card has no buttons); it only posts summaries there through
post_summary. Summaries registers it with the one way in (bot/kernel/filters.py)."""

from __future__ import annotations

from bot.kernel.commands import Conversation, Reply
from bot.kernel.conversation_refs import base_conversation_id
from bot.kernel.filters import Refusal, clipped
from bot.kernel.inbound import Turn
from bot.kernel.services import Services
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


async def exec_channel_filter(services: Services, turn: Turn) -> Refusal | None:
    """Refuses everything in the exec channel but the summary card's own verbs (none yet)."""
    if not in_exec_channel(services, turn.conversation):
        return None
    if turn.kind == "action":
        if turn.name in EXEC_CHANNEL_VERBS:
            return None
        return Refusal(_refused(), "exec-channel:action", clipped(turn.name))
    if not turn.text:
        # A bare @mention: read-only means silent too, and there is nothing to record.
        return Refusal(Reply(), "exec-channel:command", audited=False)
    return Refusal(_refused(), "exec-channel:command", clipped(turn.text))


def _refused() -> Reply:
    return Reply(text=REFUSAL, audit_result="refused", audit_detail="exec channel: summaries only")
