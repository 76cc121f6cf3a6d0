"""A poisoned alert fails only itself: text the store cannot hold (a lone surrogate, NUL) is made
storable at the edge, an id that would change is refused naming its field, and a batch that
still fails in the database is retried item by item, so good alerts posted beside it are stored.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.alerts import repository
from bot.alerts.dedupe import Window
from bot.alerts.group_commit import GroupCommit
from bot.alerts.model import Alert, Severity
from bot.alerts.pipeline import route_pending
from bot.alerts.routing import Routes
from bot.kernel.config import RawConfig
from tests.alerts.webhook import alert_env, post
from tests.bot.harness import Harness

ROUNDS = 20
GOOD = 40
# As a JSON escape, the way a hostile or broken SIEM sends them (json.dumps escapes both).
POISONS = {"surrogate": "\ud800", "nul": "\x00"}
REPLACEMENT = "\ufffd"


@pytest.fixture
async def bot(store_url):
    harness = await Harness.start(store_url, alert_env())
    try:
        yield harness
    finally:
        await harness.close()


@pytest.mark.parametrize("poison", POISONS)
async def test_a_poisoned_alert_among_40_good_ones_fails_nothing_else(bot, poison):
    bad = POISONS[poison]
    for round_ in range(ROUNDS):
        good = [
            {"id": f"good-{poison}-{round_}-{n}", "title": f"Beacon {n}", "severity": "high"}
            for n in range(GOOD)
        ]
        poisoned = {
            "id": f"bad-{poison}-{round_}",
            "title": f"x{bad}",
            "severity": "high",
            "description": f"evil {bad} text",
            "entities": [{"type": "host", "value": f"ws{bad}01"}],
        }
        answers = await asyncio.gather(
            *(post(bot.url, "generic", body) for body in [*good[:20], poisoned, *good[20:]])
        )
        statuses = [status for status, _ in answers]
        poisoned_status, poisoned_answer = answers[20]
        others = statuses[:20] + statuses[21:]
        assert others == [202] * GOOD, (round_, [a for a in answers if a[0] != 202])
        # Stored with the characters replaced (the rule of bot/kernel/storable.py).
        assert poisoned_status == 202, poisoned_answer
        stored = await repository.get(bot.vigil.services.store, poisoned_answer["ids"][0])
        assert stored is not None
        alert = stored[0]
        assert alert.title == f"x{REPLACEMENT}"
        assert alert.description == f"evil {REPLACEMENT} text"
        assert alert.entity("host") == f"ws{REPLACEMENT}01"
        assert bad not in alert.raw and REPLACEMENT in alert.raw
    count = await bot.vigil.services.store.fetchval("SELECT COUNT(*) FROM alerts")
    assert count == ROUNDS * (GOOD + 1)


@pytest.mark.parametrize("poison", POISONS)
async def test_an_id_that_cannot_be_stored_is_refused_naming_the_field(bot, poison):
    bad = POISONS[poison]
    status, answer = await post(
        bot.url, "generic", {"id": f"a{bad}", "title": "t", "severity": "high"}
    )
    assert status == 422, answer
    assert answer["field"] == "id"
    # In a list, only that item is refused; the rest are stored.
    body = [
        {"id": "fine-1", "title": "t", "severity": "high"},
        {"id": f"b{bad}", "title": "t", "severity": "high"},
    ]
    status, answer = await post(bot.url, "generic", body)
    assert status == 202, answer
    assert len(answer["ids"]) == 1
    assert [item["field"] for item in answer["rejected"]] == ["[1].id"]


async def test_a_surrogate_sent_as_raw_utf8_bytes_is_replaced_too(bot):
    # Not valid UTF-8, but Python's JSON parser reads bytes with "surrogatepass".
    raw = b'{"id": "raw-1", "title": "x\xed\xa0\x80", "severity": "high"}'
    status, answer = await post(bot.url, "generic", raw=raw)
    assert status == 202, answer
    stored = await repository.get(bot.vigil.services.store, answer["ids"][0])
    assert stored is not None and stored[0].title == f"x{REPLACEMENT}"


def _alert(source_id: str, title: str) -> Alert:
    return Alert(source="generic", source_id=source_id, title=title, severity=Severity.HIGH)


async def test_a_batch_holding_an_alert_the_database_rejects_commits_the_others(store):
    # Built in code, past the edge: only the group commit's isolation protects the others here.
    commit = GroupCommit(store)
    rejected = ["\ud800"] + (["\x00"] if store.dialect == "postgresql" else [])
    good: list[list[Alert]] = [[_alert(f"g{n}", "ok")] for n in range(30)]
    bad = [[_alert(f"bad-{n}", f"x{text}")] for n, text in enumerate(rejected)]
    results = await asyncio.gather(
        *(commit.save(alerts) for alerts in good[:15] + bad + good[15:]), return_exceptions=True
    )
    failed = results[15 : 15 + len(bad)]
    stored = results[:15] + results[15 + len(bad) :]
    assert all(isinstance(result, list) for result in stored), stored
    assert all(isinstance(result, Exception) for result in failed), failed
    assert await store.fetchval("SELECT COUNT(*) FROM alerts") == len(good)


async def test_an_alert_whose_routing_fails_is_set_aside_and_the_others_are_routed(store):
    await GroupCommit(store).save([_alert(f"r{n}", "ok") for n in range(6)])
    # A row no router can read (written past the edge: by an older Vigil, or by hand).
    await store.execute("UPDATE alerts SET severity = 'bogus' WHERE source_id = 'r2'")
    routes = Routes.load(RawConfig({}, {}, "test.toml"))
    window = Window(seconds=300, digest_after=5)

    assert await route_pending(store, routes, window) == 6
    rows = await store.fetchall("SELECT source_id, routed FROM alerts ORDER BY source_id")
    states = {row["source_id"]: row["routed"] for row in rows}
    assert states.pop("r2") == repository.FAILED
    assert set(states.values()) == {repository.NO_CHANNEL}  # routed: no channel is configured
    assert await route_pending(store, routes, window) == 0  # nothing is left holding the queue


@pytest.mark.parametrize("poison", POISONS)
async def test_poisoned_labels_and_group_key_are_stored_replaced(bot, poison):
    """Alertmanager's labels, group key and severity word are stored too (the `producer` column):
    found by bench/fuzz.py, where a lone surrogate in a label still answered 500."""
    bad = POISONS[poison]
    body = {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="Disk{bad}"}}',
        "status": "firing",
        "receiver": "vigil",
        "groupLabels": {"alertname": f"Disk{bad}"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": f"Disk{bad}", "severity": f"page{bad}", f"k{bad}": "v"},
                "annotations": {"summary": "disk full"},
                "startsAt": "2024-05-02T09:20:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.example:9090/graph",
                "fingerprint": "0123456789abcdef",
            }
        ],
    }
    status, answer = await post(bot.url, "alertmanager", body)
    assert status == 202, answer
    [(stored, row)] = await repository.recent(bot.vigil.services.store, 1)
    assert REPLACEMENT in stored.title and REPLACEMENT in row["producer"]
