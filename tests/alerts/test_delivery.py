"""Routing, de-duplication and paced delivery, seen at the local Teams channel."""

from __future__ import annotations

import asyncio
import json
import tomllib

from bot.devchannel.channel import ChannelConversation
from tests.alerts.webhook import alert_env, post, start_with
from tests.bot.harness import ADMIN, Harness, card_text

CRITICAL = ChannelConversation.channel("SOC", "soc-critical")
GENERAL = ChannelConversation.channel("SOC", "Alerts")


def routes_env() -> dict[str, str]:
    return {**alert_env(), "VIGIL_ALERTS_DEFAULT_CHANNEL": "Alerts"}


def cards_in(harness, conversation):
    return [
        call
        for call in harness.channel.sent()
        if (call.conversation_id or "").startswith(conversation.id)
        and call.kind in ("send", "update")
        and (call.activity or {}).get("attachments")
    ]


async def settle(harness, conversation, predicate, within=20.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        calls = cards_in(harness, conversation)
        if predicate(calls):
            return calls
        await asyncio.sleep(0.1)
    raise AssertionError(f"not reached; {len(cards_in(harness, conversation))} card calls")


def alert(title, host, n, severity="high"):
    return {
        "title": title,
        "severity": severity,
        "id": f"{title}-{host}-{n}",
        "entities": [{"type": "host", "value": host}],
        "description": f"occurrence {n}",
    }


async def test_an_alert_becomes_a_card_in_the_default_channel(bot):
    status, answer = await post(bot.url, "generic", alert("Encoded PowerShell", "WS-1", 1))
    assert status == 202
    calls = await settle(bot, GENERAL, lambda c: len(c) >= 1)
    text = card_text(calls[0].activity["attachments"][0]["content"])
    assert "Encoded PowerShell" in text
    assert "WS-1" in text
    assert answer["ids"][0] in json.dumps(calls[0].activity)


async def test_a_burst_of_50_over_3_hosts_becomes_3_cards_with_the_right_counts(bot):
    hosts = ["WS-1", "WS-2", "WS-3"]
    batch = [alert("LSASS access", hosts[n % 3], n) for n in range(50)]
    status, answer = await post(bot.url, "generic", batch)
    assert status == 202
    assert len(answer["ids"]) == 50
    expected = {"WS-1": 17, "WS-2": 17, "WS-3": 16}

    def done(calls):
        latest = {}
        for call in calls:
            text = card_text(call.activity["attachments"][0]["content"])
            for host in hosts:
                if host in text:
                    latest[host] = text
        return all(f"seen {expected[h]}x" in latest.get(h, "") for h in hosts)

    calls = await settle(bot, GENERAL, done)
    assert len([c for c in calls if c.kind == "send"]) == 3


async def test_critical_goes_to_its_rule_channel(store_url):
    document = tomllib.loads(
        '[[alerts.routes]]\nname = "critical"\nmin_severity = "critical"\n'
        'channel = "#soc-critical"\n'
        '[[alerts.routes]]\nname = "noise"\naction = "drop"\ntitle_regex = "^heartbeat"\n'
    )
    harness = await start_with(store_url, document, routes_env())
    try:
        await harness.say(ADMIN, "ping", GENERAL)
        await harness.say(ADMIN, "ping", CRITICAL)
        await post(harness.url, "generic", alert("Heartbeat missing", "h", 1, "low"))
        await post(harness.url, "generic", alert("Ransomware note", "FS-1", 1, "critical"))
        await post(harness.url, "generic", alert("Odd login", "WS-9", 1, "medium"))
        await settle(harness, CRITICAL, lambda c: len(c) >= 1)
        await settle(harness, GENERAL, lambda c: len(c) >= 1)
        critical = card_text(cards_in(harness, CRITICAL)[0].activity)
        assert "Ransomware note" in critical
        general = " ".join(card_text(c.activity) for c in cards_in(harness, GENERAL))
        assert "Odd login" in general
        assert "Heartbeat" not in general + critical
    finally:
        await harness.close()


async def test_many_distinct_alerts_overflow_into_a_digest_card(store_url):
    env = {**routes_env(), "VIGIL_ALERTS_DIGEST_AFTER": "3"}
    harness = await Harness.start(store_url, env)
    try:
        await harness.say(ADMIN, "ping", GENERAL)
        batch = [alert(f"Rule {n}", f"H-{n}", n) for n in range(10)]
        await post(harness.url, "generic", batch)

        def digest_of_7(calls):
            return any(
                "Alert digest" in card_text(c.activity) and "7" in card_text(c.activity)
                for c in calls
            )

        calls = await settle(harness, GENERAL, digest_of_7)
        assert len([c for c in calls if c.kind == "send"]) == 4  # 3 cards + 1 digest
    finally:
        await harness.close()


async def test_storm_pacing_at_the_channel_stays_under_the_conversation_limits(tmp_path):
    env = {**routes_env(), "VIGIL_ALERTS_DIGEST_AFTER": "1000"}
    harness = await Harness.start(f"sqlite:///{tmp_path}/vigil.db", env)
    try:
        await harness.say(ADMIN, "ping", GENERAL)
        batch = [alert(f"Rule {n}", f"H-{n}", n) for n in range(40)]
        await post(harness.url, "generic", batch)
        calls = await settle(harness, GENERAL, lambda c: len(c) >= 40, within=60)
        times = sorted(c.time for c in calls)
        worst = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
        assert worst <= 7
    finally:
        await harness.close()


async def test_throttling_and_server_errors_are_retried_until_delivered(bot):
    bot.channel.inject_faults(429, 2, retry_after=0.1)
    bot.channel.inject_faults(502, 1)
    await post(bot.url, "generic", alert("Retry me", "WS-7", 1))
    calls = await settle(bot, GENERAL, lambda c: len(c) >= 1)
    assert "Retry me" in card_text(calls[0].activity)


async def test_a_card_too_large_is_sent_in_compact_form(bot):
    bot.channel.reject_large_bodies(3000)
    big = alert("Big one", "WS-8", 1)
    big["description"] = "d" * 3000
    big["entities"] += [{"type": "ip", "value": f"10.0.0.{n}"} for n in range(30)]
    await post(bot.url, "generic", big)
    calls = await settle(bot, GENERAL, lambda c: len(c) >= 1)
    text = card_text(calls[0].activity)
    assert "Big one" in text
    assert "d" * 300 not in text
    assert len(json.dumps(calls[0].activity)) < 3000
