"""One way out: a secret sent through every path Vigil posts by never reaches the channel.

Three kinds of secret: a configured redaction pattern (`vigil_canary_NNNN`, whose underscores a
card shows markdown-escaped), a secret value Vigil has read from its secret source (the alerts'
HMAC key, remembered once an alert was checked), and a password in a pasted URL. Each goes
through an alert card, a command reply, an error answer, a dialog reply (`enrich`), an approval
card (posted, answered to the click, updated), an incident card (posted in a new channel,
updated), an exec summary (the dialog's preview and the exec channel post) and a legacy button's
card update. Then every call the bot made to the local channel, and every invoke answer, is read
as a Teams user would see it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bot.devchannel.channel import RecordedCall
from bot.kernel.messenger import ConversationUnknown, Message, MessageTooLarge
from cards.limits import MAX_MESSAGE_BYTES
from tests.alerts.test_delivery import GENERAL, routes_env
from tests.alerts.webhook import HMAC_KEY, post
from tests.bot.harness import (
    ADMIN,
    ANALYST,
    APP_ID,
    APP_PASSWORD,
    APPROVER,
    COMMANDER,
    RESPONDER,
    Harness,
    card_of,
    card_text,
)
from tests.containment.approvals.workflow import SOC as CONTAINMENT
from tests.containment.approvals.workflow import ask, workflow_env
from tests.fakes.graph import GraphFake
from tests.incidents.conftest import SOC, _bundle, channel_registrar
from tests.summaries.conftest import EXEC, exec_env, install_in_exec_channel, summary_cards, turn

CANARY = "vigil_canary_7731"
PASSWORD = "Hunter2Hunter2"
URL = f"hxxps://evil[.]example[.]com/reset?password={PASSWORD}&ref={CANARY}"
SECRETS = (CANARY, PASSWORD, HMAC_KEY)
MARK = "[REDACTED]"


@pytest.fixture
async def bot(tmp_path: Path):
    graph = GraphFake(
        app_id=APP_ID,
        app_password=APP_PASSWORD,
        teams={SOC.team_aad_group_id},
    )
    await graph.start(tmp_path)
    env = {
        **routes_env(),
        **workflow_env(tmp_path),
        **exec_env(),
        "VIGIL_REDACT_PATTERNS": json.dumps(["vigil_canary_[0-9]{4}"]),
    }
    harness = await Harness.start(f"sqlite:///{tmp_path}/vigil.db", env)
    try:
        bundle = _bundle(tmp_path, harness.channel.ca_file, graph.ca_path)
        harness.extra_env.update(
            {
                "VIGIL_CA_BUNDLE": str(bundle),
                "VIGIL_GRAPH_URL": graph.graph_url,
                "VIGIL_AAD_AUTHORITY": graph.authority,
            }
        )
        await harness.restart_bot()
        graph.on_created = channel_registrar(harness)
        yield harness
    finally:
        await harness.close()
        await graph.stop()


def seen(activity: Any) -> str:
    """Everything in an activity or invoke answer, raw and as a reader sees it (unescaped)."""
    return json.dumps(activity, ensure_ascii=False) + "\n" + card_text(activity)


def redacted_in(call: RecordedCall) -> bool:
    return MARK in card_text(call.activity)


async def test_a_secret_never_reaches_the_channel_by_any_path(bot: Harness):
    invoke_answers: list[dict[str, Any]] = []

    # Installed where each capability posts: alerts, containment, exec and the incident team.
    await bot.say(ADMIN, "ping", GENERAL)
    for user in (RESPONDER, APPROVER, ADMIN):
        await bot.say(user, "whoami", CONTAINMENT)
    await install_in_exec_channel(bot)
    await bot.say(ADMIN, "incident-team use this", SOC)

    # An alert card, posted by the paced outbox; checking the alert's signature read the key.
    since = bot.channel.last_seq
    status, posted_alert = await post(
        bot.url,
        "generic",
        {
            "title": f"Token {CANARY} used",
            "severity": "high",
            "id": "canary-1",
            "entities": [{"type": "host", "value": "WS-1"}],
            "description": f"the webhook key {HMAC_KEY} was seen in a script",
        },
    )
    assert status == 202
    alert_card = await bot.channel.wait_for(
        lambda c: c.kind == "send" and (c.conversation_id or "").startswith(GENERAL.id),
        timeout=20,
        since=since,
    )
    assert redacted_in(alert_card)

    # A command reply with a card, and an error answer that repeats what was typed.
    checked = await bot.say(ANALYST, f"check {URL}")
    assert redacted_in(checked)
    unknown = await bot.say(ANALYST, f"{CANARY} {HMAC_KEY}")
    assert "I don't know" in unknown.activity["text"] and redacted_in(unknown)

    # A dialog's reply: the enrich dialog posts its verdict card itself.
    await turn(bot, ANALYST, "enrich", "Which indicators")
    verdict = await bot.say(ANALYST, URL)
    assert card_of(verdict) and redacted_in(verdict)

    # An approval card: posted proactively, answered to the click, updated in place.
    approval_id, activity_id, posted = await ask(
        bot, f'block-domain evil[.]example.com --reason "ticket {CANARY} {HMAC_KEY}"'
    )
    assert MARK in card_text(posted)
    since = bot.channel.last_seq
    status, answer = await bot.channel.send_card_action(
        APPROVER,
        CONTAINMENT,
        verb="approval.approve",
        data={"approvalId": approval_id},
        reply_to_id=activity_id,
    )
    assert status == 200
    invoke_answers.append(answer)
    updated = await bot.channel.wait_for(
        lambda c: c.kind == "update" and c.activity_id == activity_id, timeout=20, since=since
    )
    assert redacted_in(updated)

    # An incident: the command's reply, the card posted in its new channel, then updated.
    since = bot.channel.last_seq
    opened = await bot.say(ANALYST, f'create-incident high "Leak of {CANARY}"', SOC)
    assert redacted_in(opened)
    incident_id = re.search(r"INC-\d{8}-\d{3}", opened.activity["text"])[0]
    created = await bot.channel.wait_for(lambda c: c.kind == "create", since=since)
    assert redacted_in(created)
    since = bot.channel.last_seq
    await bot.say(ANALYST, f"incident status investigating {incident_id}", SOC)
    channel_card = await bot.channel.wait_for(
        lambda c: c.kind == "update" and c.conversation_id == created.conversation_id,
        since=since,
    )
    assert redacted_in(channel_card)

    # An exec summary: the dialog's preview, then the card in the exec channel.
    preview = await turn(bot, COMMANDER, f"exec-summary {incident_id}", "Draft executive summary")
    assert redacted_in(preview)
    await turn(bot, COMMANDER, "Contained, monitoring", "The impact is unknown")
    await turn(bot, COMMANDER, f"The key {HMAC_KEY} leaked as {CANARY}", "Actions taken?")
    await turn(bot, COMMANDER, "ok", "Next steps?")
    await turn(bot, COMMANDER, "Rotate the key", "next update")
    await turn(bot, COMMANDER, "in 2h", "This is what the exec channel will see")
    await turn(bot, COMMANDER, "post", "Posted the executive summary")
    [summary] = summary_cards(bot)
    assert MARK in card_text(summary)

    # A legacy Action.Submit: the clicked card is updated through the adapter.
    since = bot.channel.last_seq
    status = await bot.channel.send_submit(
        ANALYST,
        GENERAL,
        {"verb": "alert.ack", "alertId": posted_alert["ids"][0]},
        alert_card.activity_id or "",
    )
    assert status in (200, 201)
    acked = await bot.channel.wait_for(
        lambda c: c.kind == "update" and c.activity_id == alert_card.activity_id, since=since
    )
    assert redacted_in(acked)

    # Nothing anywhere: every call made to the channel (refused ones too), every invoke answer.
    calls = bot.channel.attempts()
    assert {"send", "reply", "update", "create"} <= {c.kind for c in calls}
    assert any(EXEC.id in (c.conversation_id or "") for c in calls)
    for what in [c.activity for c in calls] + invoke_answers:
        shown = seen(what)
        for secret in SECRETS:
            assert secret not in shown, (secret, shown[:300])


async def test_the_messenger_refuses_what_teams_would_and_reaches_known_conversations(harness):
    """The port itself, on the running bot: size limit, unknown conversations, 1:1 chats."""
    messenger = harness.vigil.services.messenger
    await harness.say(ANALYST, "ping")
    await harness.say(ADMIN, "ping", GENERAL)
    personal = await messenger.personal_chat(ANALYST.aad_object_id)
    assert personal is not None and await messenger.reaches(personal)
    assert await messenger.personal_chat(COMMANDER.aad_object_id) is None

    since = harness.channel.last_seq
    with pytest.raises(MessageTooLarge):
        await messenger.post(GENERAL.id, Message(text="x" * (MAX_MESSAGE_BYTES + 1)))
    with pytest.raises(ConversationUnknown):
        await messenger.post("19:never-seen@thread.tacv2", Message(text="hello"))
    assert [c for c in harness.channel.attempts() if c.seq > since] == []

    # Vigil's own app password is a secret it knows from the start.
    posted = await messenger.post(GENERAL.id, Message(text=f"key {APP_PASSWORD}"))
    card = {"type": "AdaptiveCard", "body": [{"type": "TextBlock", "text": APP_PASSWORD}]}
    await messenger.update(GENERAL.id, posted, Message(card=card))
    sent, updated = [c for c in harness.channel.attempts() if c.seq > since]
    assert (sent.kind, sent.activity_id, updated.kind) == ("send", posted, "update")
    assert sent.activity["text"] == f"key {MARK}"
    assert card_of(updated)["body"][0]["text"] == MARK

    # A click's answer is an HTTP body, not a sent activity: redacted and size-checked as well.
    answer = messenger.invoke_answer(Message(card=card))
    assert answer["value"]["body"][0]["text"] == MARK
    assert messenger.invoke_answer(Message(text=f"key {APP_PASSWORD}"))["value"] == f"key {MARK}"
    with pytest.raises(MessageTooLarge):
        messenger.invoke_answer(Message(text="x" * (MAX_MESSAGE_BYTES + 1)))
