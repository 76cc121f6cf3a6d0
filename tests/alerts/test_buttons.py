"""The alert card's buttons, clicked at the local Teams channel on cards the delivery worker posted.

Acknowledge, Enrich, Create incident, Snooze 1h and Refresh: what the clicker sees, what lands in
the channel thread, the audit record of each click, role rules, and hostile action data.
"""

from __future__ import annotations

import json

import pytest

from tests.alerts.test_delivery import GENERAL, alert, cards_in, routes_env, settle
from tests.alerts.webhook import post
from tests.bot.harness import ADMIN, ANALYST, NOBODY, RESPONDER, Harness, card_text

MALICIOUS_IP = "198.51.100.23"  # listed in the shipped example feed


@pytest.fixture
async def bot(tmp_path):
    harness = await Harness.start(f"sqlite:///{tmp_path}/vigil.db", routes_env())
    try:
        await harness.say(ADMIN, "ping", GENERAL)
        yield harness
    finally:
        await harness.close()


async def posted(harness, body, host):
    """Post an alert; its id and the activity id of the card the worker sent for it."""
    status, answer = await post(harness.url, "generic", body)
    assert status == 202, answer
    alert_id = answer["ids"][0]
    calls = await settle(
        harness,
        GENERAL,
        lambda c: any(x.kind == "send" and host in card_text(x.activity) for x in c),
    )
    card = next(c for c in calls if c.kind == "send" and host in card_text(c.activity))
    return alert_id, card.activity_id


async def click(harness, user, verb, data, card_id, trigger="manual"):
    status, body = await harness.channel.send_card_action(
        user, GENERAL, verb=verb, data=data, reply_to_id=card_id, trigger=trigger
    )
    assert status == 200, body
    return body


async def audit_rows(harness, action):
    return await harness.vigil.services.store.fetchall(
        "SELECT actor_name, target, result, result_detail FROM audit_log WHERE action = ?"
        " ORDER BY seq",
        action,
    )


def in_thread(harness, card_id, since):
    return [
        c
        for c in harness.channel.sent()
        if c.seq > since
        and c.kind == "reply"
        and c.conversation_id == GENERAL.id
        and c.activity["replyToId"] == card_id
    ]


async def test_acknowledge_puts_who_and_when_on_the_card_and_is_audited(bot):
    alert_id, card_id = await posted(bot, alert("Beacon", "WS-1", 1), "WS-1")
    body = await click(bot, ANALYST, "alert.ack", {"alertId": alert_id}, card_id)
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    shown = card_text(body["value"])
    assert "acknowledged by Ann Analyst at 20" in shown and "UTC" in shown
    # Everyone else sees it too: the worker updates the posted card in place.
    await settle(
        bot,
        GENERAL,
        lambda c: any(
            x.kind == "update"
            and x.activity_id == card_id
            and "Ann Analyst" in card_text(x.activity)
            for x in c
        ),
    )
    # The first acknowledgement stands; a later click shows it rather than overwriting it.
    again = await click(bot, ADMIN, "alert.ack", {"alertId": alert_id}, card_id)
    assert "acknowledged by Ann Analyst" in card_text(again["value"])
    rows = await audit_rows(bot, "action:alert.ack")
    assert [(r["actor_name"], r["target"], r["result"]) for r in rows] == [
        ("Ann Analyst", alert_id, "ok"),
        ("Ada Admin", alert_id, "ok"),
    ]


