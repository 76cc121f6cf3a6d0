"""/api/messages reads a body that arrives in pieces whole, and refuses oversize or cut ones."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

import aiohttp

from bot.devchannel.activities import card_action
from bot.devchannel.channel import ChannelConversation
from tests.bot.harness import ANALYST, Harness

PIECE = 8 * 1024


async def _post_in_pieces(
    harness: Harness, body: bytes, *, stop_at: int | None = None
) -> tuple[int | None, dict]:
    """POST `body` in PIECE-sized writes; `stop_at` ends early (None: closed without an answer)."""
    parts = urlsplit(harness.url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    head = (
        "POST /api/messages HTTP/1.1\r\n"
        f"Host: {parts.netloc}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Authorization: Bearer {harness.channel.mint_token()}\r\n"
        "Connection: close\r\n\r\n"
    )
    writer.write(head.encode())
    sent = body if stop_at is None else body[:stop_at]
    try:
        for start in range(0, len(sent), PIECE):
            writer.write(sent[start : start + PIECE])
            await writer.drain()
            # Let the server run between pieces, so its first read sees only part of the body.
            await asyncio.sleep(0.002)
        if stop_at is not None:
            writer.write_eof()
        status_line = await reader.readline()
        if not status_line:
            return None, {}
        headers = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in headers.split(b"\r\n")
                if b":" in line and line.split(b":")[0].lower() == b"content-length"
            ),
            0,
        )
        payload = await reader.readexactly(length) if length else b""
    finally:
        writer.close()
        await writer.wait_closed()
    return int(status_line.split()[1]), json.loads(payload) if payload else {}


def _big_card_action(harness: Harness, size: int) -> dict:
    conversation = ChannelConversation.personal(ANALYST)
    harness.channel.register(conversation, ANALYST)
    activity = harness.channel.new_activity("invoke", ANALYST, conversation)
    # A card whose inputs carry a long pasted text, as a click on a big form sends.
    return card_action(
        activity,
        verb="no.such.verb",
        data={"notes": "n" * size, "nested": [{"k": i} for i in range(50)]},
        reply_to_id="1",
        trigger="manual",
    )


async def test_a_200_kb_card_action_in_pieces_is_read_whole(harness):
    body = json.dumps(_big_card_action(harness, 200 * 1024)).encode()
    assert 200 * 1024 < len(body) < harness.vigil.settings.max_body_bytes
    status, answer = await _post_in_pieces(harness, body)
    # The action reached the router, which answers an unknown verb; the body check let it through.
    assert status == 200, answer
    assert answer["value"] == "This button is no longer supported.", answer


async def test_a_large_message_sent_chunked_is_answered(harness):
    conversation = ChannelConversation.personal(ANALYST)
    harness.channel.register(conversation, ANALYST)
    activity = harness.channel.new_activity("message", ANALYST, conversation) | {
        "text": "ping",
        "attachments": [{"contentType": "text/html", "content": "<p>" + "x" * 240_000 + "</p>"}],
    }
    body = json.dumps(activity).encode()

    async def pieces():
        for start in range(0, len(body), PIECE):
            yield body[start : start + PIECE]
            await asyncio.sleep(0.002)

    headers = {
        "Authorization": f"Bearer {harness.channel.mint_token()}",
        "Content-Type": "application/json",
    }
    async with aiohttp.ClientSession() as http:
        async with http.post(harness.url + "/api/messages", data=pieces(), headers=headers) as r:
            assert r.status == 200, await r.text()
    call = await harness.channel.wait_for(lambda c: c.activity.get("text") == "pong", timeout=30)
    assert call.activity["text"] == "pong"


async def test_over_the_limit_in_pieces_gets_413_and_reaches_no_handler(harness):
    limit = harness.vigil.settings.max_body_bytes
    body = json.dumps(_big_card_action(harness, limit + 1024)).encode()
    status, answer = await _post_in_pieces(harness, body)
    assert status == 413, answer
    assert answer["error"] == f"body over {limit} bytes"
    assert harness.channel.sent() == []


async def test_a_cut_body_gets_400_and_reaches_no_handler(harness):
    body = json.dumps(_big_card_action(harness, 100 * 1024)).encode()
    # Content-Length says the whole body; the sender stops half-way and closes its side.
    status, answer = await _post_in_pieces(harness, body, stop_at=len(body) // 2)
    # The sender is gone: the connection closes, or the answer is a 400 saying why.
    assert status is None or "could not be read" in answer["error"], (status, answer)
    # Complete but truncated JSON: the body is whole, the document is not.
    half = body[: len(body) // 2]
    status, answer = await _post_in_pieces(harness, half)
    assert status == 400, answer
    assert "truncated JSON" in answer["error"]
    assert harness.channel.sent() == []
    assert (await harness.say(ANALYST, "ping")).activity["text"] == "pong"
