"""Incident records, the per-day counter (also across processes), the timeline and its export."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.incidents import IncidentNotFound, add_timeline, records, timeline
from bot.incidents.export import to_json, to_markdown
from bot.incidents.records import Severity, Status
from tests.store.processes import run_workers

MAY_2 = datetime(2024, 5, 2, 9, 20, tzinfo=UTC).timestamp()
MAY_3 = datetime(2024, 5, 3, 0, 0, 1, tzinfo=UTC).timestamp()


async def _open(store, title="Phishing wave finance", now=MAY_2, **kw):
    return await records.create(
        store,
        title=title,
        severity=kw.pop("severity", Severity.HIGH),
        opened_by_id="aad-ann",
        opened_by_name="Ann Analyst",
        now=now,
        **kw,
    )


async def test_ids_count_per_day_and_restart_each_day(store):
    first = await _open(store)
    second = await _open(store)
    next_day = await _open(store, now=MAY_3)
    assert [first.id, second.id, next_day.id] == [
        "INC-20240502-001",
        "INC-20240502-002",
        "INC-20240503-001",
    ]
    loaded = await records.get(store, second.id)
    assert loaded == second
    assert loaded.status == Status.TRIAGE
    assert loaded.commander_name == "Ann Analyst"  # whoever opens it commands until handover


async def test_concurrent_creates_in_one_process_get_distinct_ids(store):
    import asyncio

    made = await asyncio.gather(*(_open(store, f"t{n}") for n in range(30)))
    assert len({incident.id for incident in made}) == 30


async def test_fifty_creates_from_two_processes_on_postgresql_are_distinct(pg_url):
    from bot.store import open_store

    async with await open_store(pg_url) as store:
        await store.migrate()
    first, second = await run_workers("tests.incidents.worker", [pg_url, "25"], [pg_url, "25"])
    ids = first + second
    assert len(ids) == 50
    assert len(set(ids)) == 50
    numbers = sorted(int(incident_id.rsplit("-", 1)[1]) for incident_id in ids)
    assert numbers == list(range(1, 51))


async def test_hostile_text_is_stored_as_plain_bounded_text(store):
    incident = await _open(
        store,
        title="\u0000evil\u202e\n" + "x" * 500,
        description="line one\nline two\x07",
        indicators=["evil.example.com"],
    )
    assert "\u0000" not in incident.title and "\n" not in incident.title
    assert len(incident.title) <= records.MAX_TITLE
    assert incident.description == "line one line two"
    assert (await records.get(store, incident.id)).indicators == ["evil.example.com"]


def test_incident_ids_are_normalised():
    assert records.normalise_id("inc-20240502-3") == "INC-20240502-003"
    assert records.normalise_id("INC-20240502-0042") == "INC-20240502-042"
    for bad in ("INC-2024-001", "INC-20240502-", "INC-20240502-1; DROP", "", "42"):
        assert records.normalise_id(bad) is None


async def test_update_only_changes_allowed_fields(store):
    incident = await _open(store)
    await records.update(store, incident.id, status="contained", severity="critical")
    loaded = await records.get(store, incident.id)
    assert (loaded.status, loaded.severity) == ("contained", "critical")
    with pytest.raises(ValueError):
        await records.update(store, incident.id, id="INC-20240502-999")
    with pytest.raises(IncidentNotFound):
        await records.update(store, "INC-20240502-999", status="closed")


async def test_recent_lists_newest_first_and_filters_open(store):
    a = await _open(store, "a")
    b = await _open(store, "b", now=MAY_2 + 60)
    await records.update(store, a.id, status="closed")
    assert [i.id for i in await records.recent(store)] == [b.id, a.id]
    assert [i.id for i in await records.recent(store, open_only=True)] == [b.id]


async def test_timeline_keeps_time_order_then_write_order(store):
    incident = await _open(store)
    await add_timeline(store, incident.id, "Ann Analyst", "note", "second", at=MAY_2 + 10)
    await add_timeline(store, incident.id, "Vigil", "opened", "first", at=MAY_2)
    await add_timeline(store, incident.id, "Sam", "approval", "third", at=MAY_2 + 10)
    await add_timeline(store, incident.id, "Dana", "action", "fourth", at=MAY_2 + 20)
    assert [e.text for e in await timeline.entries(store, incident.id)] == [
        "first",
        "second",
        "third",
        "fourth",
    ]
    last, total = await timeline.latest(store, incident.id, 2)
    assert [e.text for e in last] == ["third", "fourth"]
    assert total == 4


async def test_timeline_refuses_an_unknown_incident(store):
    with pytest.raises(IncidentNotFound):
        await add_timeline(store, "INC-20990101-001", "x", "note", "nothing")


async def test_export_markdown_and_json(store):
    incident = await _open(store, indicators=["evil.example.com"], description="Mails to AP")
    await add_timeline(store, incident.id, "Vigil", "opened", "Incident opened", at=MAY_2)
    await add_timeline(
        store, incident.id, "Mallory", "note", "pipe | and [link](javascript:x) **b**", at=MAY_2 + 1
    )
    entries = await timeline.entries(store, incident.id)
    incident = await records.get(store, incident.id)
    markdown = to_markdown(incident, entries)
    assert markdown.startswith("# INC-20240502-001: Phishing wave finance\n")
    assert "- Severity: high" in markdown
    assert "`evil.example.com`" in markdown
    assert "| 2024-05-02 09:20:00 | Vigil | opened | Incident opened |" in markdown
    assert "pipe \\| and \\[link\\](javascript:x) \\*\\*b\\*\\*" in markdown
    document = json.loads(to_json(incident, entries))
    assert document["incident"]["id"] == incident.id
    assert document["incident"]["openedAt"] == "2024-05-02 09:20:00 UTC"
    assert "service_url" not in document["incident"]
    assert [e["text"] for e in document["timeline"]][0] == "Incident opened"
    assert document["timeline"][1]["actor"] == "Mallory"