async def test_enrich_answers_in_the_thread_with_the_verdict(bot):
    body = alert("C2 beacon", "WS-2", 1)
    body["entities"] += [{"type": "ip", "value": MALICIOUS_IP}]
    alert_id, card_id = await posted(bot, body, "WS-2")
    since = bot.channel.last_seq
    answer = await click(bot, ANALYST, "alert.enrich", {"alertId": alert_id}, card_id)
    # The clicked card stays the alert card; the verdict goes under it.
    assert "C2 beacon" in card_text(answer["value"])
    thread = in_thread(bot, card_id, since)
    assert len(thread) == 1
    verdict = card_text(thread[0].activity)
    assert "198.51.100" in verdict and "alicious" in verdict
    rows = await audit_rows(bot, "action:alert.enrich")
    assert [(r["actor_name"], r["target"], r["result"]) for r in rows] == [
        ("Ann Analyst", alert_id, "ok")
    ]
    assert MALICIOUS_IP in rows[0]["result_detail"]
    assert await audit_rows(bot, "intel.lookup")  # the lookup itself is audited too


async def test_enrich_on_an_alert_with_nothing_to_look_up_says_so(bot):
    alert_id, card_id = await posted(bot, alert("Odd login", "WS-3", 1), "WS-3")
    answer = await click(bot, ANALYST, "alert.enrich", {"alertId": alert_id}, card_id)
    assert answer["type"] == "application/vnd.microsoft.activity.message"
    assert "no IP, domain, URL or hash" in answer["value"]


async def test_create_incident_is_prefilled_from_the_alert_and_opened_once(bot):
    body = alert("Ransomware note", "FS-1", 1, "critical")
    body["entities"] += [{"type": "ip", "value": MALICIOUS_IP}, {"type": "user", "value": "bob"}]
    body["description"] = "README_DECRYPT.txt written in 40 shares"
    alert_id, card_id = await posted(bot, body, "FS-1")

    refused = await click(bot, ANALYST, "alert.incident", {"alertId": alert_id}, card_id)
    assert "responder" in refused["value"]

    since = bot.channel.last_seq
    answer = await click(bot, RESPONDER, "alert.incident", {"alertId": alert_id}, card_id)
    assert "Ransomware note" in card_text(answer["value"])
    thread = in_thread(bot, card_id, since)
    assert len(thread) == 1
    shown = card_text(thread[0].activity)
    assert "INC-" in shown and "Ransomware note" in shown
    store = bot.vigil.services.store
    row = await store.fetchone(
        "SELECT id, title, severity, description, indicators, alert_id FROM incidents"
    )
    assert row["alert_id"] == alert_id
    assert (row["title"], row["severity"]) == ("Ransomware note", "critical")
    assert "README_DECRYPT" in row["description"] and "FS-1" in row["description"]
    assert MALICIOUS_IP in row["indicators"]

    again = await click(bot, ADMIN, "alert.incident", {"alertId": alert_id}, card_id)
    assert f"({row['id']}) was already opened" in again["value"]
    assert await store.fetchval("SELECT COUNT(*) FROM incidents") == 1
    rows = await audit_rows(bot, "action:alert.incident")
    assert [(r["actor_name"], r["result"]) for r in rows] == [
        ("Ann Analyst", "refused"),
        ("Rob Responder", "ok"),
        ("Ada Admin", "refused"),
    ]
    assert await audit_rows(bot, "incident.create")


async def test_snooze_needs_a_responder_and_then_silences_that_rule_on_that_host(bot):
    alert_id, card_id = await posted(bot, alert("Port scan", "WS-4", 1), "WS-4")
    refused = await click(bot, ANALYST, "alert.snooze", {"alertId": alert_id}, card_id)
    assert "responder" in refused["value"]

    answer = await click(bot, RESPONDER, "alert.snooze", {"alertId": alert_id}, card_id)
    assert "Snoozed Port scan on WS-4 until" in answer["value"]
    rows = await audit_rows(bot, "action:alert.snooze")
    assert [(r["actor_name"], r["result"]) for r in rows] == [
        ("Ann Analyst", "refused"),
        ("Rob Responder", "ok"),
    ]

    # The same rule on the same host is not posted; the same rule elsewhere still is.
    await post(bot.url, "generic", alert("Port scan", "WS-4", 2))
    await post(bot.url, "generic", alert("Port scan", "WS-5", 1))
    await settle(bot, GENERAL, lambda c: any("WS-5" in card_text(x.activity) for x in c))
    ws4 = [c for c in cards_in(bot, GENERAL) if "WS-4" in card_text(c.activity)]
    assert all("seen 1x" in card_text(c.activity) for c in ws4)
    recent = await bot.say(ANALYST, "alerts recent", GENERAL)
    assert "dropped/snoozed" in recent.activity["text"]


