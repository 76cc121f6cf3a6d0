"""The control API: chatting through the channel from another process, and hostile input."""

from __future__ import annotations

import asyncio
import json
import socket

import aiohttp
import pytest

from bot.devchannel.channel import ChannelConversation, ChannelUser, LocalChannel

ALICE = ChannelUser.named("Alice Analyst")


async def post(channel: LocalChannel, body, **kwargs) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session:
        if isinstance(body, bytes):
            kwargs.setdefault("headers", {}).setdefault("Content-Type", "application/json")
            request = session.post(channel.control_url + "/send", data=body, **kwargs)
        else:
            request = session.post(channel.control_url + "/send", json=body, **kwargs)
        async with request as response:
            return response.status, await response.json()


async def events(channel: LocalChannel, **query) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session:
        params = {k: str(v) for k, v in query.items()}
        async with session.get(channel.control_url + "/events", params=params) as response:
            return response.status, await response.json()


def send_body(text: str = "hello", **extra) -> dict:
    return {"user": ALICE.to_dict(), "conversation": {"kind": "personal"}, "text": text, **extra}


async def test_send_then_read_events(echo_bot: LocalChannel) -> None:
    status, answer = await post(echo_bot, send_body())
    assert status == 200 and answer["status"] in (200, 201)
    conversation_id = ChannelConversation.personal(ALICE).id
    assert answer["conversation_id"] == conversation_id
    status, got = await events(echo_bot, conversation=conversation_id, after=0)
    assert status == 200
    assert [e["activity"]["text"] for e in got["events"]] == ["echo: hello"]
    assert got["last"] == answer["seq"]


async def test_card_action_through_control(echo_bot: LocalChannel) -> None:
    await post(echo_bot, send_body("card"))
    conversation_id = ChannelConversation.personal(ALICE).id
    _, got = await events(echo_bot, conversation=conversation_id, after=0)
    card_id = got["events"][0]["activity_id"]
    status, answer = await post(
        echo_bot,
        send_body(type="action", verb="approve", data={"n": 1}, reply_to_id=card_id),
    )
    assert status == 200 and answer["body"]["statusCode"] == 200
    _, got = await events(echo_bot, conversation=conversation_id, after=got["last"])
    assert [(e["kind"], e["activity_id"]) for e in got["events"]] == [("update", card_id)]


async def activity(channel: LocalChannel, **query) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session:
        params = {k: str(v) for k, v in query.items()}
        async with session.get(channel.control_url + "/activity", params=params) as response:
            return response.status, await response.json()


async def test_the_current_version_of_an_activity(echo_bot: LocalChannel) -> None:
    conversation_id = ChannelConversation.personal(ALICE).id
    await post(echo_bot, send_body("card"))
    _, got = await events(echo_bot, conversation=conversation_id, after=0)
    sent = got["events"][0]
    status, current = await activity(echo_bot, conversation=conversation_id, id=sent["activity_id"])
    assert status == 200 and current == {"activity": sent["activity"], "version": sent["seq"]}
    await post(
        echo_bot,
        send_body(type="action", verb="approve", data={}, reply_to_id=sent["activity_id"]),
    )
    _, got = await events(echo_bot, conversation=conversation_id, after=got["last"])
    update = got["events"][0]
    _, current = await activity(echo_bot, conversation=conversation_id, id=sent["activity_id"])
    assert current["version"] == update["seq"] > sent["seq"]
    assert "approved by Alice" in json.dumps(current["activity"])
    await post(echo_bot, send_body("delete"))
    _, got = await events(echo_bot, conversation=conversation_id, after=got["last"])
    deleted = [e["activity_id"] for e in got["events"] if e["kind"] == "delete"]
    for query in ({"id": deleted[0]}, {"id": "1"}, {"id": ""}):
        status, answer = await activity(echo_bot, conversation=conversation_id, **query)
        assert status in (400, 404) and answer["error"]


async def test_a_poll_naming_another_channel_instance_is_answered_at_once(
    echo_bot: LocalChannel,
) -> None:
    conversation_id = ChannelConversation.personal(ALICE).id
    _, got = await events(echo_bot, conversation=conversation_id, after=0)
    assert got["instance"] == echo_bot.instance
    # A chat that talked to an earlier run of the channel learns of the restart at once.
    async with asyncio.timeout(30):  # a guard: the poll asks for 60 s
        _, got = await events(
            echo_bot, conversation=conversation_id, after=99, wait=60, instance="earlier"
        )
    assert got == {"events": [], "last": 0, "instance": echo_bot.instance}


