"""The connector subset: bearer checks, recording, REST shapes, faults and size limits."""

from __future__ import annotations

import asyncio
import ssl

import aiohttp
import pytest

from bot.devchannel.channel import ChannelConversation, ChannelUser, LocalChannel
from tests.devchannel.conftest import APP_ID, APP_PASSWORD

ALICE = ChannelUser.named("Alice Analyst")
PERSONAL = ChannelConversation.personal(ALICE)
SOC = ChannelConversation.channel("SOC", "Alerts")


async def bot_token(channel: LocalChannel, password: str = APP_PASSWORD) -> str:
    context = ssl.create_default_context(cafile=channel.ca_file)
    form = {
        "grant_type": "client_credentials",
        "client_id": APP_ID,
        "client_secret": password,
        "scope": channel.oauth_scope + "/.default",
    }
    async with aiohttp.ClientSession() as session:
        url = channel.login_url + "/oauth2/v2.0/token"
        async with session.post(url, data=form, ssl=context) as response:
            return (await response.json())["access_token"]


async def call(channel, method, path, token=None, **kwargs) -> tuple[int, object, dict]:
    headers = kwargs.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with aiohttp.ClientSession() as session:
        url = channel.service_url + path.lstrip("/")
        async with session.request(method, url, headers=headers, **kwargs) as response:
            text = await response.text()
            body = await response.json(content_type=None) if text else None
            return response.status, body, dict(response.headers)


def message(text: str) -> dict:
    return {"type": "message", "text": text}


@pytest.fixture
async def token(channel: LocalChannel) -> str:
    channel.register(PERSONAL, ALICE)
    channel.register(SOC, ALICE)
    return await bot_token(channel)


@pytest.mark.parametrize("kind", ["missing", "channel token", "other key", "garbage", "wrong aud"])
async def test_connector_rejects_bad_bot_tokens(channel: LocalChannel, token: str, kind: str):
    forged = {
        "missing": None,
        "channel token": channel.mint_token(),
        "other key": channel.mint_token(key="other", aud=channel.oauth_scope),
        "garbage": "not.a.jwt",
        "wrong aud": channel.mint_token(aud="https://graph.microsoft.com"),
    }[kind]
    status, body, _ = await call(
        channel, "POST", f"v3/conversations/{PERSONAL.id}/activities", forged, json=message("x")
    )
    assert status == 401
    assert channel.sent() == []
    assert [c.status for c in channel.attempts()] == [401]


async def test_send_reply_update_delete_are_recorded(channel: LocalChannel, token: str):
    base = f"v3/conversations/{PERSONAL.id}/activities"
    status, body, _ = await call(channel, "POST", base, token, json=message("one"))
    assert status == 200
    first = body["id"]
    status, body, _ = await call(channel, "POST", f"{base}/{first}", token, json=message("two"))
    assert status == 200
    second = body["id"]
    status, body, _ = await call(channel, "PUT", f"{base}/{first}", token, json=message("one!"))
    assert (status, body) == (200, {"id": first})
    status, _, _ = await call(channel, "DELETE", f"{base}/{second}", token)
    assert status == 200
    kinds = [(c.kind, c.activity_id) for c in channel.sent(PERSONAL.id)]
    assert kinds == [("send", first), ("reply", second), ("update", first), ("delete", second)]
    assert channel.sent()[1].activity["replyToId"] == first
    assert channel.activity(PERSONAL.id, first)["text"] == "one!"
    assert channel.activity(PERSONAL.id, second) is None
    assert len({first, second}) == 2


async def test_unknown_conversation_and_activity_are_404(channel: LocalChannel, token: str):
    status, body, _ = await call(
        channel, "POST", "v3/conversations/a:unknown/activities", token, json=message("x")
    )
    assert (status, body["error"]["code"]) == (404, "ConversationNotFound")
    base = f"v3/conversations/{PERSONAL.id}/activities/123"
    status, body, _ = await call(channel, "PUT", base, token, json=message("x"))
    assert (status, body["error"]["code"]) == (404, "ActivityNotFound")
    status, _, _ = await call(channel, "DELETE", base, token)
    assert status == 404
    assert channel.sent() == []


