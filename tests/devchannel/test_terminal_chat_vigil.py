"""The terminal chat against Vigil itself: a pasted e-mail, the approval card's Reject, old
button numbers, and a restart of the server under an open chat.

The chat reads a pipe the test types into, line by line, and prints to a screen the test reads:
each step waits for what the chat shows, as a user would.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from bot.devchannel.channel import ChannelConversation, ChannelUser, LocalChannel
from bot.devchannel.terminal_chat import run_chat
from tests.bot.harness import ANALYST, APP_ID, APP_PASSWORD, APPROVER, Harness
from tests.containment.approvals.workflow import SOC, ask, start

BOUND = 30.0  # only a guard against a hung test, never a measurement


class Screen(io.StringIO):
    """The chat's stdout; `shows` waits for texts."""

    def __init__(self) -> None:
        super().__init__()
        self._changed = asyncio.Event()

    def write(self, text: str) -> int:
        written = super().write(text)
        self._changed.set()
        return written

    async def shows(self, *texts: str, after: int = 0) -> None:
        """Wait until `texts` appear in this order, in what was printed after offset `after`."""
        async with asyncio.timeout(BOUND):
            while not _in_order(self.getvalue()[after:], texts):
                self._changed.clear()
                await self._changed.wait()


def _in_order(screen: str, texts: tuple[str, ...]) -> bool:
    at = 0
    for text in texts:
        at = screen.find(text, at)
        if at < 0:
            return False
        at += len(text)
    return True


class Keyboard:
    """The chat's stdin, a pipe the test types into."""

    def __init__(self) -> None:
        read_end, write_end = os.pipe()
        self.stdin = os.fdopen(read_end, "r")
        self._writer = os.fdopen(write_end, "w")

    def type(self, text: str) -> None:
        self._writer.write(text)
        self._writer.flush()

    def close(self) -> None:
        if not self._writer.closed:
            self._writer.close()


@dataclass
class Chat:
    screen: Screen
    keyboard: Keyboard
    task: asyncio.Task

    def mark(self) -> int:
        return len(self.screen.getvalue())

    async def say(self, text: str, *then: str) -> None:
        """Type `text`, then wait until the chat has printed `then` (in order) since."""
        mark = self.mark()
        self.keyboard.type(text)
        await self.screen.shows(*then, after=mark)


@contextlib.asynccontextmanager
async def open_chat(
    channel_url: str, user: ChannelUser, conversation: ChannelConversation
) -> AsyncIterator[Chat]:
    screen, keyboard = Screen(), Keyboard()
    task = asyncio.create_task(
        run_chat(channel_url, user, conversation, stdin=keyboard.stdin, stdout=screen)
    )
    try:
        await screen.shows("Chatting as")
        yield Chat(screen, keyboard, task)
        keyboard.close()
        async with asyncio.timeout(BOUND):
            assert await task == 0
    finally:
        keyboard.close()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        keyboard.stdin.close()


@pytest.fixture
async def harness(tmp_path) -> AsyncIterator[Harness]:
    harness = await start(tmp_path)
    try:
        yield harness
    finally:
        await harness.close()


def messages_to_bot(harness: Harness, user: ChannelUser) -> list[str]:
    """The text messages (not submits) `user` sent to the bot through the current channel."""
    return [
        str(a.get("text"))
        for a in harness.channel.received
        if a["type"] == "message"
        and a["from"]["aadObjectId"] == user.aad_object_id
        and a.get("value") is None
    ]


async def test_a_pasted_email_is_one_message(harness: Harness) -> None:
    personal = ChannelConversation.personal(ANALYST)
    email = "Hi team,\nplease look at 203.0.113.5 and evil[.]example.com\nThanks, Ann\n"
    async with open_chat(harness.channel.control_url, ANALYST, personal) as chat:
        # As a terminal in bracketed paste mode sends a paste, then Enter.
        await chat.say(f"\x1b[200~{email}\x1b[201~\n", "Bulk check: 2 indicators")
        await chat.say(f'"""\n{email}"""\n', "Bulk check: 2 indicators")
        await chat.say("/help\n", "button number")
    assert messages_to_bot(harness, ANALYST) == [email.strip(), email.strip()]
    screen = chat.screen.getvalue()
    assert screen.count("Bulk check") == 2 and "\x1b" not in screen


async def approver_card(harness: Harness, chat: Chat) -> None:
    """A request from the responder, shown to the approver with its buttons."""
    mark = chat.mark()
    await ask(harness, "block-domain evil.example.com --reason kit")
    await chat.screen.shows("Approve  [", "Reject…", after=mark)


async def test_reject_shows_the_reason_and_its_button(harness: Harness) -> None:
    async with open_chat(harness.channel.control_url, APPROVER, SOC) as chat:
        await approver_card(harness, chat)
        assert "[1] Approve  [2] Reject…" in chat.screen.getvalue()
        await chat.say("2\n", "  | [Why reject? (required)]")
        await chat.say("not evil, a test domain\n", "reject? (required): not evil", "[3] Reject")
        await chat.say("3\n", "Rejected", "Decision note: not evil, a test domain")
        # The first card's numbers are old now: the card is shown again, nothing is sent.
        await chat.say("1\n", "that card has changed, here it is again", "Rejected")
    assert messages_to_bot(harness, APPROVER) == ["whoami"]  # from start(), not from the chat
    rejects = [
        a["value"]["action"]
        for a in harness.channel.received
        if a["type"] == "invoke" and a["value"]["action"]["verb"] == "approval.reject"
    ]
    assert [r["data"]["reason"] for r in rejects] == ["not evil, a test domain"]


async def restart_server(harness: Harness) -> None:
    """As `vigil serve --local` restarts: bot and channel stop, then start on the same port."""
    port = harness.channel.port
    await harness.stop_bot()
    await harness.channel.stop()
    harness.channel = LocalChannel(app_id=APP_ID, app_password=APP_PASSWORD, port=port)
    await harness.channel.start()
    await harness.start_bot()


async def test_the_chat_reconnects_after_a_server_restart(harness: Harness) -> None:
    async with open_chat(harness.channel.control_url, APPROVER, SOC) as chat:
        await approver_card(harness, chat)
        mark = chat.mark()
        await restart_server(harness)
        await chat.screen.shows("reconnected", after=mark)
        # What the restarted server sends unasked reaches the open chat.
        await approver_card(harness, chat)
        await chat.say("whoami\n", "Apu Approver")
        # A button of the card from before the restart is not sent as text.
        await chat.say("1\n", "that card is no longer there")
    assert chat.screen.getvalue()[mark:].count("reconnected") == 1
    assert messages_to_bot(harness, APPROVER) == ["<at>Vigil</at> whoami"]  # the new channel's
