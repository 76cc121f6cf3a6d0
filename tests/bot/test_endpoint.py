"""/api/messages refuses forged tokens and bad bodies before any handler runs."""

from __future__ import annotations

import json
import time

import pytest

from bot.devchannel.channel import ChannelConversation
from tests.bot.harness import ANALYST

NOW = int(time.time())

FORGED = {
    "missing header": {"authorization": None},
    "alg none": {"alg": "none"},
    "HS256": {"alg": "HS256"},
    "wrong key": {"key": "other"},
    "unknown kid": {"kid": "no-such-key"},
    "expired": {"exp": NOW - 3600, "nbf": NOW - 7200},
    "nbf in the future": {"nbf": NOW + 3600, "exp": NOW + 7200},
    "wrong aud": {"aud": "00000000-0000-0000-0000-000000000bad"},
    "wrong iss": {"iss": "https://issuer.invalid"},
    "serviceurl differs": {"serviceurl": "http://127.0.0.1:9/"},
}


@pytest.mark.parametrize("case", sorted(FORGED))
async def test_forged_tokens_get_401_and_reach_no_handler(harness, case):
    overrides = dict(FORGED[case])
    if "authorization" in overrides:
        authorization = overrides.pop("authorization")
    else:
        authorization = "Bearer " + harness.channel.mint_token(**overrides)
    conversation = ChannelConversation.personal(ANALYST)
    status = await harness.channel.send_message(
        ANALYST, conversation, "ping", authorization=authorization
    )
    assert status == 401
    assert harness.channel.sent() == []
    # The handler never ran: it would have saved the conversation reference.
    stored = await harness.vigil.services.store.fetchval("SELECT COUNT(*) FROM conversation_refs")
    assert stored == 0


async def test_valid_token_is_answered(harness):
    call = await harness.say(ANALYST, "ping")
    assert call.activity["text"] == "pong"


async def test_scheme_other_than_bearer_is_refused(harness):
    token = harness.channel.mint_token()
    status = await harness.channel.send_message(
        ANALYST, ChannelConversation.personal(ANALYST), "ping", authorization=f"Basic {token}"
    )
    assert status == 401


def _activity(harness) -> dict:
    conversation = ChannelConversation.personal(ANALYST)
    return harness.channel.new_activity("message", ANALYST, conversation) | {"text": "ping"}


async def test_body_over_256_kb_gets_413(harness):
    activity = _activity(harness) | {"text": "x" * (300 * 1024)}
    status = await harness.channel.post_raw(json.dumps(activity).encode())
    assert status == 413
    assert harness.channel.sent() == []


async def test_non_json_gets_400(harness):
    assert await harness.channel.post_raw(b"{not json") == 400
    assert await harness.channel.post_raw(b"[" * 100000) == 400
    assert await harness.channel.post_raw(b'"just a string"') == 400
    assert await harness.channel.post_raw(b'{"type": 5}') == 400


async def test_wrong_content_type_gets_415(harness):
    body = json.dumps(_activity(harness)).encode()
    assert await harness.channel.post_raw(body, content_type="text/plain") == 415
    assert await harness.channel.post_raw(body, content_type="application/xml") == 415


async def test_process_survives_bad_requests(harness):
    for _ in range(3):
        await harness.channel.post_raw(b"\x00\xff garbage", content_type="application/json")
    call = await harness.say(ANALYST, "ping")
    assert call.activity["text"] == "pong"


async def test_health_ready_and_metrics(harness):
    import aiohttp

    async with aiohttp.ClientSession() as session:
        async with session.get(harness.url + "/healthz") as response:
            assert response.status == 200
        async with session.get(harness.url + "/readyz") as response:
            body = await response.json()
            assert response.status == 200, body
            assert body["checks"]["migrations"] == "ok"
        await harness.say(ANALYST, "ping")
        async with session.get(harness.url + "/metrics") as response:
            text = await response.text()
            assert response.status == 200
            assert "vigil_turn_seconds_count" in text
            assert 'vigil_http_requests_total{route="/api/messages",status="200"}' in text


async def test_outbound_token_is_fetched_once_and_reused(harness):
    for _ in range(5):
        assert (await harness.say(ANALYST, "ping")).activity["text"] == "pong"
    assert harness.channel.token_requests == 1