@pytest.mark.parametrize(
    "payload",
    [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe", b'{"text": "no type"}', b'{"type": 5}'],
)
async def test_malformed_activities_are_400(channel: LocalChannel, token: str, payload: bytes):
    status, body, _ = await call(
        channel,
        "POST",
        f"v3/conversations/{PERSONAL.id}/activities",
        token,
        data=payload,
        headers={"Content-Type": "application/json"},
    )
    assert status == 400 and "error" in body
    assert channel.sent() == []


async def test_members_and_paged_members(channel: LocalChannel, token: str):
    status, body, _ = await call(channel, "GET", f"v3/conversations/{SOC.id}/members", token)
    assert status == 200
    assert body[0]["aadObjectId"] == ALICE.aad_object_id and body[0]["id"] == ALICE.teams_id
    status, body, _ = await call(channel, "GET", f"v3/conversations/{SOC.id}/pagedmembers", token)
    assert body["members"][0]["name"] == "Alice Analyst"
    path = f"v3/conversations/{SOC.id}/members/{ALICE.teams_id}"
    status, body, _ = await call(channel, "GET", path, token)
    assert (status, body["tenantId"]) == (200, ALICE.tenant_id)
    status, _, _ = await call(channel, "GET", f"v3/conversations/{SOC.id}/members/29:nobody", token)
    assert status == 404


async def test_team_details_and_channels(channel: LocalChannel, token: str):
    general = ChannelConversation.channel("SOC")
    channel.register(general, ALICE)
    status, body, _ = await call(channel, "GET", f"v3/teams/{SOC.team_id}", token)
    assert (status, body["name"], body["aadGroupId"]) == (200, "SOC", SOC.team_aad_group_id)
    status, body, _ = await call(channel, "GET", f"v3/teams/{SOC.team_id}/conversations", token)
    names = sorted(str(c["name"]) for c in body["conversations"])
    assert names == ["Alerts", "None"]  # Teams lists General without a name
    status, _, _ = await call(channel, "GET", "v3/teams/19:none@thread.tacv2", token)
    assert status == 404


async def test_create_personal_conversation_and_channel_thread(channel: LocalChannel, token):
    params = {
        "bot": {"id": f"28:{APP_ID}"},
        "members": [{"id": ALICE.teams_id}],
        "tenantId": ALICE.tenant_id,
        "isGroup": False,
    }
    status, body, _ = await call(channel, "POST", "v3/conversations", token, json=params)
    assert (status, body["id"]) == (201, PERSONAL.id)
    thread = {
        "isGroup": True,
        "channelData": {"channel": {"id": SOC.id}},
        "activity": message("new alert"),
    }
    status, body, _ = await call(channel, "POST", "v3/conversations", token, json=thread)
    assert status == 201
    assert body["id"] == f"{SOC.id};messageid={body['activityId']}"
    # A channel's record includes its threads.
    assert [c.kind for c in channel.sent(SOC.id)] == ["create"]
    status, _, _ = await call(
        channel, "POST", f"v3/conversations/{body['id']}/activities", token, json=message("more")
    )
    assert status == 200


@pytest.mark.parametrize(
    "params",
    [
        {"members": [{"id": "29:stranger"}]},
        {"members": []},
        {"isGroup": True, "members": [{"id": ALICE.teams_id}, {"id": "29:x"}]},
        {"channelData": {"channel": {"id": "19:unknown@thread.tacv2"}}, "activity": {}},
        {"channelData": {"channel": {"id": SOC.id}}},
        {"members": "everyone"},
    ],
)
async def test_create_conversation_refusals(channel: LocalChannel, token: str, params):
    status, body, _ = await call(channel, "POST", "v3/conversations", token, json=params)
    assert status == 400 and body["error"]["code"] == "BadArgument"


async def test_injected_429_then_success(channel: LocalChannel, token: str):
    channel.inject_faults(429, 2, retry_after=1)
    path = f"v3/conversations/{PERSONAL.id}/activities"
    for _ in range(2):
        status, body, headers = await call(channel, "POST", path, token, json=message("x"))
        assert (status, headers["Retry-After"], body["error"]["code"]) == (429, "1", "Throttled")
    status, _, _ = await call(channel, "POST", path, token, json=message("x"))
    assert status == 200
    assert [c.status for c in channel.attempts()] == [429, 429, 200]
    assert len(channel.sent()) == 1


@pytest.mark.parametrize(("status", "code"), [(412, "PreconditionFailed"), (502, "BadGateway")])
async def test_injected_faults_without_retry_after(channel, token, status, code):
    channel.inject_faults(status, 1)
    path = f"v3/conversations/{PERSONAL.id}/activities"
    got, body, headers = await call(channel, "POST", path, token, json=message("x"))
    assert (got, body["error"]["code"]) == (status, code)
    assert "Retry-After" not in headers


def test_inject_faults_validates(channel: LocalChannel):
    with pytest.raises(ValueError):
        channel.inject_faults(200, 1)
    with pytest.raises(ValueError):
        channel.inject_faults(429, -1)


async def test_large_bodies_get_413(channel: LocalChannel, token: str):
    channel.reject_large_bodies()
    path = f"v3/conversations/{PERSONAL.id}/activities"
    status, body, _ = await call(channel, "POST", path, token, json=message("x" * 41 * 1024))
    assert (status, body["error"]["code"]) == (413, "MessageSizeTooBig")
    status, _, _ = await call(channel, "POST", path, token, json=message("x" * 1024))
    assert status == 200
    channel.reject_large_bodies(None)
    status, _, _ = await call(channel, "POST", path, token, json=message("x" * 41 * 1024))
    assert status == 200


async def test_wait_for_wakes_on_a_new_call(channel: LocalChannel, token: str):
    waiter = asyncio.create_task(channel.wait_for(lambda c: c.activity["text"] == "late"))
    await asyncio.sleep(0)
    path = f"v3/conversations/{PERSONAL.id}/activities"
    await call(channel, "POST", path, token, json=message("early"))
    await call(channel, "POST", path, token, json=message("late"))
    found = await waiter
    assert found.activity["text"] == "late"
    since = channel.last_seq
    with pytest.raises(TimeoutError):
        await channel.wait_for(lambda c: True, timeout=0.05, since=since)


async def test_non_loopback_peer_is_refused(channel: LocalChannel):
    # The server binds to 127.0.0.1, so a remote peer cannot even connect; the middleware is
    # the second line. X-Forwarded-For must not be trusted for this.
    status, body, _ = await call(
        channel, "GET", "v1/.well-known/keys", headers={"X-Forwarded-For": "203.0.113.5"}
    )
    assert status == 200 and body["keys"]
