"""The terminal chat driven through a pipe against the echo bot, through the control API."""

from __future__ import annotations

import asyncio
import io
import os
import pty
import select
import socket
import sys
from pathlib import Path

from bot.devchannel.channel import ChannelConversation, ChannelUser, LocalChannel
from bot.devchannel.paste import PASTE_MODE_OFF, PASTE_MODE_ON
from bot.devchannel.terminal_chat import run_chat

ALICE = ChannelUser.named("Alice Analyst")


async def chat(channel: LocalChannel, script: str, conversation=None) -> tuple[int, str]:
    out = io.StringIO()
    code = await run_chat(
        channel.control_url,
        ALICE,
        conversation or ChannelConversation.personal(ALICE),
        stdin=io.StringIO(script),
        stdout=out,
    )
    return code, out.getvalue()


async def test_messages_and_end_of_input(echo_bot: LocalChannel) -> None:
    code, out = await chat(echo_bot, "hello\n\n/help\n")
    assert code == 0
    assert "you> hello\nVigil:\n  echo: hello\n" in out
    assert out.count("button number") == 2  # banner and /help


async def test_card_buttons_execute_submit_and_open_url(echo_bot: LocalChannel) -> None:
    code, out = await chat(echo_bot, "card\n1\nfalse positive\n8\n\n9\n/quit\nnot sent\n")
    assert code == 0
    assert "  | Request 1\n  | State : open\n  | [Reason]\n  [1] Approve  [2] Note  [3] Docs" in out
    # Execute: the input was asked for, the invoke response card and the update are shown.
    assert "Vigil (updated):" in out and "bot (updated for you):" in out
    assert "State : approved by Alice Analyst (false positive)" in out
    assert 'submitted {"note": true, "reason": ""}' in out
    assert "open: https://example.invalid/docs" in out
    assert "not sent" not in out
    invoke = [a for a in echo_bot.received if a["type"] == "invoke"][0]
    assert invoke["value"]["action"]["data"] == {"n": 1, "reason": "false positive"}


async def test_unknown_numbers_are_sent_as_text(echo_bot: LocalChannel) -> None:
    _, out = await chat(echo_bot, "42\n")
    assert "echo: 42" in out


async def test_refresh_cards_are_fetched_for_the_viewer(echo_bot: LocalChannel) -> None:
    _, out = await chat(echo_bot, "refresh\n")
    assert "fresh for Alice Analyst" in out and "stale" not in out
    invoke = [a for a in echo_bot.received if a["type"] == "invoke"][0]
    assert invoke["value"]["trigger"] == "automatic"


async def test_deleted_messages_are_reported(echo_bot: LocalChannel) -> None:
    _, out = await chat(echo_bot, "delete\n")
    assert "(a message was deleted)" in out


async def test_channel_messages_mention_the_bot(echo_bot: LocalChannel) -> None:
    soc = ChannelConversation.channel("SOC", "Alerts")
    _, out = await chat(echo_bot, "status\n", soc)
    assert "in Alerts" in out and "echo: status" in out
    assert echo_bot.received[-1]["text"] == "<at>Vigil</at> status"


async def test_hostile_bot_text_is_cleaned(echo_bot: LocalChannel) -> None:
    _, out = await chat(echo_bot, "\x1b[2Jwipe\u202e\n")
    assert "\x1b" not in out and "\u202e" not in out and "echo: [2Jwipe" in out


async def test_history_is_not_replayed(echo_bot: LocalChannel) -> None:
    await chat(echo_bot, "first\n")
    _, out = await chat(echo_bot, "second\n")
    assert "echo: first" not in out and "echo: second" in out


async def test_unreachable_channel_exits_1() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    out = io.StringIO()
    code = await run_chat(
        f"http://127.0.0.1:{port}/_local",
        ALICE,
        ChannelConversation.personal(ALICE),
        stdin=io.StringIO("hi\n"),
        stdout=out,
    )
    assert code == 1 and "cannot reach" in out.getvalue()


def texts_sent(channel: LocalChannel) -> list[str]:
    return [a["text"] for a in channel.received if a["type"] == "message" and "text" in a]


async def test_old_button_numbers_show_the_card_again(echo_bot: LocalChannel) -> None:
    _, out = await chat(echo_bot, "card\n1\nok\n1\n4\n")
    # 1 was on the card before Approve updated it; 4 on the answer shown only to Alice.
    assert out.count("that card has changed, here it is again") == 2
    again = out.split("that card has changed, here it is again")[1]
    assert "State : approved by Alice Analyst (ok)" in again and "[10] Approve" in again
    assert texts_sent(echo_bot) == ["card"]


async def test_a_block_between_triple_quotes_is_one_message(echo_bot: LocalChannel) -> None:
    _, out = await chat(echo_bot, '"""\nDear SOC,\n\n  see below\n"""\nafter\n')
    assert texts_sent(echo_bot) == ["Dear SOC,\n\n  see below", "after"]
    assert "you> Dear SOC,\n     \n       see below\n" in out
    assert "echo: Dear SOC," in out and "echo: after" in out


async def test_a_bracketed_paste_is_one_message(echo_bot: LocalChannel) -> None:
    await chat(echo_bot, "\x1b[200~one\ntwo\x1b[201~\n\x1b[200~single\x1b[201~\nnext\n")
    assert texts_sent(echo_bot) == ["one\ntwo", "single", "next"]


ROOT = Path(__file__).resolve().parents[2]
TERMINAL_CHAT = """
import asyncio, sys
from bot.devchannel.identity import ChannelConversation, ChannelUser
from bot.devchannel.paste import PASTE_MODE_OFF, PASTE_MODE_ON
from bot.devchannel.terminal_chat import run_chat
alice = ChannelUser.named("Alice Analyst")
sys.exit(asyncio.run(run_chat(sys.argv[1], alice, ChannelConversation.personal(alice))))
"""


class Terminal:
    """A pseudo-terminal: what a process prints to it, and keys typed into it."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        self.screen = b""

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    async def shows(self, text: str) -> None:
        async with asyncio.timeout(30):  # a guard against a hung test
            while text.encode() not in self.screen:
                self.screen += await asyncio.to_thread(self._read)

    def _read(self) -> bytes:
        ready, _, _ = select.select([self.master], [], [], 1)
        try:
            return os.read(self.master, 65536) if ready else b""
        except OSError:  # the process closed the terminal
            return b""


async def test_in_a_terminal_a_bracketed_paste_is_one_message(
    echo_bot: LocalChannel, tmp_path
) -> None:
    terminal = Terminal()
    env = {**os.environ, "HOME": str(tmp_path), "PYTHONPATH": str(ROOT), "TERM": "xterm"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        TERMINAL_CHAT,
        echo_bot.control_url,
        stdin=terminal.slave,
        stdout=terminal.slave,
        stderr=terminal.slave,
        env=env,
    )
    try:
        await terminal.shows(PASTE_MODE_ON)  # the chat turned bracketed paste mode on
        terminal.type("\x1b[200~Dear SOC,\nsee 10.0.0.1\x1b[201~\r")
        await terminal.shows("echo: Dear SOC,")
        terminal.type("/quit\r")
        await terminal.shows(PASTE_MODE_OFF)  # and off again when it ends
        async with asyncio.timeout(30):
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        os.close(terminal.master)
        os.close(terminal.slave)
    assert texts_sent(echo_bot) == ["Dear SOC,\nsee 10.0.0.1"]
