"""The cadence's rules below chat: durations, settings, and claiming due runs exactly once."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid

import pytest

from bot.kernel.config import ConfigError, RawConfig
from bot.kernel.errors import DomainError
from bot.store import Store, open_store
from bot.summaries.cadence import format_every, parse_every
from bot.summaries.cadence_settings import CadenceSettings
from bot.summaries.reminders import claim_due

DAY = 24 * 3600


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("15m", 900), ("2h", 7200), ("1h30m", 5400), ("24h", DAY), ("90m", 5400), (" 2H ", 7200)],
)
def test_durations_within_the_range(text, seconds):
    assert parse_every(text, 900, DAY) == seconds


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "14m",
        "24h1s",
        "2d",
        "abc",
        "2",
        "-2h",
        "2h-",
        "1.5h",
        "h",
        "m30",
        "30m2h",
        "9" * 200 + "h",
        "２h",  # a full-width digit
        "2h\x00",
        "2h\u202e",
        "${every}",
    ],
)
def test_other_durations_are_refused_with_the_range(text):
    with pytest.raises(DomainError) as raised:
        parse_every(text, 900, DAY)
    assert "--every" in str(raised.value)
    assert "15m" in str(raised.value) and "24h" in str(raised.value)
    assert len(str(raised.value)) < 200


def test_seconds_only_when_the_minimum_allows():
    assert parse_every("45s", 1, DAY) == 45
    with pytest.raises(DomainError):
        parse_every("45s", 900, DAY)


@pytest.mark.parametrize(
    ("seconds", "text"), [(900, "15m"), (5400, "1h30m"), (DAY, "24h"), (61, "1m1s"), (0, "0s")]
)
def test_format_every(seconds, text):
    assert format_every(seconds) == text


def test_settings_defaults_are_the_issue_range():
    settings = CadenceSettings.load(RawConfig({}, {}))
    assert (settings.min_every, settings.max_every) == (900, DAY)
    assert settings.tick == 5.0


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"VIGIL_SUMMARY_CADENCE_TICK": "0"}, "summaries.cadence_tick"),
        ({"VIGIL_SUMMARY_CADENCE_TICK": "soon"}, "summaries.cadence_tick"),
        ({"VIGIL_SUMMARY_CADENCE_MIN": "0"}, "summaries.cadence_min"),
        ({"VIGIL_SUMMARY_CADENCE_MAX": "10"}, "summaries.cadence_max"),
        ({"VIGIL_SUMMARY_REMINDER_ATTEMPTS": "-1"}, "summaries.reminder_attempts"),
        (
            {"VIGIL_SUMMARY_CADENCE_MIN": "7200", "VIGIL_SUMMARY_CADENCE_MAX": "3600"},
            "summaries.cadence_min",
        ),
    ],
)
def test_bad_settings_name_the_key(env, key):
    with pytest.raises(ConfigError) as raised:
        CadenceSettings.load(RawConfig({}, env))
    assert key in str(raised.value)


_INCIDENT_NUMBERS = itertools.count(1)


async def _cadence(store: Store, next_due: float, every: int = 3600, state: str = "active"):
    row = {
        "id": uuid.uuid4().hex,
        # Distinct ids: an active cadence per incident is a unique key (a random pick collided).
        "incident_id": f"INC-20240502-{next(_INCIDENT_NUMBERS):03d}",
        "state": state,
        "every_seconds": every,
        "next_due": next_due,
        "commander_id": "c",
        "commander_name": "Cam",
        "conversation_id": "a:1",
        "conversation_kind": "personal",
        "created_by_id": "c",
        "created_by_name": "Cam",
        "created_at": next_due - every,
        "updated_at": next_due - every,
        "stopped_by_name": "",
        "stopped_at": None,
        "stop_reason": "",
        "version": 1,
    }
    await store.execute(
        f"INSERT INTO summary_cadences ({', '.join(row)})"  # noqa: S608 - constant names
        f" VALUES ({', '.join('?' * len(row))})",
        *row.values(),
    )
    return row


async def _reminders(store: Store, cadence_id: str) -> list[dict]:
    return await store.fetchall(
        "SELECT due_at, missed, state, kind FROM summary_reminders WHERE cadence_id = ?",
        cadence_id,
    )


async def test_concurrent_claims_make_one_reminder(store):
    now = time.time()
    cadence = await _cadence(store, now - 10)
    claimed = await asyncio.gather(*(claim_due(store, now) for _ in range(20)))
    assert sum(claimed) == 1
    [reminder] = await _reminders(store, cadence["id"])
    assert reminder["state"] == "pending" and reminder["kind"] == "scheduled"
    assert float(reminder["due_at"]) == pytest.approx(now - 10)
    next_due = await store.fetchval(
        "SELECT next_due FROM summary_cadences WHERE id = ?", cadence["id"]
    )
    assert float(next_due) == pytest.approx(now - 10 + 3600)
    assert await claim_due(store, now) == 0


async def test_claims_across_connections_on_postgresql_make_one_reminder(pg_url):
    stores = [await open_store(pg_url) for _ in range(4)]
    try:
        await stores[0].migrate()
        now = time.time()
        cadences = [await _cadence(stores[0], now - 1, every=60) for _ in range(10)]
        claimed = await asyncio.gather(*(claim_due(s, now) for s in stores for _ in range(5)))
        assert sum(claimed) == len(cadences)
        for cadence in cadences:
            assert len(await _reminders(stores[0], cadence["id"])) == 1
    finally:
        for opened in stores:
            await opened.close()


async def test_missed_runs_fold_into_one_reminder(store):
    now = time.time()
    due = now - 5.5 * 3600
    cadence = await _cadence(store, due)
    assert await claim_due(store, now) == 1
    [reminder] = await _reminders(store, cadence["id"])
    assert reminder["missed"] == 5
    next_due = float(
        await store.fetchval("SELECT next_due FROM summary_cadences WHERE id = ?", cadence["id"])
    )
    assert next_due == pytest.approx(due + 6 * 3600)
    assert now < next_due <= now + 3600


async def test_stopped_and_future_cadences_are_not_claimed(store):
    now = time.time()
    stopped = await _cadence(store, now - 10, state="stopped")
    future = await _cadence(store, now + 10)
    assert await claim_due(store, now) == 0
    assert await _reminders(store, stopped["id"]) == []
    assert await _reminders(store, future["id"]) == []
