"""Vigil behind the local channel with an exec channel it was installed in, and chat helpers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.audit.log import tail
from bot.devchannel.channel import ChannelConversation, ChannelUser
from bot.devchannel.record import RecordedCall
from bot.incidents import records
from bot.incidents.records import Incident, Severity
from tests.bot.harness import ADMIN, COMMANDER, Harness

EXEC = ChannelConversation.channel("Leadership", "Exec briefings")
ROLES = "ws-fin-*=a finance workstation;dc-*=a domain controller"


def exec_env(**extra: str) -> dict[str, str]:
    return {"VIGIL_EXEC_CHANNEL": EXEC.channel_id or "", "VIGIL_SUMMARY_ROLES": ROLES, **extra}


async def install_in_exec_channel(harness: Harness) -> None:
    """Teams tells the bot about the channel when it is added to the team (conversationUpdate)."""
    status = await harness.channel.send_conversation_update(EXEC, [ADMIN], bot_added=True)
    assert status in (200, 201)


@pytest.fixture
async def bot(store_url):
    harness = await Harness.start(store_url, exec_env())
    await install_in_exec_channel(harness)
    try:
        yield harness
    finally:
        await harness.close()


@pytest.fixture
async def sqlite_bot(sqlite_url):
    harness = await Harness.start(sqlite_url, exec_env())
    await install_in_exec_channel(harness)
    try:
        yield harness
    finally:
        await harness.close()


async def incident(harness: Harness, title: str = "Credential theft on WS-FIN-0231") -> Incident:
    return await records.create(
        harness.vigil.services.store,
        title=title,
        severity=Severity.HIGH,
        opened_by_id=COMMANDER.aad_object_id,
        opened_by_name=COMMANDER.name,
    )


async def turn(
    harness: Harness,
    user: ChannelUser,
    text: str,
    expect: str,
    conversation: ChannelConversation | None = None,
    *,
    mention: bool = False,
) -> RecordedCall:
    """Say `text` (with `mention`: `@Vigil text`), then wait for the bot's message in that
    conversation containing `expect`."""
    conversation = conversation or ChannelConversation.personal(user)
    since = harness.channel.last_seq
    status = await harness.channel.send_message(user, conversation, text, mention=mention)
    assert status in (200, 201), status
    return await harness.channel.wait_for(
        lambda call: (
            call.kind in ("send", "reply")
            and (call.conversation_id or "").startswith(conversation.id)
            and expect in ((call.activity or {}).get("text") or "")
        ),
        since=since,
    )


def summary_cards(harness: Harness) -> list[dict[str, Any]]:
    """Exec summary cards the bot posted in the exec channel."""
    found = []
    for call in harness.channel.sent(EXEC.id):
        for attachment in (call.activity or {}).get("attachments") or []:
            content = attachment.get("content") or {}
            if "Executive summary" in json.dumps(content):
                found.append(content)
    return found


def messages_in(harness: Harness, conversation: ChannelConversation, since: int) -> list[dict]:
    return [
        call.activity or {}
        for call in harness.channel.sent(conversation.id)
        if call.seq > since and call.kind in ("send", "reply")
    ]


async def audit_records(harness: Harness, action_prefix: str) -> list[Any]:
    return [
        r
        for r in await tail(harness.vigil.services.store, 10_000)
        if r.action.startswith(action_prefix)
    ]