async def test_refresh_renders_for_the_viewer(bot):
    alert_id, card_id = await posted(bot, alert("Beacon", "WS-6", 1), "WS-6")
    seen = await click(bot, ANALYST, "alert.refresh", {"alertId": alert_id}, card_id, "automatic")
    assert "Beacon" in card_text(seen["value"])
    assert "alert.ack" in json.dumps(seen["value"])
    # Someone with no role sees the card but not the buttons.
    viewer = await click(bot, NOBODY, "alert.refresh", {"alertId": alert_id}, card_id, "automatic")
    assert "Beacon" in card_text(viewer["value"])
    assert "alert.ack" not in json.dumps(viewer["value"])
    # An automatic refresh is rendering only, not audited; a manual one is.
    assert await audit_rows(bot, "action:alert.refresh") == []
    await click(bot, ANALYST, "alert.refresh", {"alertId": alert_id}, card_id)
    assert len(await audit_rows(bot, "action:alert.refresh")) == 1


HOSTILE = [
    {},
    {"alertId": None},
    {"alertId": 5},
    {"alertId": ["al-1"]},
    {"alertId": {"$ne": ""}},
    {"alertId": ""},
    {"alertId": "al-nope"},
    {"alertId": "x" * 20_000},
    {"alertId": "al-\x00\x1b[2J"},
    {"alertId": "' OR 1=1 --"},
]


@pytest.mark.parametrize(
    "verb", ["alert.ack", "alert.enrich", "alert.incident", "alert.snooze", "alert.refresh"]
)
async def test_hostile_action_data_gets_a_clear_answer_and_is_audited(bot, verb):
    for data in HOSTILE:
        body = await click(bot, ADMIN, verb, data, "1")
        assert body["type"] == "application/vnd.microsoft.activity.message", (data, body)
        assert "alert" in body["value"] and "nothing was" in body["value"], body["value"]
        assert "Traceback" not in body["value"]
    rows = await audit_rows(bot, f"action:{verb}")
    assert len(rows) == len(HOSTILE)
    assert {r["result"] for r in rows} == {"refused"}
    assert await bot.vigil.services.store.fetchval("SELECT COUNT(*) FROM incidents") == 0


async def test_snooze_minutes_of_the_wrong_type_or_range_are_refused(bot):
    alert_id, card_id = await posted(bot, alert("Disk full", "WS-7", 1), "WS-7")
    for minutes in ("60", True, 0, -5, 10081, 1.5, None, [60], 10**30):
        data = {"alertId": alert_id, "minutes": minutes}
        body = await click(bot, RESPONDER, "alert.snooze", data, card_id)
        assert "minutes must be a whole number" in body["value"], (minutes, body)
    store = bot.vigil.services.store
    assert await store.fetchval("SELECT COUNT(*) FROM alert_snoozes") == 0


async def test_unknown_verb_and_legacy_submit_fallback(bot):
    alert_id, card_id = await posted(bot, alert("Beacon", "WS-8", 1), "WS-8")
    body = await click(bot, ADMIN, "alert.explode", {"alertId": alert_id}, card_id)
    assert "no longer supported" in body["value"]
    # Clients without Universal Actions send the Action.Submit fallback: the card is updated.
    since = bot.channel.last_seq
    status = await bot.channel.send_submit(
        ANALYST, GENERAL, {"verb": "alert.ack", "alertId": alert_id}, card_id
    )
    assert status in (200, 201)
    update = await bot.channel.wait_for(
        lambda c: c.kind == "update" and c.activity_id == card_id, since=since
    )
    assert "acknowledged by Ann Analyst" in card_text(update.activity)
