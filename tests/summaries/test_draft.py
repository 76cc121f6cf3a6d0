"""build_draft on SQLite and PostgreSQL: what goes into each part, caps, and the next update."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.incidents import IncidentNotFound, add_timeline, records
from bot.incidents.records import Severity
from bot.kernel.redaction import Redactor
from bot.summaries.draft import Draft, build_draft
from bot.summaries.presentation import card_data
from bot.summaries.settings import RolePolicy

T0 = datetime(2024, 5, 2, 9, 0, tzinfo=UTC).timestamp()
NOW = T0 + 3 * 3600
POLICY = RolePolicy(roles=(("ws-fin-*", "a finance workstation"),))
NO_PII = Redactor().redact_pii  # no PII configured


async def _incident(store, title="Credential theft on WS-FIN-0231"):
    return await records.create(
        store,
        title=title,
        severity=Severity.HIGH,
        opened_by_id="aad-cam",
        opened_by_name="Cam Commander",
        now=T0,
    )


async def _timeline(store, incident_id, entries):
    for minute, kind, text in entries:
        await add_timeline(store, incident_id, "Cam Commander", kind, text, at=T0 + minute * 60)


CONTAINMENT = [
    (1, "opened", "Incident opened"),
    (2, "containment", "containment requested: Isolate endpoint WS-FIN-0231 (APR-1)"),
    (3, "containment", "Isolate endpoint WS-FIN-0231 (APR-1): approved by Apu Approver"),
    (4, "containment", "executing isolate-endpoint WS-FIN-0231"),
    (5, "containment", "isolate-endpoint WS-FIN-0231: status unknown — still checking"),
    (6, "containment", "isolate-endpoint WS-FIN-0231 succeeded: Isolated"),
    (7, "containment", "Block domain evil.example.com (APR-2): rejected by Apu Approver: no"),
    (8, "containment", "block-ip 198.51.100.23 failed: 403 Forbidden"),
    (9, "note", "Saw a weird login from the VPN"),
    (10, "note", "action: reset the user's password"),
    (11, "status", "Status triage → contained"),
    (12, "note", "next: forensic image of the workstation"),
    (13, "note", "Next steps: hunt for the loader on all endpoints"),
    (14, "note", "impact: one workstation ran attacker code"),
    (15, "command", "check-ip 198.51.100.23"),
    (16, "containment", "rollback of isolate-endpoint WS-FIN-0231 succeeded: released"),
    (17, "summary", "Executive summary posted by Cam: ..."),
    (18, "containment", "Block URL https://evil.example.com/x (APR-3): cancelled by Ann"),
    (19, "severity", "Severity high → critical"),
]


async def test_draft_parts_from_the_record_and_the_timeline(store):
    incident = await _incident(store)
    await _timeline(store, incident.id, CONTAINMENT)
    draft = await build_draft(store, incident.id, now=NOW, prepared_by="Cam Commander")
    assert (draft.incident_id, draft.status, draft.severity) == (incident.id, "Triage", "high")
    assert draft.impact == "one workstation ran attacker code"
    assert draft.actions_taken == [
        "Approved: Isolate endpoint WS-FIN-0231 (by Apu Approver) (09:03 UTC)",
        "Isolated endpoint WS-FIN-0231 (09:06 UTC)",
        "Rejected: Block domain evil.example.com (by Apu Approver) (09:07 UTC)",
        "Failed to block IP address 198.51.100.23 (09:08 UTC)",
        "reset the user's password (09:10 UTC)",
        "Status changed: triage → contained (09:11 UTC)",
        "Rolled back: isolate endpoint WS-FIN-0231 (09:16 UTC)",
        "Severity high → critical (09:19 UTC)",
    ]
    assert draft.actions_more == 0
    assert draft.next_steps == [
        "forensic image of the workstation",
        "hunt for the loader on all endpoints",
    ]
    assert draft.internal_hosts == ["WS-FIN-0231"]
    assert draft.next_update_at == NOW + 2 * 3600
    assert draft.prepared_by == "Cam Commander" and draft.prepared_at == NOW


async def test_lists_keep_the_newest_and_count_the_rest(store):
    incident = await _incident(store)
    entries = [(i, "note", f"done: step {i}") for i in range(30)]
    entries += [(30 + i, "note", f"next: plan {i}") for i in range(12)]
    await _timeline(store, incident.id, entries)
    draft = await build_draft(store, incident.id, now=NOW, max_items=5)
    assert [line.split(" (")[0] for line in draft.actions_taken] == [
        f"step {i}" for i in range(25, 30)
    ]
    assert draft.actions_more == 25
    assert draft.next_steps == [f"plan {i}" for i in range(7, 12)] and draft.next_steps_more == 7
    data = card_data(draft, POLICY, NO_PII)
    assert data["actionsTakenMore"] == "and 25 more" and data["nextStepsMore"] == "and 7 more"


async def test_unknown_impact_and_cadence_time(store):
    incident = await _incident(store)
    draft = await build_draft(store, incident.id, now=NOW, next_update_at=NOW + 600)
    assert draft.impact == "" and draft.actions_taken == [] and draft.next_steps == []
    assert draft.next_update_at == NOW + 600
    assert card_data(draft, POLICY, NO_PII, preview=True)["impact"] == "unknown — please provide"
    assert card_data(draft, POLICY, NO_PII)["impact"] == "Being assessed."
    assert card_data(draft, POLICY, NO_PII)["actionsTaken"] == ["No actions recorded yet."]


async def test_a_posted_impact_carries_over_until_a_newer_note(store):
    incident = await _incident(store)
    await _timeline(store, incident.id, [(1, "note", "impact: first guess")])
    await store.execute(
        "INSERT INTO exec_summaries (id, incident_id, posted_at, posted_by_id, posted_by_name,"
        " channel_id, activity_id, impact, data) VALUES ('k', ?, ?, 'a', 'Cam', 'c', 'x', ?, '{}')",
        incident.id,
        T0 + 120,
        "edited impact",
    )
    assert (await build_draft(store, incident.id, now=NOW)).impact == "edited impact"
    await _timeline(store, incident.id, [(3, "note", "Impact: newer finding")])
    assert (await build_draft(store, incident.id, now=NOW)).impact == "newer finding"


async def test_other_days_show_the_date_and_unknown_incidents_raise(store):
    incident = await _incident(store)
    await _timeline(store, incident.id, [(-24 * 60, "action", "Proxy rule added")])
    draft = await build_draft(store, incident.id, now=NOW)
    assert draft.actions_taken == ["Proxy rule added (1 May 09:00 UTC)"]
    with pytest.raises(IncidentNotFound):
        await build_draft(store, "INC-20240502-999", now=NOW)


async def test_hostile_timeline_text_is_kept_as_data(store):
    hostile = (
        '**bold** [x](javascript:alert(1)) <at>CEO</at> ${incidentId} {{DATE(x)}} "}],"body":'
        + "A" * 10_000
    )
    incident = await _incident(store, title="${title} <script>")
    await _timeline(store, incident.id, [(1, "note", "done: " + hostile)])
    draft = await build_draft(store, incident.id, now=NOW)
    assert len(draft.actions_taken[0]) <= 300 + len(" (09:01 UTC)")
    assert draft.actions_taken[0].startswith("**bold** [x](javascript:alert(1)) <at>CEO</at> ${")


def test_draft_round_trips_through_dialog_state():
    draft = Draft("INC-1", "t", "Triage", "high", "", ["a"], ["b"], 1.0, "Cam", 2.0)
    draft.kept_names = {"WS-1", "10.0.0.1"}
    again = Draft.from_dict(draft.to_dict())
    assert again == draft and again.to_dict()["kept_names"] == ["10.0.0.1", "WS-1"]
