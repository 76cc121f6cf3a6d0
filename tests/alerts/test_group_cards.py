"""One Alertmanager group notification is one card, listing its alerts by what tells them apart;
later notifications of the group update it; resolved alerts update, or are only recorded (#17)."""

from __future__ import annotations

import copy
import tomllib

from bot.alerts import repository
from tests.alerts.published import published
from tests.alerts.test_delivery import GENERAL, alert, cards_in, routes_env, settle
from tests.alerts.test_published_samples import BASIC, GRAPH_ALERT
from tests.alerts.webhook import post, start_with
from tests.bot.harness import ADMIN, card_text

GROUP_KEY = '{}/{severity="page"}:{alertname="ProbeFailed"}'


def notification(alerts, status="firing", truncated=None):
    """A group notification as Alertmanager before 0.19 sent it (no fingerprints)."""
    body = {
        "receiver": "vigil",
        "status": status,
        "alerts": alerts,
        "groupLabels": {"alertname": alerts[0]["labels"]["alertname"]},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example.test:9093",
        "version": "4",
        "groupKey": GROUP_KEY,
    }
    if truncated is not None:
        body["truncatedAlerts"] = truncated
    return body


def probe(n, status="firing", name="ProbeFailed", summary="Probe failed"):
    # One blackbox exporter probes every server: `instance` is the same, `alias` tells them apart.
    return {
        "status": status,
        "labels": {
            "alertname": name,
            "instance": "blackbox-1:9115",
            "alias": f"server-{n:02d}",
            "job": "blackbox",
            "severity": "page",
        },
        "annotations": {"summary": summary},
        "startsAt": "2019-06-01T10:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example.test:9090/graph",
    }


def sends(calls):
    return [c for c in calls if c.kind == "send"]


async def test_nineteen_servers_told_apart_by_alias_are_one_card_naming_each(bot):
    body = notification([probe(n) for n in range(1, 20)])
    status, answer = await post(bot.url, "alertmanager", body, signed=False, headers=BASIC)
    assert status == 202, answer
    assert len(set(answer["ids"])) == 19
    calls = await settle(
        bot, GENERAL, lambda c: any("server-19" in card_text(x.activity) for x in c)
    )
    assert len(sends(calls)) == 1
    text = card_text(calls[-1].activity)
    for n in range(1, 20):
        assert f"alias=server-{n:02d}" in text
    assert "19 alerts" in text and "ProbeFailed" in text
    assert "seen 19x" not in text and "seen 20x" not in text
    assert "CRITICAL" in text  # severity="page"


async def test_twelve_alertnames_with_one_summary_are_one_card_naming_each(bot):
    names = [f"DiskFull{n}" for n in range(12)]
    body = notification([probe(1, name=name, summary="Disk almost full") for name in names])
    status, answer = await post(bot.url, "alertmanager", body, signed=False, headers=BASIC)
    assert status == 202, answer
    calls = await settle(
        bot, GENERAL, lambda c: any("DiskFull11" in card_text(x.activity) for x in c)
    )
    assert len(sends(calls)) == 1
    text = card_text(calls[-1].activity)
    assert all(name in text for name in names)
    assert "Disk almost full" in text


async def test_a_later_notification_of_the_group_updates_its_card(bot):
    first = notification([probe(1), probe(2)])
    await post(bot.url, "alertmanager", first, signed=False, headers=BASIC)
    await settle(bot, GENERAL, lambda c: len(sends(c)) == 1)
    later = notification([probe(1), probe(2, status="resolved"), probe(3)], truncated=4)
    status, answer = await post(bot.url, "alertmanager", later, signed=False, headers=BASIC)
    assert status == 202, answer

    def updated(calls):
        return any(c.kind == "update" and "server-03" in card_text(c.activity) for c in calls)

    calls = await settle(bot, GENERAL, updated)
    assert len(sends(calls)) == 1
    text = card_text(calls[-1].activity)
    assert "alias=server-02 (resolved)" in text
    assert "3 alerts, 1 resolved" in text
    assert "left 4 more alerts" in text  # truncatedAlerts is shown


async def test_the_whole_group_resolved_updates_the_card_to_resolved(bot):
    await post(
        bot.url, "alertmanager", notification([probe(1), probe(2)]), signed=False, headers=BASIC
    )
    await settle(bot, GENERAL, lambda c: len(sends(c)) == 1)
    # Pre-0.19 style again, and the alerts carry no status of their own: the group's counts.
    resolved = notification([probe(1), probe(2)], status="resolved")
    for item in resolved["alerts"]:
        del item["status"]
    await post(bot.url, "alertmanager", resolved, signed=False, headers=BASIC)
    calls = await settle(
        bot, GENERAL, lambda c: any(card_text(x.activity).count("(resolved)") == 2 for x in c)
    )
    assert len(sends(calls)) == 1
    assert "Status: Resolved" in card_text(calls[-1].activity)


async def test_a_resolved_informational_defender_alert_is_recorded_not_posted(bot):
    resolved = copy.deepcopy(GRAPH_ALERT)
    resolved.update(id="da6380000000000000_resolved", status="resolved", severity="informational")
    status, answer = await post(bot.url, "defender", resolved)
    assert status == 202, answer
    # A firing alert posted after it shows that the router has passed the resolved one.
    await post(bot.url, "generic", alert("After", "WS-1", 1))
    calls = await settle(bot, GENERAL, lambda c: any("After" in card_text(x.activity) for x in c))
    assert all(resolved["title"] not in card_text(c.activity) for c in calls)
    found = await repository.get(bot.vigil.services.store, answer["ids"][0])
    assert found is not None and found[1]["routed"] == repository.RECORDED


async def test_a_resolved_alert_updates_the_card_it_resolves(bot):
    firing = copy.deepcopy(GRAPH_ALERT)
    status, answer = await post(bot.url, "defender", firing)
    assert status == 202, answer
    await settle(bot, GENERAL, lambda c: len(sends(c)) == 1)
    firing["status"] = "resolved"
    await post(bot.url, "defender", firing)
    calls = await settle(
        bot,
        GENERAL,
        lambda c: any(x.kind == "update" and "Resolved" in card_text(x.activity) for x in c),
    )
    assert len(sends(calls)) == 1


async def test_a_route_with_post_resolved_posts_them(store_url):
    document = tomllib.loads(
        '[[alerts.routes]]\nname = "all"\nchannel = "Alerts"\npost_resolved = true\n'
    )
    harness = await start_with(store_url, document, routes_env())
    try:
        await harness.say(ADMIN, "ping", GENERAL)
        resolved = copy.deepcopy(GRAPH_ALERT)
        resolved.update(status="resolved", severity="informational")
        await post(harness.url, "defender", resolved)
        calls = await settle(harness, GENERAL, lambda c: len(c) >= 1)
        assert resolved["title"] in card_text(calls[0].activity)
        assert "Resolved" in card_text(calls[0].activity)
    finally:
        await harness.close()


def test_published_sample_is_the_one_recorded():
    # Guard: the helper reads the file named in the README.
    assert published("alertmanager", "alertmonitor_pre019_firing")["version"] == "4"
    assert cards_in is not None
