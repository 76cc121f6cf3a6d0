"""Replies never render user markup: a text reply goes out as plain text unless Vigil wrote all
of it.

Black-box: messages over HTTP from the local Teams channel; the activities the bot sent are read
as Teams receives them. A link in markdown that a user typed, echoed in a reply, would show as a
link posted by the bot ("[Reset your password](https://evil.example/login)").
"""

from __future__ import annotations

import io

from bot.devchannel.channel import ChannelConversation
from bot.devchannel.terminal_chat import run_chat
from bot.kernel.messenger import Message
from tests.bot.harness import ANALYST, RESPONDER

PHISH = "[phish](https://evil.example/login)"


async def test_a_usage_error_echoes_the_words_as_plain_text(harness):
    call = await harness.say(ANALYST, f"ping {PHISH}")
    assert call.activity["text"].startswith(f"unexpected {PHISH}")
    assert call.activity["textFormat"] == "plain"


async def test_the_snooze_reply_names_the_rule_as_plain_text(harness):
    call = await harness.say(RESPONDER, f"alerts snooze {PHISH} 2h")
    assert call.activity["text"].startswith(f"Snoozed {PHISH} until ")
    assert call.activity["textFormat"] == "plain"


async def test_a_proactive_post_is_plain_text_too(harness):
    await harness.say(ANALYST, "ping")
    conversation = ChannelConversation.personal(ANALYST)
    since = harness.channel.last_seq
    await harness.vigil.services.messenger.post(conversation.id, Message(text=f"about {PHISH}"))
    [sent] = [c for c in harness.channel.attempts() if c.seq > since]
    assert sent.activity["textFormat"] == "plain"


async def test_text_vigil_wrote_in_full_keeps_its_markdown(harness):
    await harness.say(ANALYST, "ping")
    conversation = ChannelConversation.personal(ANALYST)
    since = harness.channel.last_seq
    await harness.vigil.services.messenger.post(
        conversation.id, Message(text="Say `help` to see **what** I can do.", markdown=True)
    )
    [sent] = [c for c in harness.channel.attempts() if c.seq > since]
    assert sent.activity["textFormat"] == "markdown"
    assert sent.activity["text"] == "Say `help` to see **what** I can do."


async def test_the_terminal_chat_shows_plain_text_as_it_was_sent(harness):
    out = io.StringIO()
    code = await run_chat(
        harness.channel.control_url,
        ANALYST,
        ChannelConversation.personal(ANALYST),
        stdin=io.StringIO(f"ping {PHISH}\n"),
        stdout=out,
    )
    assert code == 0
    assert f"unexpected {PHISH}" in out.getvalue()
