"""Severity words per route, and de-duplication that never merges different alerts (#17)."""

from __future__ import annotations

import tomllib

from bot.alerts import repository
from bot.alerts.model import Severity
from tests.alerts.published import published
from tests.alerts.test_delivery import CRITICAL, GENERAL, alert, cards_in, routes_env, settle
from tests.alerts.test_published_samples import BASIC
from tests.alerts.webhook import post, start_with
from tests.bot.harness import ADMIN, card_text

PROMETHEUS_ROUTE = (
    '[[alerts.routes]]\nname = "prometheus-high"\nsource = "alertmanager"\n'
    'min_severity = "high"\nchannel = "soc-critical"\n'
    'severity_map = { major = "high" }\n'
)


async def test_a_route_maps_the_producers_own_severity_word(store_url):
    # The recorded pre-0.19 body (see tests/fakes/alert_samples/published/README.md) labels its
    # alerts severity="major": no default meaning, so unknown, but this route says high.
    harness = await start_with(store_url, tomllib.loads(PROMETHEUS_ROUTE), routes_env())
    try:
        await harness.say(ADMIN, "ping", GENERAL)
        await harness.say(ADMIN, "ping", CRITICAL)
        body = published("alertmanager", "alertmonitor_pre019_firing")
        status, answer = await post(harness.url, "alertmanager", body, signed=False, headers=BASIC)
        assert status == 202, answer
        calls = await settle(harness, CRITICAL, lambda c: len(c) >= 1)
        assert "HIGH" in card_text(calls[0].activity)
        found = await repository.get(harness.vigil.services.store, answer["ids"][0])
        assert found is not None
        assert found[0].severity is Severity.HIGH and found[1]["route"] == "prometheus-high"
        assert cards_in(harness, GENERAL) == []
    finally:
        await harness.close()


async def test_page_is_critical_without_any_route(bot):
    body = published("alertmanager", "alertmonitor_pre019_firing")
    body["alerts"][0]["labels"]["severity"] = "page"
    status, answer = await post(bot.url, "alertmanager", body, signed=False, headers=BASIC)
    assert status == 202, answer
    found = await repository.get(bot.vigil.services.store, answer["ids"][0])
    assert found is not None and found[0].severity is Severity.CRITICAL
    assert "warnings" not in answer["accepted"][0]


async def test_alerts_on_one_host_with_different_entities_are_not_merged(bot):
    first = alert("Suspicious sign-in", "WS-1", 1)
    second = alert("Suspicious sign-in", "WS-1", 2)
    first["entities"].append({"type": "user", "value": "ann@contoso.example"})
    second["entities"].append({"type": "user", "value": "bob@contoso.example"})
    status, _ = await post(bot.url, "generic", [first, second])
    assert status == 202
    calls = await settle(bot, GENERAL, lambda c: len([x for x in c if x.kind == "send"]) >= 2)
    texts = [card_text(c.activity) for c in calls if c.kind == "send"]
    assert any("ann@contoso.example" in t for t in texts)
    assert any("bob@contoso.example" in t for t in texts)
    assert not any("seen 2x" in t for t in texts)


async def test_seen_counts_repeats_of_one_alert(bot):
    repeats = [alert("Beaconing", "WS-2", n) for n in range(3)]  # same rule, same entities
    other = alert("Beaconing", "WS-3", 9)
    await post(bot.url, "generic", [*repeats, other])

    def done(calls):
        texts = [card_text(c.activity) for c in calls]
        return any("WS-2" in t and "seen 3x" in t for t in texts) and any(
            "WS-3" in t and "seen 1x" in t for t in texts
        )

    calls = await settle(bot, GENERAL, done)
    assert len([c for c in calls if c.kind == "send"]) == 2
