"""Route mentions on posted alert cards: real Teams mentions for known people, text otherwise."""

from __future__ import annotations

import tomllib
import uuid

import pytest

from bot.alerts.mentions import MAX_MENTIONS
from bot.devchannel.channel import ChannelUser
from tests.alerts.test_delivery import GENERAL, alert, routes_env, settle
from tests.alerts.webhook import post, start_with
from tests.bot.harness import ADMIN, ANALYST, RESPONDER, card_of

SAM_ONE = ChannelUser(str(uuid.UUID(int=1)), "Sam Same")
SAM_TWO = ChannelUser(str(uuid.UUID(int=2)), "Sam Same")
STRANGER_ID = str(uuid.UUID(int=3))
HOSTILE = "<at>Mallory</at> **bold** [x](https://evil.example)"


def rules(mentions: list[str]) -> dict:
    quoted = ", ".join(f"'{name}'" for name in mentions)
    return tomllib.loads(
        '[[alerts.routes]]\nname = "critical"\nmin_severity = "critical"\nchannel = "Alerts"\n'
        f"mentions = [{quoted}]\n"
    )


@pytest.fixture
async def bot(store_url):
    wanted = [
        "rob responder",  # a display name, any case
        ANALYST.aad_object_id.upper(),  # an AAD object id
        "Ghost Person",  # nobody the bot has seen
        STRANGER_ID,  # an object id the directory does not know
        "Sam Same",  # two people share this name
        HOSTILE,
    ]
    harness = await start_with(store_url, rules(wanted), routes_env())
    try:
        for user in (ADMIN, RESPONDER, ANALYST, SAM_ONE, SAM_TWO):
            await harness.say(user, "ping", GENERAL)
        yield harness
    finally:
        await harness.close()


def text_blocks(card: dict) -> list[str]:
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "TextBlock":
                found.append(node.get("text", ""))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card.get("body", []))
    return found


async def test_known_people_are_mentioned_and_everyone_else_is_plain_text(bot):
    status, _ = await post(bot.url, "generic", alert("Ransomware note", "FS-1", 1, "critical"))
    assert status == 202
    (call,) = await settle(bot, GENERAL, lambda calls: len(calls) >= 1)
    card = card_of(call)
    entities = card["msteams"]["entities"]
    assert card["msteams"]["width"] == "Full"
    assert entities == [
        {
            "type": "mention",
            "text": "<at>Rob Responder</at>",
            "mentioned": {"id": RESPONDER.aad_object_id, "name": "Rob Responder"},
        },
        {
            "type": "mention",
            "text": "<at>Ann Analyst</at>",
            "mentioned": {"id": ANALYST.aad_object_id, "name": "Ann Analyst"},
        },
    ]
    (line,) = [text for text in text_blocks(card) if text.startswith("Notify: ")]
    # Teams pairs each entity with the exact same text in the card.
    for entity in entities:
        assert entity["text"] in line
    assert "Ghost Person" in line
    assert STRANGER_ID in line
    assert "Sam Same" in line
    assert line.count("<at>") == 2, "only known people become mention markup"
    assert "\\<at\\>Mallory\\</at\\>" in line
    assert "\\*\\*bold\\*\\*" in line and "\\[x\\]" in line


async def test_a_card_without_route_mentions_has_no_mention_line(bot):
    await post(bot.url, "generic", alert("Odd login", "WS-9", 1, "medium"))
    (call,) = await settle(bot, GENERAL, lambda calls: len(calls) >= 1)
    card = card_of(call)
    assert "entities" not in card.get("msteams", {})
    assert not [text for text in text_blocks(card) if text.startswith("Notify: ")]


async def test_mentions_stay_on_the_card_when_it_is_updated(bot):
    for n in range(3):
        await post(bot.url, "generic", alert("Ransomware note", "FS-2", n, "critical"))

    def updated(calls):
        return any("seen 3x" in str(c.activity) for c in calls)

    calls = await settle(bot, GENERAL, updated)
    last = card_of([c for c in calls if "seen 3x" in str(c.activity)][-1])
    assert [e["mentioned"]["name"] for e in last["msteams"]["entities"]] == [
        "Rob Responder",
        "Ann Analyst",
    ]


async def test_at_most_ten_mentions_are_resolved(store_url):
    many = [f"Person {n}" for n in range(MAX_MENTIONS + 5)]
    harness = await start_with(store_url, rules(many), routes_env())
    try:
        await harness.say(ADMIN, "ping", GENERAL)
        await post(harness.url, "generic", alert("Wiper", "DC-1", 1, "critical"))
        (call,) = await settle(harness, GENERAL, lambda calls: len(calls) >= 1)
        (line,) = [t for t in text_blocks(card_of(call)) if t.startswith("Notify: ")]
        assert "Person 9" in line and "Person 10" not in line
    finally:
        await harness.close()


def mentioned(card: dict) -> list[str]:
    return [e["mentioned"]["name"] for e in card.get("msteams", {}).get("entities", [])]


async def _click(harness, verb: str, alert_id: str, card_id: str, trigger: str = "manual"):
    status, body = await harness.channel.send_card_action(
        ANALYST,
        GENERAL,
        verb=verb,
        data={"alertId": alert_id},
        reply_to_id=card_id,
        trigger=trigger,
    )
    assert status == 200, body
    assert body["type"] == "application/vnd.microsoft.card.adaptive", body
    return body["value"]


@pytest.mark.parametrize(
    ("verb", "trigger"),
    [("alert.ack", "manual"), ("alert.refresh", "manual"), ("alert.refresh", "automatic")],
)
async def test_mentions_stay_on_the_card_after_acknowledge_and_refresh(bot, verb, trigger):
    await post(bot.url, "generic", alert("Ransomware note", "FS-3", 1, "critical"))
    (call,) = await settle(bot, GENERAL, lambda calls: len(calls) >= 1)
    posted = card_of(call)
    alert_id = await bot.vigil.services.store.fetchval("SELECT id FROM alerts")
    card = await _click(bot, verb, alert_id, call.activity_id, trigger)
    assert mentioned(card) == ["Rob Responder", "Ann Analyst"]
    # The clicked card keeps the posted Notify line, mention markup and plain-text names alike.
    (line,) = [t for t in text_blocks(card) if t.startswith("Notify: ")]
    assert [t for t in text_blocks(posted) if t.startswith("Notify: ")] == [line]
    if verb == "alert.ack":
        assert any("acknowledged by Ann Analyst" in t for t in text_blocks(card))


async def test_a_re_rendered_card_without_route_mentions_gets_none(bot):
    await post(bot.url, "generic", alert("Odd login", "WS-8", 1, "medium"))
    (call,) = await settle(bot, GENERAL, lambda calls: len(calls) >= 1)
    alert_id = await bot.vigil.services.store.fetchval("SELECT id FROM alerts")
    card = await _click(bot, "alert.ack", alert_id, call.activity_id)
    assert mentioned(card) == []
    assert not [t for t in text_blocks(card) if t.startswith("Notify: ")]