async def test_channel_conversation_by_names(echo_bot: LocalChannel) -> None:
    body = send_body("status", mention=True)
    body["conversation"] = {"kind": "channel", "team_name": "SOC", "channel_name": "Alerts"}
    status, answer = await post(echo_bot, body)
    assert status == 200
    assert answer["conversation_id"] == ChannelConversation.channel("SOC", "Alerts").id
    assert echo_bot.received[-1]["text"] == "<at>Vigil</at> status"


async def test_long_poll_returns_when_the_bot_sends(echo_bot: LocalChannel) -> None:
    conversation_id = ChannelConversation.personal(ALICE).id
    poll = asyncio.create_task(events(echo_bot, conversation=conversation_id, after=0, wait=30))
    await asyncio.sleep(0)
    await echo_bot.send_message(ALICE, ChannelConversation.personal(ALICE), "ping")
    status, got = await poll
    assert status == 200 and got["events"][0]["activity"]["text"] == "echo: ping"


HOSTILE_BODIES = [
    b"{not json",
    b"[]",
    json.dumps({"conversation": {"kind": "personal"}, "text": "x"}).encode(),
    json.dumps(send_body() | {"user": {"aad_object_id": "nope", "name": "x"}}).encode(),
    json.dumps(send_body() | {"user": {"aad_object_id": ALICE.aad_object_id, "name": ""}}).encode(),
    json.dumps(
        send_body() | {"user": {"aad_object_id": ALICE.aad_object_id, "name": "a\x1b[2Jb"}}
    ).encode(),
    json.dumps(send_body() | {"conversation": {"kind": "meeting"}}).encode(),
    json.dumps(send_body() | {"conversation": {"kind": "channel"}}).encode(),
    json.dumps(send_body() | {"conversation": "personal"}).encode(),
    json.dumps(send_body() | {"type": "typing"}).encode(),
    json.dumps(send_body() | {"text": 5}).encode(),
    json.dumps(send_body() | {"type": "action", "verb": "x", "reply_to_id": ""}).encode(),
    json.dumps(send_body() | {"type": "action", "reply_to_id": "1", "data": []}).encode(),
    json.dumps(
        send_body() | {"type": "action", "verb": "x", "reply_to_id": "1", "trigger": "?"}
    ).encode(),
    json.dumps(send_body() | {"type": "installationUpdate", "action": "explode"}).encode(),
    json.dumps(send_body() | {"user": {**ALICE.to_dict(), "groups": "admins"}}).encode(),
]


@pytest.mark.parametrize("body", HOSTILE_BODIES)
async def test_hostile_send_bodies_get_400(echo_bot: LocalChannel, body: bytes) -> None:
    status, answer = await post(echo_bot, body)
    assert status == 400 and answer["error"]
    assert echo_bot.received == []


async def test_send_wants_json_content_type(echo_bot: LocalChannel) -> None:
    body = json.dumps(send_body()).encode()
    status, _ = await post(echo_bot, body, headers={"Content-Type": "text/plain"})
    assert status == 415


async def test_send_body_limit(echo_bot: LocalChannel) -> None:
    status, _ = await post(echo_bot, send_body("x" * 300_000))
    assert status == 413


async def test_dns_rebinding_host_is_refused(echo_bot: LocalChannel) -> None:
    status, answer = await post(echo_bot, send_body(), headers={"Host": "evil.example:80"})
    assert status == 403 and echo_bot.received == []


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"conversation": "c", "after": "x"},
        {"conversation": "c", "after": -1},
        {"conversation": "c", "wait": 61},
        {"conversation": "c", "wait": "nan"},
        {"conversation": "c" * 301},
    ],
)
async def test_bad_event_queries_get_400(channel: LocalChannel, query: dict) -> None:
    status, answer = await events(channel, **query)
    assert status == 400 and answer["error"]


async def test_unreachable_bot_is_502(channel: LocalChannel) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    channel.bot_endpoint = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()
    status, answer = await post(channel, send_body())
    assert status == 502 and "unreachable" in answer["error"]
